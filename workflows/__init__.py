"""Deterministic orchestration: workflows, their models and pure policy code."""
