"""The lint rule that keeps workflow code deterministic cannot silently disappear.

``make lint`` runs ruff over the tree; here ruff runs with the project's
configuration on a throwaway copy, to show that the banned APIs (TID251) are
refused under workflows/ and only there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import BIN

ROOT = Path(__file__).resolve().parent.parent

NONDETERMINISTIC = """\
import asyncio
import os
import random
import socket
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import httpx
from temporalio import workflow


async def f() -> None:
    print(datetime.now(), datetime.utcnow(), date.today(), time.time(), uuid.uuid4())
    print(random.random(), os.environ["HOME"], httpx.URL("http://x"), socket.gethostname())
    print(Path("state.json").read_text())
    time.sleep(1)
    await asyncio.sleep(1)
    await workflow.wait_condition(lambda: True)
"""
BANNED = {
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.date.today", "time.time",
    "time.sleep", "asyncio.sleep", "uuid.uuid4", "random", "os.environ", "pathlib", "socket",
    "httpx", "temporalio.workflow.wait_condition",
}  # fmt: skip


def lint(tree: Path, *paths: str) -> dict[str, list[tuple[str, str]]]:
    """Per path, the (code, message) of each finding of ruff run with the project's settings."""
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--config", "pyproject.toml", "--no-cache",
         "--output-format", "json", *paths],
        cwd=tree, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, list[tuple[str, str]]] = {path: [] for path in paths}
    for item in json.loads(result.stdout):
        path = Path(item["filename"]).relative_to(tree).as_posix()
        found[path].append((item["code"], item["message"]))
    return found


def write(tree: Path, path: str, text: str) -> str:
    (tree / path).parent.mkdir(parents=True, exist_ok=True)
    (tree / path).write_text(text)
    return path


def test_workflow_code_may_not_use_wall_clock_randomness_environment_or_io(
    tmp_path: Path,
) -> None:
    found = lint(tmp_path, write(tmp_path, "workflows/x.py", NONDETERMINISTIC))
    # "`datetime.datetime.now` is banned: workflow code: use workflow.now()"
    banned = {msg.split("`")[1] for code, msg in found["workflows/x.py"] if code == "TID251"}
    assert "datetime.datetime.now" in banned, found
    assert banned == BANNED, found


def test_the_rule_is_for_workflows_only(tmp_path: Path) -> None:
    paths = [
        write(tmp_path, f"{folder}/x.py", NONDETERMINISTIC)
        for folder in ("activities", "workers", "starters", "tests", "bench")
    ]
    found = lint(tmp_path, *paths)
    assert not [hit for hits in found.values() for hit in hits if hit[0] == "TID251"], found


def test_modules_that_workflows_import_pass_the_rule(tmp_path: Path) -> None:
    shared = ["activities/providers/opsgenie/marks.py", "activities/models.py"]
    paths = [
        write(tmp_path, f"workflows/{Path(path).name}", (ROOT / path).read_text())
        for path in shared
    ]
    found = lint(tmp_path, *paths)
    assert not [hit for hits in found.values() for hit in hits if hit[0] == "TID251"], found
