"""Continue-as-new, shared by the incident and the crisis: when to start afresh, and how to
leave a run without losing or repeating anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from workflows.models import TimelineEntry
from workflows.timeline import carried_timeline
from workflows.waiting import wait_until

# Timeline entries carried to the next run: the first ones (the opening) and the latest...
TIMELINE_HEAD, TIMELINE_TAIL = 20, 480
# ... and at most about this many bytes of them (the server limits a payload to 2 MB).
TIMELINE_BYTES = 512 * 1024


def reraise_if_run_ends(exc: ActivityError) -> None:
    """An activity cancelled because its run ends (continue-as-new, cancellation) did not
    fail: the send stays queued for the next run, and nothing is recorded or issued after
    the run's last command."""
    if isinstance(exc.cause, CancelledError):
        raise asyncio.CancelledError() from exc


def history_is_long(after_events: int) -> bool:
    """The server suggests a fresh run, or the history reached the policy's length."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= after_events


async def settle_in_flight(idle: Callable[[], bool], wait: timedelta) -> None:
    """Waits, at most ``wait``, until ``idle`` (the sends in flight finished, child starts and
    other tasks done), then until every handler finished. A send still in flight after
    ``wait`` (a server down) stays in the outbox and goes out again from the next run, with
    the same idempotency key."""
    try:
        await wait_until(
            idle, timeout=wait, timeout_summary="sends in flight before continue-as-new"
        )
    except TimeoutError:
        pass
    await wait_until(workflow.all_handlers_finished)


def carried(timeline: list[TimelineEntry]) -> tuple[list[TimelineEntry], int]:
    """The entries that travel to the next run, and how many stay behind."""
    kept = carried_timeline(timeline, TIMELINE_HEAD, TIMELINE_TAIL, TIMELINE_BYTES)
    return kept, len(timeline) - len(kept)


def unique_recipients(to: list[str]) -> list[str]:
    """Addresses once each, in order, without empty ones."""
    return list(dict.fromkeys(address for address in to if address))
