"""The closer of a crisis's notification alerts, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.test_rex import state
from workflows import crisis_alerts
from workflows.crisis_alerts import AlertCloser, open_alerts
from workflows.crisis_models import Notification

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def carried(key: str, closed: bool | None = None, channel: str = "opsgenie") -> Notification:
    return Notification(
        key=key, kind="status", to=["im"], at=AT, status="sent", channel=channel,
        alert_closed=closed,
    )  # fmt: skip


def test_one_drain_at_a_time_and_each_alert_tried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two calls in one activation (the closing Update and an alert's delivery) start one
    drain; an alert already tried, closed or not, and a mail, are never queued."""
    monkeypatch.setattr(crisis_alerts.versions, "patched", lambda _: True)
    s = state("fr")
    s.notifications = [carried("k0"), carried("k1", closed=False), carried("k2", closed=True),
                       carried("k3", channel="smtp"), carried("k4")]  # fmt: skip
    closer = AlertCloser(lambda *a, **k: None, lambda *a, **k: "", lambda: False)
    assert not closer.queue(s)  # the crisis is active: nothing closes yet
    s.status = "closed"
    assert closer.queue(s) and s.alerts_to_close == ["k0", "k4"]
    assert not closer.queue(s) and s.alerts_to_close == ["k0", "k4"]  # one drain, once each
    assert open_alerts(s) == []
