"""Limits on what people and senders type: sizes, control characters, addresses, ids.

A title, a name or an address must be one line: it ends up in mail headers,
where a line break would break the mail (or add a header). A free text may
span lines but has a size limit. An address must look like one, and an id
uses a safe alphabet. A refusal names the field (pydantic's location) and
the limit.

Where the checks run. What already reached a workflow was accepted under the
rules of its day and must keep decoding: a start input or an Update replayed
from history, the state carried to the next run, activity results. So the
checks run outside workflows (the CLI, the webhook, any client building these
models, the worker reading its files), and inside a workflow only where the
validation context asks for them with ``{LIMITS: True}``: the Update
validators and the Signal handlers of ``workflows.operations`` do.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sized
from datetime import UTC, datetime
from email.errors import InvalidHeaderDefect, NonASCIILocalPartDefect
from email.message import EmailMessage
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError
from temporalio import workflow

LIMITS = "vigie_input_limits"
"""Validation context key: True applies the limits, False waives them."""
SENDABLE = "vigie_sendable_addresses"
"""Validation context key: True also refuses an address no mail can be sent to (``sendable``);
the default: True outside a workflow, False inside (a workflow asks for it under a patch)."""

MAX_TITLE = 500
"""Characters in an incident title: one line, it leads the mail subject."""
MAX_NAME = 200
"""Characters in a name: who acts, a category, an application, a detail's key."""
MAX_TEXT = 10_000
"""Characters in a free text: worklog, reason, resolution, note, description."""
MAX_EVENT_TEXT = 12_000
"""Characters in a recorded event: room for a free text quoted in a sentence."""
MAX_EMAIL = 254
"""Characters in an e-mail address (RFC 5321 path limit)."""
MAX_ID = 200
"""Characters in an id taken from outside (an alert id)."""
MAX_REQUESTERS = 50
MAX_UNUSABLE = 5  # requester entries that are no address, told at opening
"""Requester addresses on one incident."""
MAX_DETAILS = 100
"""Detail entries on one incident."""
T0_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
T0_LATEST = datetime(2100, 1, 1, tzinfo=UTC)

EMAIL_PATTERN = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
"""A deliberately simple address check: one @, no spaces, a dot in the domain."""
SAFE_ID = r"[A-Za-z0-9][A-Za-z0-9._:-]*"
"""Alphabet of ids that become part of an incident id (and of mail headers)."""
CUSTOMER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
"""A customer's name: letters, digits, '.', '_' or '-', 1 to 80 characters (it names the
customer's own escalation matrix file and labels metrics)."""

# What str.splitlines() breaks on, and so what mail headers refuse, plus every
# other C0/C1 control character and lone surrogates (they cannot be encoded).
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# In a free text, tab and line breaks are fine.
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_EMAIL = re.compile(EMAIL_PATTERN)
# Explicit direction embeddings, overrides and isolates: a typed U+202E shows the rest of its
# line backwards ("fdp.exe" as "exe.pdf", a subject's status read backwards); right-to-left
# text needs none of them. Mail subjects leave them out; the CLI prints them as escapes.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

T = TypeVar("T")


def enforced(info: ValidationInfo) -> bool:
    """Whether this validation applies the limits (see the module's docstring)."""
    context = info.context
    if isinstance(context, dict) and LIMITS in context:
        return bool(context[LIMITS])
    return not (workflow.in_workflow() or workflow.unsafe.in_sandbox())


def _control_character(value: str, pattern: re.Pattern[str], what: str) -> None:
    found = pattern.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "{what} (found {char} at position {position})",
            {"what": what, "char": f"U+{ord(found.group()):04X}", "position": found.start()},
        )


def _length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise PydanticCustomError(
            "too_long",
            "at most {limit} characters (got {length})",
            {"limit": limit, "length": len(value)},
        )


def single_line(limit: int) -> Callable[[str, ValidationInfo], str]:
    """Validator: one line, no control character, at most ``limit`` characters."""

    def check(value: str, info: ValidationInfo) -> str:
        if enforced(info):
            _control_character(value, _NOT_IN_LINE, "must be one line without control characters")
            _length(value, limit)
        return value

    return check


def free_text(limit: int) -> Callable[[str, ValidationInfo], str]:
    """Validator: at most ``limit`` characters; tabs and line breaks but no other control."""

    def check(value: str, info: ValidationInfo) -> str:
        if enforced(info):
            _control_character(
                value,
                _NOT_IN_TEXT,
                "must not contain control characters other than tab and newline",
            )
            _length(value, limit)
        return value

    return check


def _invisible(value: str) -> None:
    """Formatting characters (zero-width, direction overrides, byte order mark) show nothing:
    an address holding one looks like another address, and the mail goes elsewhere."""
    if is_visible(value):
        return
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cf":
            raise PydanticCustomError(
                "invisible_character",
                "must not contain invisible formatting characters (found {char} at position "
                "{position})",
                {"char": f"U+{ord(char):04X}", "position": position},
            )


def email_address(value: str, info: ValidationInfo) -> str:
    """Validator: one address such as name@example.org: one line, no control or invisible
    formatting character, at most MAX_EMAIL characters."""
    if not enforced(info):
        return value
    value = value.strip()
    _control_character(value, _NOT_IN_LINE, "must be one line without control characters")
    _invisible(value)
    _length(value, MAX_EMAIL)
    if not _EMAIL.match(value):
        raise PydanticCustomError(
            "email", "not an e-mail address: write one address like name@example.org", {}
        )
    if sendable_asked(info) and not sendable(value):
        raise PydanticCustomError(
            "email",
            "not an address a mail can be sent to (a dot at the end, two dots in a row, "
            "brackets or quotes around it?): write one address like name@example.org",
            {},
        )
    return value


def sendable_asked(info: ValidationInfo) -> bool:
    """Whether this validation refuses an address no mail can be sent to (``SENDABLE``)."""
    context = info.context
    if isinstance(context, dict) and SENDABLE in context:
        return bool(context[SENDABLE])
    return not (workflow.in_workflow() or workflow.unsafe.in_sandbox())


def sendable_split(addresses: list[str]) -> tuple[list[str], list[str]]:
    """``addresses`` a mail can be sent to, and the others (``sendable``), in their order."""
    kept: list[str] = []
    left_out: list[str] = []
    for address in addresses:
        (kept if sendable(address) else left_out).append(address)
    return kept, left_out


@functools.lru_cache(maxsize=4096)
def sendable(address: str) -> bool:
    """Whether a mail's To header holds ``address`` as it is, without an error: the mail
    library reads ``name@example.org.`` or ``['a@b.org']`` as no address at all, and a mail
    to it and to anyone else with it can never be built. Kept per address (the mail library's
    parse costs about 65 µs, and every activity input with addresses is checked again)."""
    return header_addresses(address) == [address]


def mailable(address: str) -> bool:
    """Whether ``address`` is one a mail can be sent to, as every entrance checks it: the
    address pattern, at most MAX_EMAIL characters, and ``sendable``. For addresses that come
    from elsewhere unchecked (an on-call schedule's names)."""
    return len(address) <= MAX_EMAIL and _EMAIL.match(address) is not None and sendable(address)


def header_addresses(value: str) -> list[str] | None:
    """The addresses the mail library reads in an address header holding ``value`` (``Name
    <address>``, or addresses), or None when it finds an error there."""
    message = EmailMessage()
    try:
        message["To"] = value
        header = message["To"]
        found = [a.addr_spec for a in header.addresses]
    except Exception:  # the parser raises more than HeaderParseError (name@[example.org)
        return None
    wrong = [
        d for d in header.defects
        if isinstance(d, InvalidHeaderDefect) and not isinstance(d, NonASCIILocalPartDefect)
    ]  # fmt: skip
    return None if wrong else found


def at_most(count: int, what: str) -> Callable[[T, ValidationInfo], T]:
    """Validator for a list or dict: at most ``count`` ``what``."""

    def check(value: T, info: ValidationInfo) -> T:
        assert isinstance(value, Sized)
        if enforced(info) and len(value) > count:
            raise PydanticCustomError(
                "too_many",
                "at most {count} {what} (got {length})",
                {"count": count, "what": what, "length": len(value)},
            )
        return value

    return check


def check_t0(value: datetime | None, info: ValidationInfo) -> None:
    """T0 between 2000 and 2100: later dates overflow deadline arithmetic."""
    if value is None or value.tzinfo is None or not enforced(info):
        return
    if not T0_EARLIEST <= value < T0_LATEST:
        raise PydanticCustomError(
            "t0_range",
            "t0 must be between {earliest} and {latest}",
            {"earliest": T0_EARLIEST.date().isoformat(), "latest": T0_LATEST.date().isoformat()},
        )


# ---------------------------------------------------------------- cleaning
# For senders that cannot be asked again (the alert webhook): clean, not refuse.


def one_line(value: str) -> str:
    """Control characters and line breaks become spaces; runs of spaces become one."""
    return " ".join(_NOT_IN_LINE.sub(" ", value).split())


def clean_text(value: str) -> str:
    """Control characters other than tab and newline are dropped; CRLF becomes LF."""
    return _NOT_IN_TEXT.sub("", value.replace("\r\n", "\n"))


def once_each(addresses: list[str]) -> list[str]:
    """Each address once, whatever its case (the first spelling kept): each mail once."""
    kept: dict[str, str] = {}
    for address in addresses:
        kept.setdefault(address.lower(), address)
    return list(kept.values())


def clip(value: str, limit: int) -> str:
    """At most ``limit`` characters, ending with an ellipsis when cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def is_clean_line(value: Any) -> bool:
    return isinstance(value, str) and _NOT_IN_LINE.search(value) is None


# Letters that show nothing (Hangul fillers, the blank Braille pattern, the combining
# grapheme joiner): a title of them alone looks empty.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def shows_something(value: str) -> bool:
    """Whether ``value`` holds a character a person can see: not only spaces, invisible
    formatting characters (zero-width, direction overrides) or blank letters."""
    return any(
        not (c.isspace() or unicodedata.category(c) == "Cf" or c in _BLANK_LETTERS) for c in value
    )


def visible(value: str, info: ValidationInfo) -> str:
    """Validator: at least one character a person can see (a title must say something)."""
    if enforced(info) and not shows_something(value):
        raise PydanticCustomError(
            "invisible_text", "shows nothing: give at least one visible character", {}
        )
    return value


def is_visible(value: str) -> bool:
    """Whether no invisible formatting character hides in ``value``."""
    return all(unicodedata.category(char) != "Cf" for char in value)


# Defined here rather than in workflows.models because the policy needs it too.
Email = Annotated[str, AfterValidator(email_address)]
"""An e-mail address, at most MAX_EMAIL characters."""
