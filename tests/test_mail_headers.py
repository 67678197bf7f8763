"""Subjects arrive exactly as written: no space lost or doubled where Python's email package
would fold non-ASCII text into encoded words."""

from __future__ import annotations

from email import message_from_bytes, policy

from aiosmtplib.email import flatten_message
from hypothesis import given
from hypothesis import strategies as st

from activities.mail_headers import new_message

SUBJECTS = [
    # each lost or doubled a space before
    "[incident-20261130-6f5a2c] P1 Payments API down — Délai de prise en compte dépassé",
    "[incident-81728d41-b57e-4857-89c6-d1e2f3a4b5c6] P3 Disk full on db-3 — Ticket ouvert",
    "[crisis-incident-20261130-6f5a2c] PRA déclenché — Payments API down",
    "[incident-20261130-6f5a2c] P1 Only ASCII here — but a dash",
    "[x]  two  spaces  — é  ",
    "Plain ASCII subject, long enough to be folded by the generator at seventy-eight columns",
]


def sent_and_read(subject: str) -> tuple[str, list[bytes]]:
    message = new_message()
    message["Subject"] = subject
    message["From"] = "vigie@example.com"
    message.set_content("body")
    raw = flatten_message(message)  # as the SMTP transport sends it
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return str(message_from_bytes(raw, policy=policy.default)["Subject"]), head


def test_the_subjects_that_lost_a_space_arrive_whole() -> None:
    for subject in SUBJECTS:
        read, head = sent_and_read(subject)
        assert read == subject
        assert all(len(line) <= 78 for line in head), head


WORDS = st.sampled_from(["é", "—", "abc", "Délai", "dépassé", "日本", "x" * 40, "[P1]", ""])


@given(st.lists(WORDS, min_size=1, max_size=80), st.sampled_from([" ", "  "]))
def test_any_subject_arrives_as_written(words: list[str], gap: str) -> None:
    subject = gap.join(words).strip() or "x"
    read, head = sent_and_read(subject)
    assert read == subject
    assert all(len(line) <= 998 for line in head)
