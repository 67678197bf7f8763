"""An operator's input that is not JSON the worker can read.

The Web UI, ``temporal workflow signal --input`` and other SDKs send what they are given:
a string with a lone surrogate escape (``"\\ud800"``), bytes that are not UTF-8, arrays
nested deeper than the JSON parser goes. Decoded by the SDK, such a Signal would be dropped
with a line in the worker's log, an Update refused with "Failed deserializing", and a run
started by hand would fail its first workflow task over and over. The worker's payload
converter (``workers.converter``) hands such an input to the handler as ``NotJson``
instead, and the handler refuses it like any other wrong input: the Signal recorded as
refused, the Update refused saying why, the run ended with ``InputRefused``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.limits import clip, one_line

MAX_ERROR = 200


@dataclass(frozen=True)
class NotJson:
    """An input that could not be decoded, with the parser's reason (no part of the input)."""

    error: str

    @classmethod
    def of(cls, reason: str) -> NotJson:
        """The reason made fit for a timeline and a mail: one line, encodable, bounded."""
        return cls(clip(one_line(reason), MAX_ERROR) or "unreadable")

    def said(self) -> str:
        return f"the input is not JSON that can be read ({self.error})"


def not_json(inputs: tuple[Any, ...]) -> NotJson | None:
    """The first input that could not be decoded, if any."""
    return next((i for i in inputs if isinstance(i, NotJson)), None)
