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


SHOWN_BYTES = 1024 * 1024
"""About how many bytes of timeline a ``status`` answer (or a workflow's result) carries: the
server refuses a payload over 2 MB, and a refused query answer fails the workflow task that
carried it, refusing every operation until the query gives up."""
SHOWN_HEAD = 20


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def entry_bytes(entry: TimelineEntry) -> int:
    """How many bytes the entry takes in a JSON payload, about (UTF-8, field names included)."""
    return (
        120
        + _bytes(entry.text)
        + _bytes(entry.by)
        + _bytes(entry.kind)
        + _bytes(entry.sentence)
        + sum(_bytes(k) + _bytes(v) + 6 for k, v in entry.fields.items())
    )


def shown_timeline(timeline: list[TimelineEntry], budget: int = SHOWN_BYTES) -> list[TimelineEntry]:
    """What of the timeline an answer shows: all of it when it fits in ``budget`` bytes, else
    the opening and the latest entries that fit (the full story stays in the history)."""
    if sum(entry_bytes(e) for e in timeline) <= budget:
        return list(timeline)
    first: list[TimelineEntry] = []
    room = budget
    for entry in timeline[:SHOWN_HEAD]:  # the opening, in half the room at most
        if budget - room + entry_bytes(entry) > budget // 2:
            break
        first.append(entry)
        room -= entry_bytes(entry)
    latest: list[TimelineEntry] = []
    for entry in reversed(timeline[len(first) :]):
        room -= entry_bytes(entry)
        if room < 0:
            break
        latest.append(entry)
    return first + latest[::-1]
