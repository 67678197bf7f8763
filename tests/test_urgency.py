"""The priority keys given to incident mails (pure rules)."""

from __future__ import annotations

from activities.mail_texts import WORDING
from workflows import urgency


def test_every_timed_mail_is_a_mail_the_incident_sends() -> None:
    """A renamed mail kind would silently lose its key: each one must be a known kind."""
    for language in WORDING:
        assert urgency.TIMED_MAILS <= set(WORDING[language])


def test_timed_mails_go_first_and_the_rest_keep_the_default() -> None:
    assert urgency.of_mail("ack_breach").priority_key == 1
    assert urgency.of_mail("resolution_warning").priority_key == 1
    assert urgency.of_mail("p1_status_reminder").priority_key == 1
    assert urgency.of_mail("opened").priority_key is None
    assert urgency.of_mail("resolved").priority_key is None
    assert urgency.BACKGROUND.priority_key == 5


def test_every_deadline_mail_and_the_on_call_page_go_first() -> None:
    for kind in ("ack_warning", "resolution_breach", "p1_status", "on_call"):
        assert urgency.of_mail(kind).priority_key == 1, kind
