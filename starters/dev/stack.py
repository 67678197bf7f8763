"""The embedded stack: Temporal dev server, local mail sink, Opsgenie stand-in and worker in one
command (the dev-stack extra)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client

from starters.dev import require_dev_stack
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink, summary
from starters.gateway import TemporalGateway
from starters.serving import serving, webhook_limits
from starters.webhook import create_app
from workers.connection import connect
from workers.opsgenie_file import load_mapping
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import run_worker
from workflows.search import dev_server_flags

log = logging.getLogger(__name__)


def dev_server_command(data_dir: Path, port: int, ui_port: int) -> list[str]:
    command = [
        require_dev_stack(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--log-level",
        "warn",
        # Customers take turns in a backlog (workflows.urgency); tasks a former run of the
        # dev stack left queued move to the fairness tables instead of staying there unread.
        "--dynamic-config-value",
        "matching.enableFairness=true",
        "--dynamic-config-value",
        "matching.enableMigration=true",
        *dev_server_flags(),
    ]
    return command


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_error(log: Path, start: int) -> str:
    """The error the dev server gave in this run's part of its log (a port already in use,
    most often), as ": <error>", or nothing."""
    try:
        with log.open("rb") as file:
            file.seek(start)
            lines = file.read(1_000_000).decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    errors = [line.strip() for line in lines if line.strip().startswith("Error:")]
    return f": {errors[-1].removeprefix('Error:').strip()[:300]}" if errors else ""


DEV_OPSGENIE_KEY = "dev"
DEV_WEBHOOK_SECRET = "dev"
# The on-call schedule the shipped policy's example customer watches (config/policy.toml).
DEV_SCHEDULES = {"astreinte_technique": ["on-call@example.com"]}


class DevStack:
    def __init__(
        self,
        settings: Settings,
        data_dir: str,
        port: int,
        ui_port: int,
        smtp_port: int,
        webhook_port: int = 8080,
        opsgenie_port: int = 8081,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.port, self.ui_port, self.smtp_port = port, ui_port, smtp_port
        self.webhook_port, self.opsgenie_port = webhook_port, opsgenie_port
        self.settings = settings.model_copy(
            update={
                "temporal_address": f"127.0.0.1:{port}",
                "temporal_namespace": "default",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "none",
                "smtp_username": None,
                "smtp_password": None,
                "opsgenie_provider": "opsgenie",
                "opsgenie_api_url": f"http://127.0.0.1:{opsgenie_port}",
                "opsgenie_api_key": SecretStr(DEV_OPSGENIE_KEY),
                "webhook_secret": SecretStr(DEV_WEBHOOK_SECRET),
                "database_url": SecretStr(f"sqlite:///{self.data_dir / 'ledger.db'}"),
            }
        )
        if "temporal_ui_url" not in settings.model_fields_set:  # chat links reach this UI
            self.settings.temporal_ui_url = f"http://localhost:{ui_port}"

    async def _wait_for_server(self, server: asyncio.subprocess.Process, log_from: int) -> Client:
        """A client of the dev server once it answers; the server's own error if it exits
        first (whatever a connection attempt is waiting for meanwhile)."""
        exited = asyncio.ensure_future(server.wait())
        try:
            for _ in range(120):
                attempt = asyncio.ensure_future(connect(self.settings, local=True))
                await asyncio.wait({attempt, exited}, return_when=asyncio.FIRST_COMPLETED)
                if exited.done():
                    attempt.cancel()
                    log = self.data_dir / "temporal.log"
                    why = server_error(log, log_from)
                    raise SystemExit(
                        f"the Temporal dev server exited ({server.returncode}){why}; see {log}"
                    )
                try:
                    return attempt.result()
                except RuntimeError:
                    await asyncio.sleep(0.5)
            raise SystemExit("the Temporal dev server did not answer within 60 s")
        finally:
            exited.cancel()

    def _ports_in_use(self) -> list[str]:
        ports = {
            "--port": self.port,
            "--ui-port": self.ui_port,
            "--smtp-port": self.smtp_port,
            "--webhook-port": self.webhook_port,
            "--opsgenie-port": self.opsgenie_port,
        }
        return [f"{port} ({option})" for option, port in ports.items() if not port_free(port)]

    def _print_mail(self, message: EmailMessage, recipients: list[str]) -> None:
        print(summary(message, recipients), flush=True)

    async def run(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
        # Refuse broken configuration before starting anything.
        load_policy(self.settings.config_dir)
        mapping = load_mapping(self.settings.config_dir)
        if taken := self._ports_in_use():
            raise SystemExit(
                f"already in use: {', '.join(taken)}. Is another vigie dev or Temporal server "
                "running? Stop it, or choose other ports with these options"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server_log = (self.data_dir / "temporal.log").open("ab")
        log_from = server_log.tell()  # the log is kept across runs: this run's part starts here
        server = await asyncio.create_subprocess_exec(
            *dev_server_command(self.data_dir, self.port, self.ui_port),
            stdout=server_log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        sink = MailSink(
            port=self.smtp_port, directory=self.data_dir / "mail", on_mail=self._print_mail
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            client = await self._wait_for_server(server, log_from)
            sink.start()
            print(
                f"Vigie dev stack is up.\n"
                f"  Temporal      127.0.0.1:{self.port} "
                f"(namespace {self.settings.temporal_namespace})\n"
                f"  Web UI        http://localhost:{self.ui_port}\n"
                f"  Mail sink     127.0.0.1:{self.smtp_port}, mails kept in {sink.directory}\n"
                f"  Webhook       http://127.0.0.1:{self.webhook_port}/webhooks/opsgenie "
                f"(secret header {self.settings.webhook_secret_header}: {DEV_WEBHOOK_SECRET})\n"
                f"  Opsgenie      stand-in at http://127.0.0.1:{self.opsgenie_port} "
                f"(GenieKey {DEV_OPSGENIE_KEY})\n"
                f"  Task queue    {self.settings.task_queue}\n"
                f"  Policy        {self.settings.config_dir / 'policy.toml'}\n"
                f"In another terminal: vigie open --title 'Checkout down' "
                f"--service-level gold --priority P1\n"
                f"Ctrl-C stops everything.",
                flush=True,
            )
            standin = OpsgenieStandIn(
                api_key=DEV_OPSGENIE_KEY,
                webhook_url=f"http://127.0.0.1:{self.webhook_port}/webhooks/opsgenie",
                webhook_headers={self.settings.webhook_secret_header: DEV_WEBHOOK_SECRET},
                schedules={name: list(who) for name, who in DEV_SCHEDULES.items()},
                state_file=self.data_dir / "opsgenie-alerts.json",
            )
            receiver = create_app(
                TemporalGateway(client, self.settings.task_queue),
                mapping,
                secret=DEV_WEBHOOK_SECRET,
                secret_header=self.settings.webhook_secret_header,
                max_body_bytes=self.settings.webhook_max_body_bytes,
                read_timeout_seconds=self.settings.webhook_read_timeout_seconds,
            )
            async with (
                serving(standin.app(), "127.0.0.1", self.opsgenie_port),
                serving(
                    receiver, "127.0.0.1", self.webhook_port, limits=webhook_limits(self.settings)
                ),
            ):
                await run_worker(client, self.settings, stop)
            await standin.aclose()
        finally:
            sink.stop()
            if server.returncode is None:
                server.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server.wait(), 15)
                if server.returncode is None:
                    server.kill()
                    await server.wait()
            server_log.close()
            print("Vigie dev stack stopped.", flush=True)
