"""Moved to ``starters.dev.smtp_sink`` (dev-stack extra); this name goes once nothing uses it."""

from starters.dev.smtp_sink import MailSink, summary

__all__ = ["MailSink", "summary"]
