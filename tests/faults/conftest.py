"""The fault run's figures: printed at the end, written where VIGIE_FAULTS_REPORT says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.empty():
        return
    terminalreporter.section("fault injection")
    for line in TALLY.lines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("VIGIE_FAULTS_REPORT")
    if target and not TALLY.empty():
        TALLY.write(Path(target), passed=exitstatus == 0)
