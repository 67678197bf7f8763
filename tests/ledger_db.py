"""Ledger databases for tests: an SQLite file always, and a real PostgreSQL server when
Debian's postgresql package is installed (``initdb``/``pg_ctl``), else a skip that says so."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.ledger.store import Ledger
from tests.conftest import free_port

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_tool(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    return shutil.which(name)


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the package's user then."""
    return ["runuser", "-u", owner, "--", *command] if owner else command


def postgres_server() -> Iterator[str]:
    """Starts a throwaway PostgreSQL server on a free local port; yields its base URL."""
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries here (apt-get install postgresql to run "
                    "the ledger tests on PostgreSQL too)")  # fmt: skip
    owner = "postgres" if os.geteuid() == 0 else None
    if owner and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(sockets, owner)
    port = free_port()
    subprocess.run(
        _as_owner([initdb, "-D", str(data), "-U", "vigie", "--auth=trust", "-E", "UTF8"], owner),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"),
                   "start"], owner),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        yield f"postgresql://vigie@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], owner),
            capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def new_database(base_url: str, name: str) -> str:
    """A fresh database on the server; returns its URL."""
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from postgres_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated, empty ledger on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = new_database(request.getfixturevalue("postgres_url"), f"l_{uuid.uuid4().hex[:12]}")
    opened = Ledger(url)
    opened.migrate()
    yield opened
    opened.close()
