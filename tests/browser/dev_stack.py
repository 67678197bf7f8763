"""`vigie dev` on free ports in a fresh folder, and the `vigie` CLI pointed at it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import BIN, free_port

READY = "Ctrl-C stops everything"


class DevStack:
    """The whole embedded stack as `vigie dev` runs it, its output kept in ``stack.log``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.ports = {name: free_port() for name in ("port", "ui", "smtp", "webhook", "opsgenie")}
        self.ui_url = f"http://127.0.0.1:{self.ports['ui']}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "TEMPORAL_"))},
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports['port']}",
            "VIGIE_OPERATOR": "im-walk",
        }
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    def start(self, timeout: float = 90) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self._process = subprocess.Popen(
            [
                str(BIN / "vigie"), "dev", "--data-dir", str(self.folder / "data"),
                "--port", str(self.ports["port"]), "--ui-port", str(self.ports["ui"]),
                "--smtp-port", str(self.ports["smtp"]),
                "--webhook-port", str(self.ports["webhook"]),
                "--opsgenie-port", str(self.ports["opsgenie"]),
            ],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"`vigie dev` not ready after {timeout:.0f} s") from None
            if not line:
                raise RuntimeError(f"`vigie dev` exited; see {self.folder / 'stack.log'}")
            if READY in line:
                return

    def _drain(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with (self.folder / "stack.log").open("w") as log:
            for line in self._process.stdout:
                log.write(line)
                log.flush()
                self._lines.put(line)
        self._lines.put("")

    def stop(self) -> int | None:
        """Ctrl-C, as a person stops it; the exit status, or None if it had to be killed."""
        if self._process is None or self._process.poll() is not None:
            return None if self._process is None else self._process.returncode
        self._process.send_signal(signal.SIGINT)
        try:
            return self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return None

    def vigie(self, *args: str) -> str:
        """Runs the `vigie` CLI against this stack; its standard output, or an error."""
        done = subprocess.run(
            [str(BIN / "vigie"), *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"vigie {' '.join(args)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def event_types(self, workflow_id: str) -> list[str]:
        """The workflow's history as the server keeps it (`temporal workflow show`)."""
        done = subprocess.run(
            [str(BIN / "temporal"), "workflow", "show", "--workflow-id", workflow_id,
             "--address", self.env["TEMPORAL_ADDRESS"], "--output", "json"],
            env=self.env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return [event["eventType"] for event in json.loads(done.stdout)["events"]]

    def open_incident(self, *args: str) -> str:
        return self.vigie("open", *args).strip().splitlines()[-1]

    def mails(self) -> list[tuple[str, str]]:
        """Every mail the sink kept: subject and recipients."""
        folder = self.folder / "data" / "mail"
        kept = [
            message_from_bytes(p.read_bytes(), policy=default) for p in sorted(folder.glob("*.eml"))
        ]
        return [(str(m["Subject"]), f"{m['To']}, {m['Cc'] or ''}") for m in kept]

    def alert(self, alias: str) -> dict[str, Any]:
        """The incident's alert in the Opsgenie stand-in."""
        answer = httpx.get(
            f"http://127.0.0.1:{self.ports['opsgenie']}/v2/alerts/{alias}",
            params={"identifierType": "alias"},
            headers={"Authorization": "GenieKey dev"},
            timeout=10,
        )
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()["data"]
        return data
