"""The monthly service review: first business day, the mail to each customer's managers, the
Schedule applied idempotently, and the ledger's gauges and rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, ScheduleCalendarSpec, ScheduleRange
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.ledger.store import Ledger
from starters.dev.smtp_sink import MailSink
from starters.report.rebuild import rebuild_ledger
from tests.conftest import free_port
from tests.helpers import PARIS, open_incident, status
from tests.test_ledger_facts import POLICY, paris, state
from tests.test_metrics import sample
from tests.test_report import fill
from workers.connection import metrics_runtime
from workers.ledger import (
    LedgerGauges,
    apply_schedules,
    ledger_activities,
    ledger_upkeep,
    open_ledger,
)
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker, run_worker, smtp_transport
from workflows.calendar import BusinessClock
from workflows.incident import IncidentWorkflow
from workflows.ledger_facts import incident_facts
from workflows.models import AcknowledgeInput, ResolveInput
from workflows.policy import ConfigError
from workflows.service_review import (
    SendServiceReviewInput,
    ServiceReviewInput,
    ServiceReviewResult,
    ServiceReviewWorkflow,
    first_business_day,
    month_bounds,
    previous_month,
    schedule_id,
)


def test_each_task_queue_has_its_schedule() -> None:
    assert schedule_id("incidents") == "vigie-service-review"
    assert schedule_id("incidents-eu") == "vigie-service-review-incidents-eu"


def test_the_schedule_fires_at_the_hour_set_in_the_business_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.ledger import service_review_schedule
    from workers.settings import Settings

    monkeypatch.setenv("VIGIE_SERVICE_REVIEW_HOUR", "6")
    schedule = service_review_schedule(Settings(), "Europe/Paris")
    [calendar] = schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(6, 6)]
    assert [(r.start, r.end) for r in calendar.day_of_month] == [(1, 7)]
    assert schedule.spec.time_zone_name == "Europe/Paris"
    monkeypatch.setenv("VIGIE_SERVICE_REVIEW_HOUR", "24")
    with pytest.raises(ValueError, match="service_review_hour"):
        Settings()


def test_first_business_day_skips_weekends_and_public_holidays() -> None:
    clock = BusinessClock(POLICY.business_hours)
    assert first_business_day(clock, 2026, 11) == date(2026, 11, 2)  # 1st: Sunday, Toussaint
    assert first_business_day(clock, 2026, 12) == date(2026, 12, 1)
    assert first_business_day(clock, 2027, 1) == date(2027, 1, 4)  # 1st: holiday, then weekend
    assert previous_month(date(2027, 1, 4)) == "2026-12"
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_bounds("2027-02") == (date(2027, 2, 1), date(2027, 2, 28))


def attachment(message: EmailMessage) -> str:
    [part] = list(message.iter_attachments())
    return str(part.get_content())


async def review(env: WorkflowEnvironment, settings: Settings, input: ServiceReviewInput) -> Any:
    return await env.client.execute_workflow(
        ServiceReviewWorkflow.run,
        input,
        id=f"service-review-test-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=ServiceReviewResult,
    )


async def test_a_month_is_mailed_to_each_customers_managers(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    matrices = config_dir / "matrices"
    matrices.mkdir()
    text = (config_dir / "escalation_matrix.toml").read_text(encoding="utf-8")
    (matrices / "globex.toml").write_text(
        text.replace("incident-manager@example.com", "im@globex.example"), encoding="utf-8"
    )
    async with build_worker(skipping_env.client, settings):  # migrates the ledger
        ledger = Ledger(settings.database_url.get_secret_value())
        fill(ledger)
        result = await review(skipping_env, settings, ServiceReviewInput(month="2026-11"))
        # Reviewed again by hand: new mails, which a mail system does not drop as seen.
        again = await review(skipping_env, settings, ServiceReviewInput(month="2026-11"))
    assert result.failed == {} and again.sent == result.sent
    assert result.sent == {
        "acme": ["incident-manager@example.com", "delivery-manager@example.com"],
        "globex": ["im@globex.example", "delivery-manager@example.com"],
    }
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    mails = {str(m["Subject"]): m for m in sink.messages}
    acme = mails["[Vigie] Revue de service — acme — 11/2026"]
    assert re.fullmatch(r"<service-review\.acme\.2026-11\.[0-9a-f-]{36}@example\.com>",
                        str(acme["Message-ID"]))  # fmt: skip
    body = acme.get_body(("plain",))
    assert body is not None and "Incidents : 3" in str(body.get_content())
    html = attachment(acme)
    assert "Revue de service — acme" in html and html.count("<svg") == 4
    [part] = list(acme.iter_attachments())
    assert part.get_filename() == "revue-de-service-acme-2026-11.html"
    assert "incident-d" not in html  # globex's incident stays in globex's review
    assert "Incidents : 1" in str(mails["[Vigie] Revue de service — globex — 11/2026"]
                                 .get_body(("plain",)).get_content())  # type: ignore[union-attr]  # fmt: skip


async def test_a_retried_send_keeps_its_message_id(
    settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    """A retry runs the activity again with the same input: the same mail, so a recipient's
    mail system keeps one of the two if the first had gone through after all."""
    open_ledger(settings)  # migrated
    fill(Ledger(settings.database_url.get_secret_value()))
    sends = ledger_activities(settings, smtp_transport(settings), "example.com")
    send = next(a for a in sends if getattr(a, "__name__", "") == "send_service_review")
    input = SendServiceReviewInput(
        month="2026-11", customer="acme", language="fr", timezone="Europe/Paris", review="r1"
    )
    env = ActivityEnvironment()
    first = await env.run(send, input)
    again = await env.run(send, input)
    other = await env.run(send, input.model_copy(update={"review": "r2"}))
    assert first.message_id == again.message_id == "<service-review.acme.2026-11.r1@example.com>"
    assert other.message_id != first.message_id
    assert [str(m["Message-ID"]) for m in sink.messages] == [
        first.message_id, first.message_id, other.message_id
    ]  # fmt: skip
    await env.run(send, input.model_copy(update={"language": "en", "review": "r3"}))
    names = [part.get_filename() for m in sink.messages for part in m.iter_attachments()]
    assert names == [*["revue-de-service-acme-2026-11.html"] * 3,
                     "service-review-acme-2026-11.html"]  # fmt: skip


async def test_the_schedule_run_reviews_the_previous_month_on_the_first_business_day_only(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    now = await skipping_env.get_current_time()
    today = now.astimezone(PARIS).date()
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    clock = BusinessClock(load_policy(settings.config_dir).business_hours)
    first = first_business_day(clock, following.year, following.month)
    assert first is not None
    async with build_worker(skipping_env.client, settings):
        await skipping_env.sleep(datetime.combine(first, time(8, 30), tzinfo=PARIS) - now)
        on_the_day = await review(skipping_env, settings, ServiceReviewInput())
        await skipping_env.sleep(timedelta(days=1))
        next_day = await review(skipping_env, settings, ServiceReviewInput())
    assert on_the_day.month == f"{today:%Y-%m}" and on_the_day.skipped is None
    assert next_day.skipped is not None and "not the first business day" in next_day.skipped


async def test_schedules_apply_creates_then_updates_and_keeps_a_pause(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    assert await apply_schedules(client, settings) in ("created", "updated")
    handle = client.get_schedule_handle(schedule_id(settings.task_queue))
    try:
        await handle.pause(note="paused by an operator")
        assert await apply_schedules(client, settings) == "updated"
        described = await handle.describe()
        assert described.schedule.state.paused
        spec = described.schedule.spec
        assert spec.time_zone_name == "Europe/Paris"
        [calendar] = spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert list(calendar.day_of_month) == [ScheduleRange(1, 7, 1)]
        assert list(calendar.hour) == [ScheduleRange(8, 8, 1)]
    finally:
        await handle.delete()


async def test_the_worker_refreshes_its_gauges_every_ledger_gauges_seconds(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Beside a running worker (``ledger_upkeep``), the gauges follow the ledger on their
    own, every ``VIGIE_LEDGER_GAUGES_SECONDS``, on the worker's metrics endpoint."""
    port = free_port()
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=dev_env.client.data_converter,
        runtime=metrics_runtime(f"127.0.0.1:{port}"),
    )
    cfg = settings.model_copy(update={"ledger_gauges_seconds": 1})
    ledger = open_ledger(cfg)
    d = state(incident_id="incident-d", priority="P2", service_level="silver",
              opened_at=paris(25, 9))  # fmt: skip

    async def open_at_globex() -> float:
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        return sample(text, "vigie_open_incidents", customer="globex")

    async def until(value: float) -> None:
        for _ in range(100):
            if await open_at_globex() == value:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"vigie_open_incidents stayed at {await open_at_globex()}")

    try:
        async with ledger_upkeep(client, cfg):
            ledger.record_incident(incident_facts(d, "globex", paris(25, 9, 5)))
            await until(1)
            d.status, d.resolved_at = "resolved", paris(25, 10)
            ledger.record_incident(incident_facts(d, "globex", paris(25, 10)))
            await until(0)
    finally:
        ledger.close()
        await client.get_schedule_handle(schedule_id(cfg.task_queue)).delete()


async def test_gauges_follow_the_ledger(ledger: Ledger) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    gauges = LedgerGauges(runtime.metric_meter)
    fill(ledger)

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{port}/metrics")).text

    gauges.refresh(ledger, datetime(2026, 11, 30, tzinfo=UTC))
    text = await scrape()
    labels = {"status": "open", "priority": "P2", "service_level": "silver", "customer": "globex"}
    assert sample(text, "vigie_open_incidents", **labels) == 1
    assert sample(text, "vigie_crises", customer="acme", state="rex_overdue") == 0
    gauges.refresh(ledger, datetime(2026, 12, 2, tzinfo=UTC))  # past the crisis' REX due date
    d = state(incident_id="incident-d", priority="P2", service_level="silver",
              opened_at=paris(25, 9), acknowledged_at=paris(25, 9, 10),
              status="in_progress")  # fmt: skip
    ledger.record_incident(incident_facts(d, "globex", paris(25, 9, 30)))
    gauges.refresh(ledger, datetime(2026, 12, 2, tzinfo=UTC))
    text = await scrape()
    assert sample(text, "vigie_open_incidents", **labels) == 0  # set back to 0, not left at 1
    assert sample(text, "vigie_open_incidents", **(labels | {"status": "in_progress"})) == 1
    assert sample(text, "vigie_crises", customer="acme", state="rex_overdue") == 1
    d.status, d.resolved_at = "resolved", paris(25, 10)
    ledger.record_incident(incident_facts(d, "globex", paris(25, 10)))
    gauges.refresh(ledger, datetime(2026, 12, 2, tzinfo=UTC))
    assert sample(await scrape(), "vigie_open_incidents", customer="globex") == 0


async def test_rebuild_reads_incidents_of_the_task_queue_with_their_customer(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    # A ledger of its own: the worker writes its rows meanwhile into the usual one, so that
    # what the rebuild writes does not depend on which of the two wrote first.
    rebuilt = SecretStr(f"sqlite:///{settings.config_dir.parent / 'rebuilt.db'}")
    ledger = open_ledger(settings.model_copy(update={"database_url": rebuilt}))
    async with build_worker(client, settings):
        handle = await open_incident(client, settings.task_queue, customer="acme")
        await status(handle)
        await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
        await handle.execute_update(
            IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="rolled back")
        )
        other = await open_incident(client, settings.task_queue)
        view = await status(other)
        policy = load_policy(settings.config_dir)
        first = await rebuild_ledger(client, ledger, policy, settings.task_queue, 100,
                                     datetime.now(UTC))  # fmt: skip
        again = await rebuild_ledger(client, ledger, policy, settings.task_queue, 100,
                                     datetime.now(UTC))  # fmt: skip
    assert (first.incidents, first.written, first.problems) == (2, 2, [])
    assert again.incidents == 2  # read again, written again with the same revision: one row each
    start, end = view.opened_at - timedelta(hours=1), view.opened_at + timedelta(hours=1)
    columns = ["incident_id", "customer", "status", "ack_kept", "mtta_minutes"]
    rows = {r.incident_id: r for r in ledger.incidents_opened(start, end, None, columns)}
    assert rows[handle.id].customer == "acme" and rows[handle.id].status == "resolved"
    assert rows[handle.id].ack_kept is True and rows[handle.id].mtta_minutes is not None
    assert rows[other.id].customer == "default" and rows[other.id].status == "open"


def test_a_ledger_that_cannot_be_used_stops_the_worker_with_the_reason(settings: Settings) -> None:
    for url, reason in (
        ("mysql://vigie@localhost/vigie", "mysql is not supported"),
        ("postgresql://vigie@127.0.0.1:1/vigie", "cannot open or migrate the ledger"),
        ("not a url", "not a database URL"),
    ):
        broken = settings.model_copy(update={"database_url": SecretStr(url)})
        with pytest.raises(ConfigError, match=reason):
            open_ledger(broken)


async def test_the_worker_applies_the_schedule_at_start(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    handle = client.get_schedule_handle(schedule_id(settings.task_queue))
    with contextlib.suppress(RPCError):
        await handle.delete()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(client, settings, stop))
    try:

        async def described() -> bool:
            try:
                await handle.describe()
                return True
            except RPCError:
                return False

        for _ in range(100):
            if await described():
                break
            await asyncio.sleep(0.1)
        assert await described()
    finally:
        stop.set()
        await worker
        await handle.delete()


@pytest.mark.parametrize(
    "raw", [{"month": "2026-13"}, {"month": 202611}, "2026-11", [1], {"monht": "2026-11"}]
)
async def test_a_review_started_by_hand_with_a_typo_ends_with_the_reason(
    skipping_env: WorkflowEnvironment, settings: Settings, raw: Any
) -> None:
    """`temporal workflow start --type ServiceReviewWorkflow --input …` with a typo: the run
    ends at once saying what is wrong, reviews nothing and never fails its workflow task."""
    async with build_worker(skipping_env.client, settings):
        result = await skipping_env.client.execute_workflow(
            "ServiceReviewWorkflow", raw, id=f"service-review-typo-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue, result_type=ServiceReviewResult,
        )  # fmt: skip
    assert result.refused is not None and result.month is None and not result.sent, result
    assert '{"month": "2026-11"}' in result.refused
    if isinstance(raw, dict):
        assert result.refused.startswith(f"{next(iter(raw))}: "), result.refused


async def test_a_review_that_could_not_go_out_is_mailed_to_the_managers(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink, config_dir: Path
) -> None:
    """Run from a Schedule, nobody reads the result: a customer whose review failed (its
    own matrix broken) is told to the escalation matrix's incident and delivery managers,
    and the other customers get theirs."""
    matrices = config_dir / "matrices"
    matrices.mkdir()
    (matrices / "globex.toml").write_text("version = 0\n", encoding="utf-8")
    async with build_worker(skipping_env.client, settings):
        fill(Ledger(settings.database_url.get_secret_value()))
        result = await review(skipping_env, settings, ServiceReviewInput(month="2026-11"))
    assert list(result.sent) == ["acme"] and list(result.failed) == ["globex"], result
    managers = ["incident-manager@example.com", "delivery-manager@example.com"]
    assert result.failures_told == managers
    [notice] = [m for m in sink.messages if "non envoyée" in str(m["Subject"])]
    assert str(notice["Subject"]) == "[Vigie] Revue de service 11/2026 non envoyée pour 1 client(s)"
    assert str(notice["To"]) == ", ".join(managers)
    body = notice.get_body(("plain",))
    assert body is not None and "- globex : " in str(body.get_content())


async def test_a_matrix_broken_while_the_worker_runs_holds_no_review_up(
    skipping_env: WorkflowEnvironment, settings: Settings, sink: MailSink
) -> None:
    """As crises and pages: the reviews go to the last valid matrix's managers."""
    async with build_worker(skipping_env.client, settings):
        fill(Ledger(settings.database_url.get_secret_value()))
        text = settings.matrix_path.read_text(encoding="utf-8")
        settings.matrix_path.write_text(text.replace("version = 1", "version = 0"), "utf-8")
        result = await review(skipping_env, settings, ServiceReviewInput(month="2026-11"))
    assert result.failed == {} and set(result.sent) == {"acme", "globex"}, result
    assert result.sent["acme"] == ["incident-manager@example.com", "delivery-manager@example.com"]


async def test_a_review_started_with_two_inputs_ends_with_the_reason(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """`temporal workflow start ... --input A --input B`: refused, no failed workflow task."""
    async with build_worker(skipping_env.client, settings):
        result = await skipping_env.client.execute_workflow(
            "ServiceReviewWorkflow", args=[{"month": "2026-11"}, {"month": "2026-10"}],
            id=f"service-review-two-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
            result_type=ServiceReviewResult,
        )  # fmt: skip
    assert result.refused is not None and result.refused.startswith("one input expected, 2")
