"""The benchmark scripts the README lists exist, every script is listed, and each one still
starts (its ``--help``): they are run by hand, so nothing else would notice one broken."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name != "harness.py")


def test_the_readme_lists_every_benchmark_script_and_only_those() -> None:
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"`bench/([a-z0-9_]+\.py)`", readme))
    assert named == set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_script_starts(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
