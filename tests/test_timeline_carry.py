"""What of a timeline continues as new: bounded by count and by size (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.models import TimelineEntry
from workflows.timeline import carried_timeline, entry_size

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def entries(count: int, text: str = "x") -> list[TimelineEntry]:
    return [
        TimelineEntry(at=AT + timedelta(minutes=n), kind="worklog", by="a", text=f"{n} {text}")
        for n in range(count)
    ]


def test_the_opening_and_the_latest_entries_travel() -> None:
    kept = carried_timeline(entries(1000), head=20, tail=480, budget=10**9)
    assert len(kept) == 500
    assert kept[:20] == entries(1000)[:20] and kept[-1].text == "999 x"


def test_large_entries_are_bounded_by_size() -> None:
    big = entries(500, "y" * 10_000)  # 500 worklogs at the 10,000-character limit
    kept = carried_timeline(big, head=20, tail=480, budget=512 * 1024)
    assert sum(entry_size(e) for e in kept) <= 512 * 1024 + entry_size(big[0]) * 20
    assert kept[-1].text.startswith("499 ") and len(kept) < 100


def test_a_short_timeline_travels_whole() -> None:
    short = entries(30)
    assert carried_timeline(short, head=20, tail=480, budget=512 * 1024) == short
