"""Reads the escalation matrix file and refuses a broken one clearly."""

from __future__ import annotations

from pathlib import Path

from workers.config_files import load_toml
from workflows.matrix import EscalationMatrix

MATRIX_FILE = "escalation_matrix.toml"


def load_matrix(path: Path) -> EscalationMatrix:
    return load_toml(path, EscalationMatrix)
