"""What of a timeline travels to the next run at continue-as-new (pure rules)."""

from __future__ import annotations

from workflows.models import TimelineEntry


def entry_size(entry: TimelineEntry) -> int:
    """About how many bytes the entry takes in a payload."""
    return (
        120
        + len(entry.text)
        + len(entry.by)
        + sum(len(k) + len(v) for k, v in entry.fields.items())
    )


def carried_timeline(
    timeline: list[TimelineEntry], head: int, tail: int, budget: int
) -> list[TimelineEntry]:
    """The first ``head`` entries (the opening) and the latest ones, at most ``tail`` of them
    and within about ``budget`` bytes in all; the others stay in the earlier runs' histories."""
    first = timeline[:head]
    rest = timeline[head:][-tail:] if tail else []
    room = budget - sum(entry_size(e) for e in first)
    latest: list[TimelineEntry] = []
    for entry in reversed(rest):
        room -= entry_size(entry)
        if room < 0:
            break
        latest.append(entry)
    return first + latest[::-1]
