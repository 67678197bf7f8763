"""Mail headers that keep their words apart.

Python's email package (before the fix of CPython gh-144156) folds a header that holds
non-ASCII text into RFC 2047 encoded words and, where two encoded words meet at a fold, loses
the space between them or doubles one: "down — Délai" arrived as "down —Délai". A subject
with non-ASCII text is encoded here by ``email.header.Header`` instead, which puts every
space inside the encoded words, so a reader decodes the subject exactly as it was written.
ASCII subjects are folded as before.
"""

from __future__ import annotations

from email import policy as email_policy
from email.header import Header
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy

LONGEST_LINE = 998  # RFC 5322 §2.1.1, when a policy sets no limit


class WholeWordsHeader(UnstructuredHeader):
    """An unstructured header whose non-ASCII text is encoded as a whole."""

    name: str  # set by BaseHeader, which the registry mixes in

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if value.isascii():
            return str(super().fold(policy=policy))  # type: ignore[misc]
        width = policy.max_line_length or LONGEST_LINE
        encoded = Header(value, "utf-8", maxlinelen=width, header_name=self.name)
        return f"{self.name}: {encoded.encode(linesep=policy.linesep)}{policy.linesep}"


_headers = HeaderRegistry()
_headers.map_to_type("subject", WholeWordsHeader)  # type: ignore[arg-type]
MAIL_POLICY = email_policy.default.clone(header_factory=_headers)


def new_message() -> EmailMessage:
    """An empty message whose headers fold without losing a space."""
    return EmailMessage(policy=MAIL_POLICY)
