"""What reading a schedule costs the readiness check: time and the size it adds to history.

    python bench/oncall_timeline.py [--periods 100 1000 4900] [--repeat 20]

For each size, a schedule whose rotation hands over every so often is served by
the Opsgenie stand-in (in process, over ASGI). The script times reading and parsing the
timeline (``ScheduleApi.timeline``) and finding its gaps (``find_gaps``), and prints the JSON
size of the timeline next to that of the activity result the workflow's history holds (the
gaps found), against Temporal's 2 MB payload limit. 5000 periods is the most the client
accepts. A script,
not a test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.oncall_models import TimelineResult  # noqa: E402
from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig  # noqa: E402
from activities.providers.opsgenie.schedules import ScheduleApi  # noqa: E402
from starters.dev.opsgenie_standin import OpsgenieStandIn  # noqa: E402
from workflows.oncall_gaps import Cycle, find_gaps, schedule_report  # noqa: E402
from workflows.oncall_policy import WatchedSchedule  # noqa: E402

PAYLOAD_LIMIT = 2 * 1024 * 1024
START = datetime(2026, 12, 7, 7, tzinfo=UTC)
END = START + timedelta(days=7)


class Standin(OpsgenieStandIn):
    """Hands over every ``step`` instead of every day."""

    def __init__(self, step: timedelta) -> None:
        super().__init__(schedules={"ops": [f"p{i}@example.com" for i in range(7)]})
        self.step = step

    def periods(self, name: str, start: datetime, end: datetime) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        at = start
        while at < end:
            who = f"p{len(found) % 7}@example.com"
            found.append(
                {
                    "startDate": at.isoformat().replace("+00:00", "Z"),
                    "endDate": min(at + self.step, end).isoformat().replace("+00:00", "Z"),
                    "type": "default",
                    "recipient": {"id": who, "type": "user", "name": who},
                }
            )
            at += self.step
        return found


async def measure(periods: int, repeat: int) -> None:
    # The timeline asked spans the week, a day before it and a day after.
    window = (END - START) + timedelta(days=2)
    standin = Standin(window / periods)
    config = OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k"))
    api = ScheduleApi(OpsgenieApi(config, transport=httpx.ASGITransport(app=standin.app())))
    schedule = WatchedSchedule(name="ops")
    read, gaps = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        timeline = await api.timeline(schedule, START, END)
        middle = time.perf_counter()
        find_gaps(timeline, START, END)
        read.append(middle - began)
        gaps.append(time.perf_counter() - middle)
    timeline_size = len(timeline.model_dump_json())
    cycle = Cycle(start=START, end=END, due=START)
    size = len(TimelineResult(report=schedule_report(timeline, cycle)).model_dump_json())
    served = sum(len(r.periods) for r in timeline.rotations)
    print(
        f"{served:>6} periods: read+parse p50 {statistics.median(read) * 1000:7.2f} ms, "
        f"find_gaps p50 {statistics.median(gaps) * 1000:6.2f} ms "
        f"(ratio {statistics.median(read) / statistics.median(gaps):5.1f}), "
        f"timeline {timeline_size / 1024:6.1f} KiB ({timeline_size / PAYLOAD_LIMIT:5.1%} of 2 MB), "
        f"in history {size} bytes"
    )
    await api.api.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, nargs="+", default=[100, 1000, 4900])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for periods in args.periods:
        await measure(periods, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
