"""The marks Vigie leaves on the alerts it keeps, and how it knows them again.

Vigie writes notes and tags on its incidents' alerts; Opsgenie sends each of
them back through the outgoing webhook. The workflow marks what it writes with
these, and the webhook receiver ignores what carries them, so nothing Vigie
wrote comes back as new input.

Pure on purpose: no I/O and no vendor client, so that workflow code can import
it (the package's ``__init__`` does not load the REST client either).
"""

from __future__ import annotations

import re

NOTE_MARK = "[vigie]"
"""Every note Vigie writes on an alert starts with this."""
OWN_SOURCE = "vigie"
"""The ``source`` of every alert and alert change Vigie makes."""
TAG = "vigie"
"""The tag on every alert Vigie opened."""
TAG_PREFIX = f"{TAG}:"
"""Vigie's view of the incident on the alert: ``vigie:<status>``, ``vigie:sla-breached``."""
SERVICE_LEVEL_TAG_PREFIX = "sl:"
"""The service level of the incident on the alert: ``sl:gold``."""
SERVICE_LEVELS = ("gold", "silver", "bronze")

OWN_TAG = re.compile(
    rf"^({re.escape(TAG)}(:.*)?|{re.escape(SERVICE_LEVEL_TAG_PREFIX)}({'|'.join(SERVICE_LEVELS)}))$"
)
"""A tag Vigie keeps on its alerts: ``vigie``, ``vigie:<anything>`` or ``sl:<service level>``."""


def status_tag(status: str) -> str:
    """The tag that tells an incident's status (or another Vigie fact) on its alert."""
    return f"{TAG_PREFIX}{status}"


BREACHED_TAG = status_tag("sla-breached")


def service_level_tag(service_level: str) -> str:
    return f"{SERVICE_LEVEL_TAG_PREFIX}{service_level}"


def is_own_note(text: str | None) -> bool:
    """Whether an alert note was written by Vigie."""
    return (text or "").startswith(NOTE_MARK)


def is_own_tag(tag: str) -> bool:
    return OWN_TAG.match(tag) is not None
