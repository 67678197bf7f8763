"""What a status answer shows and what continues as new stay under the payload limit, measured
in bytes (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR
from workflows.carry import CARRY_BYTES, carried_input, size
from workflows.models import (
    IncidentInput,
    IncidentMoment,
    IncidentState,
    OutgoingMail,
    TimelineEntry,
)
from workflows.timeline import entry_bytes, shown_timeline

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
WIDE = "\U0001f525" * 9_990  # 10,000 characters, 4 bytes each


def worklog(n: int, text: str = "x") -> TimelineEntry:
    return TimelineEntry(
        at=AT + timedelta(minutes=n), kind="worklog", by="al", text=f"{n} {text}",
        fields={"text": f"{n} {text}"}, sentence="worklog",
    )  # fmt: skip


def test_a_status_answer_is_bounded_in_bytes_not_characters() -> None:
    timeline = [worklog(n, WIDE) for n in range(200)]  # 16 MB of entries
    shown = shown_timeline(timeline)
    assert sum(entry_bytes(e) for e in shown) <= 1024 * 1024
    assert shown[0] == timeline[0] and shown[-1] == timeline[-1]  # the opening, the latest
    small = [worklog(n) for n in range(300)]
    assert shown_timeline(small) == small


def state(timeline: list[TimelineEntry], outbox: list[OutgoingMail]) -> IncidentState:
    return IncidentState(
        incident_id="incident-1", policy=load_policy(DEFAULT_CONFIG_DIR), title="Checkout down",
        priority="P3", service_level="gold", category=None, description="d" * 10_000,
        application=None, requesters=["c@example.org"], details={"k": "v" * 10_000},
        source="api", language="fr", missing_fields=[], opened_at=AT, timeline=timeline,
        outbox=outbox,
    )  # fmt: skip


def test_what_continues_as_new_fits_and_keeps_every_mail() -> None:
    entries = [worklog(n, WIDE) for n in range(100)]
    outbox = [
        OutgoingMail(key=f"incident-1.{n}", thread_key="incident-1.0", kind="worklog",
                     to=["c@example.org"], language="fr", event=entries[n])
        for n in range(100)
    ]  # fmt: skip
    start = IncidentInput(title="Checkout down", service_level="gold", description="d" * 10_000,
                          details={"k": "v" * 10_000})  # fmt: skip
    carried = carried_input(start, state(entries, outbox))
    assert size(carried) <= CARRY_BYTES
    assert carried.details == {} and carried.description is None  # the state holds them
    assert carried.state is not None
    assert [m.key for m in carried.state.outbox] == [m.key for m in outbox]  # none dropped
    assert carried.state.outbox[0].event.text.endswith("…")  # quoted texts shortened
    assert carried.state.timeline_trimmed == 100 - len(carried.state.timeline)
    # When it fits, nothing is shortened.
    light = carried_input(start, state(entries[:3], outbox[:3]))
    assert [m.event for m in light.state.outbox] == entries[:3]  # type: ignore[union-attr]


def test_mails_leave_the_state_they_would_show_last_of_all() -> None:
    """Thousands of short mails waiting: their moments go before anything is lost."""
    moment = IncidentMoment(
        status="in_progress", priority="P2", service_level="silver", category="réseau",
        application="checkout", ack_due_at=AT, resolution_due_at=AT + timedelta(hours=8),
        sla_paused=False, missing_fields=["description", "requesters"],
    )  # fmt: skip
    entries = [worklog(n) for n in range(3000)]
    outbox = [
        OutgoingMail(key=f"incident-1.{n}", thread_key="incident-1.0", kind="worklog",
                     to=["c@example.org"], language="fr", event=entries[n], moment=moment)
        for n in range(3000)
    ]  # fmt: skip
    start = IncidentInput(title="Checkout down", service_level="gold")
    carried = carried_input(start, state(entries[:10], outbox))
    assert carried.state is not None and size(carried) <= CARRY_BYTES
    assert [m.key for m in carried.state.outbox] == [m.key for m in outbox]
    assert all(m.moment is None for m in carried.state.outbox)
    few = carried_input(start, state(entries[:10], outbox[:50]))
    assert few.state is not None and all(m.moment == moment for m in few.state.outbox)


def test_the_ui_details_name_a_retried_alert_change_in_the_incident_language() -> None:
    from workflows.delivery import DeliveryTrouble
    from workflows.details import incident_details
    from workflows.sla import compute_deadlines

    s = state([worklog(0)], [])
    trouble = DeliveryTrouble(
        outbox="alert", item="add_tags", error="HTTP 503", attempts=4, since=AT, last_at=AT
    )
    s.retrying = {"alert": trouble}
    deadlines = compute_deadlines(s.policy, s.priority, s.service_level, s.opened_at, [])
    shown = incident_details(s, deadlines, AT)
    assert "alerte ajout d'étiquettes · 4 essais" in shown and "add_tags" not in shown, shown
