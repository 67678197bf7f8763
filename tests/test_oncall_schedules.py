"""Contract tests of the schedule API (Opsgenie and JSM Operations shapes, httpx.MockTransport),
its activities, and the stand-in's timelines."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.oncall import NO_API, OnCallActivities
from activities.oncall_models import OnCallRecipientsInput, TimelineInput
from activities.providers.opsgenie.client import (
    OpsgenieApi,
    OpsgenieConfig,
    OpsgenieError,
    OpsgenieUnavailable,
)
from activities.providers.opsgenie.schedules import ScheduleApi, UnexpectedAnswer, parse_timeline
from starters.dev.opsgenie_standin import OpsgenieStandIn
from tests.probes import OnCallAsk, OnCallProbe
from tests.test_incident_on_call import standin_api
from workers.matrix_file import load_matrix
from workers.settings import DEFAULT_CONFIG_DIR, Settings
from workers.worker import build_worker
from workflows.oncall_gaps import find_gaps
from workflows.oncall_policy import WatchedSchedule
from workflows.policy import ConfigError

START = datetime(2026, 12, 7, 7, tzinfo=UTC)  # Monday 08:00 Paris
END = START + timedelta(days=7)
JSM_BASE = "https://api.atlassian.com/jsm/ops/api/cloud-42"

# The shape of Opsgenie's "Get Schedule Timeline" answer (docs.opsgenie.com, Schedule API).
OPSGENIE_TIMELINE = {
    "data": {
        "_parent": {"id": "d875alp4-9b4e", "name": "astreinte technique", "enabled": True},
        "startDate": "2026-12-06T07:00:00Z",
        "endDate": "2026-12-15T07:00:00Z",
        "finalTimeline": {
            "rotations": [
                {
                    "id": "7c4fc5e2",
                    "name": "Jour",
                    "order": 1,
                    "periods": [
                        {
                            "startDate": "2026-12-06T07:00:00Z",
                            "endDate": "2026-12-10T07:00:00Z",
                            "type": "historical",
                            "recipient": {"id": "u1", "type": "user", "name": "ann@example.com"},
                            "flattenedRecipients": [
                                {"id": "u1", "type": "user", "name": "ann@example.com"}
                            ],
                        },
                        {
                            "startDate": "2026-12-10T07:00:00Z",
                            "endDate": "2026-12-15T07:00:00Z",
                            "type": "override",
                            "recipient": {"id": "u2", "type": "user", "name": "bob@example.com"},
                        },
                    ],
                },
                {"id": "9a1b", "name": "Nuit", "order": 2, "periods": []},
            ]
        },
    },
    "expandable": ["base", "forwarding", "override"],
    "took": 0.066,
    "requestId": "c4c0e1b4-8a54",
}

# The shape of JSM Operations' "Get schedule timeline" (REST API v1, ScheduleTimelineResponse).
JSM_TIMELINE = {
    "startDate": "2026-12-06T07:00:00Z",
    "endDate": "2026-12-15T07:00:00Z",
    "finalTimeline": {
        "rotations": [
            {
                "id": "rot-1",
                "name": "Weekly",
                "order": 1.0,
                "periods": [
                    {
                        "startDate": "2026-12-06T07:00:00Z",
                        "endDate": "2026-12-09T19:00:00Z",
                        "type": "default",
                        "responder": {"id": "5b2b0e011b3a756623f4e25e", "type": "user"},
                    },
                    {
                        "startDate": "2026-12-09T19:00:00Z",
                        "endDate": "2026-12-10T07:00:00Z",
                        "type": "default",
                        "responder": {"id": "gone", "type": "user", "deleted": True},
                    },
                    {
                        "startDate": "2026-12-10T07:00:00Z",
                        "endDate": "2026-12-15T07:00:00Z",
                        "type": "override",
                        "responder": {"id": "c5646941", "type": "user"},
                    },
                ],
            },
            {"id": "rot-old", "name": "Retired", "deleted": True, "periods": []},
        ]
    },
    "_expands": ["base", "forwarding", "override"],
}


def opsgenie(handler: Any) -> ScheduleApi:
    config = OpsgenieConfig(base_url="https://api.eu.opsgenie.com", api_key=SecretStr("key-1"))
    return ScheduleApi(OpsgenieApi(config, transport=httpx.MockTransport(handler)), "opsgenie")


def jsm(handler: Any) -> ScheduleApi:
    config = OpsgenieConfig(
        provider="jsm",
        base_url=JSM_BASE,
        api_key=SecretStr("token-9"),
        basic_user="ops@example.com",
    )
    return ScheduleApi(OpsgenieApi(config, transport=httpx.MockTransport(handler)), "jsm")


async def test_opsgenie_timeline_by_name() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OPSGENIE_TIMELINE)

    timeline = await opsgenie(handler).timeline(
        WatchedSchedule(name="astreinte technique"), START, END
    )
    (request,) = seen
    assert request.method == "GET"
    assert request.url.host == "api.eu.opsgenie.com"
    assert request.url.raw_path.startswith(b"/v2/schedules/astreinte%20technique/timeline?")
    assert request.headers["Authorization"] == "GenieKey key-1"
    assert dict(request.url.params) == {
        "identifierType": "name",
        "date": "2026-12-06T07:00:00Z",
        "interval": "9",
        "intervalUnit": "days",
    }
    assert request.content == b""
    assert [r.name for r in timeline.rotations] == ["Jour", "Nuit"]
    assert [p.who for p in timeline.rotations[0].periods] == ["ann@example.com", "bob@example.com"]
    assert timeline.rotations[0].periods[1].start == datetime(2026, 12, 10, 7, tzinfo=UTC)
    assert find_gaps(timeline, START, END) == []


async def test_opsgenie_timeline_by_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/schedules/d875alp4-9b4e/timeline"
        assert request.url.params["identifierType"] == "id"
        return httpx.Response(200, json=OPSGENIE_TIMELINE)

    await opsgenie(handler).timeline(WatchedSchedule(name="ops", id="d875alp4-9b4e"), START, END)


async def test_jsm_timeline_through_the_rest_api_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=JSM_TIMELINE)

    schedule = WatchedSchedule(name="Support", id="f8f2a4ec-54b2-4513")
    timeline = await jsm(handler).timeline(schedule, START, END)
    (request,) = seen
    assert request.method == "GET"
    assert str(request.url).startswith(f"{JSM_BASE}/v1/schedules/f8f2a4ec-54b2-4513/timeline?")
    token = base64.b64encode(b"ops@example.com:token-9").decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert dict(request.url.params) == {
        "date": "2026-12-06T07:00:00Z",
        "interval": "9",
        "intervalUnit": "days",
    }
    # The retired rotation is left out; the deleted responder leaves nobody on call.
    assert [r.name for r in timeline.rotations] == ["Weekly"]
    assert [p.who for p in timeline.rotations[0].periods] == [
        "5b2b0e011b3a756623f4e25e",
        None,
        "c5646941",
    ]
    gaps = find_gaps(timeline, START, END)
    assert [(g.start, g.end) for g in gaps] == [
        (datetime(2026, 12, 9, 19, tzinfo=UTC), datetime(2026, 12, 10, 7, tzinfo=UTC))
    ]


async def test_jsm_needs_the_schedule_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing is asked without an id")

    with pytest.raises(OpsgenieError, match="set the id of schedule 'Support'"):
        await jsm(handler).timeline(WatchedSchedule(name="Support"), START, END)


@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        (httpx.Response(404, json={"message": "Schedule with identifier [x] not found"}),
         OpsgenieError, "HTTP 404: Schedule with identifier"),
        (httpx.Response(401, json={"errors": [{"title": "Unauthorized"}]}),
         OpsgenieError, r"HTTP 401.*Unauthorized"),
        (httpx.Response(429, headers={"X-RateLimit-Period-In-Sec": "2"}, json={}),
         OpsgenieUnavailable, "throttled"),
        (httpx.Response(503, text="Service Unavailable"), OpsgenieUnavailable, "HTTP 503"),
        (httpx.Response(200, json={"data": {"_parent": {}}}), UnexpectedAnswer,
         "no finalTimeline.rotations"),
        (httpx.Response(200, text="<html>"), OpsgenieUnavailable, "not JSON"),
    ],
)  # fmt: skip
async def test_answers_that_are_not_a_timeline(
    answer: httpx.Response, error: type[Exception], match: str
) -> None:
    api = opsgenie(lambda request: answer)
    with pytest.raises(error, match=match):
        await api.timeline(WatchedSchedule(name="x"), START, END)


async def test_a_period_without_dates_is_refused_not_guessed() -> None:
    body = json.loads(json.dumps(OPSGENIE_TIMELINE))
    del body["data"]["finalTimeline"]["rotations"][0]["periods"][0]["endDate"]
    with pytest.raises(UnexpectedAnswer, match="rotation 'Jour': no date"):
        parse_timeline("ops", body)


async def test_a_timeout_is_an_outage() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(OpsgenieUnavailable, match="timed out"):
        await opsgenie(handler).timeline(WatchedSchedule(name="x"), START, END)


# ----------------------------------------------------------------------------- activities


def activities(handler: Any, dialect: str = "opsgenie") -> OnCallActivities:
    api = jsm(handler) if dialect == "jsm" else opsgenie(handler)
    return OnCallActivities(api, lambda: load_matrix(DEFAULT_CONFIG_DIR / "escalation_matrix.toml"))


async def test_timeline_activity_refusal_is_final_and_says_what_to_check() -> None:
    act = activities(lambda r: httpx.Response(404, json={"message": "Schedule not found"}))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            act.schedule_timeline,
            TimelineInput(schedule=WatchedSchedule(name="typo"), start=START, end=END),
        )
    assert caught.value.non_retryable and caught.value.type == "OpsgenieRejected"
    assert caught.value.details == ("name",)  # the mail says what to check, in its language


async def test_timeline_activity_returns_the_gaps_not_the_timeline() -> None:
    act = activities(lambda r: httpx.Response(200, json=JSM_TIMELINE), "jsm")
    result = await ActivityEnvironment().run(
        act.schedule_timeline,
        TimelineInput(schedule=WatchedSchedule(name="Support", id="f8f2"), start=START, end=END),
    )
    assert result.periods == 3 and result.report is not None
    assert [(g.start, g.end) for g in result.report.gaps] == [
        (datetime(2026, 12, 9, 19, tzinfo=UTC), datetime(2026, 12, 10, 7, tzinfo=UTC))
    ]
    assert result.report.schedule == "Support" and not result.report.covered


async def test_timeline_activity_outage_is_retried_with_the_servers_delay() -> None:
    act = activities(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            act.schedule_timeline,
            TimelineInput(schedule=WatchedSchedule(name="ops"), start=START, end=END),
        )
    assert not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)


async def test_without_a_schedule_api_the_timeline_is_skipped() -> None:
    act = OnCallActivities(None, lambda: load_matrix(DEFAULT_CONFIG_DIR / "escalation_matrix.toml"))
    result = await ActivityEnvironment().run(
        act.schedule_timeline,
        TimelineInput(schedule=WatchedSchedule(name="ops"), start=START, end=END),
    )
    assert result.report is None and result.skipped == NO_API


def on_calls(recipients: list[str]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.path == "/v2/schedules/ops/on-calls"
        assert dict(request.url.params) == {"scheduleIdentifierType": "name", "flat": "true"}
        data = {"_parent": {"name": "ops"}, "onCallRecipients": recipients}
        return httpx.Response(200, json={"data": data, "took": 0.1, "requestId": "r"})

    return handler


async def test_who_is_on_call_comes_from_the_schedule() -> None:
    result = await ActivityEnvironment().run(
        activities(on_calls(["night.owl@example.com"])).on_call_recipients,
        OnCallRecipientsInput(workflow_id="incident-1", schedule="ops"),
    )
    assert result.source == "schedule" and result.recipients == ["night.owl@example.com"]
    assert result.reason is None


@pytest.mark.parametrize(
    ("handler", "schedule", "reason"),
    [
        (on_calls([]), "ops", "nobody on call"),
        (lambda r: httpx.Response(500, json={"message": "Internal"}), "ops",
         "schedule 'ops': HTTP 500: Internal"),
        (lambda r: httpx.Response(404, json={"message": "Schedule not found"}), "ops",
         "schedule 'ops': HTTP 404: Schedule not found"),
        (on_calls(["unused"]), "", "no on-call schedule configured"),
    ],
)  # fmt: skip
async def test_the_matrix_on_call_is_the_fallback(handler: Any, schedule: str, reason: str) -> None:
    result = await ActivityEnvironment().run(
        activities(handler).on_call_recipients,
        OnCallRecipientsInput(workflow_id="incident-1", schedule=schedule),
    )
    assert result.source == "matrix" and result.recipients == ["on-call@example.com"]
    assert result.reason == reason


async def test_jsm_account_ids_are_not_addresses_so_the_matrix_is_paged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/jsm/ops/api/cloud-42/v1/schedules/f8f2/on-calls"
        assert request.url.params["flat"] == "true"
        return httpx.Response(200, json={"onCallUsers": ["5b2b0e011b3a756623f4e25e"]})

    result = await ActivityEnvironment().run(
        activities(handler, "jsm").on_call_recipients,
        OnCallRecipientsInput(workflow_id="crisis-1", schedule="Support", schedule_id="f8f2"),
    )
    assert result.source == "matrix" and result.on_call == ["5b2b0e011b3a756623f4e25e"]
    assert result.reason == "no e-mail address a mail can be sent to among those on call"


async def test_names_no_mail_can_be_sent_to_are_left_out_and_kept_bounded() -> None:
    named = ["bob@example.org.", "ann@example.com", "eve@example.com\r\nBcc: x@evil.test"]
    result = await ActivityEnvironment().run(
        activities(on_calls(named + ["x@example.com"] * 30)).on_call_recipients,
        OnCallRecipientsInput(workflow_id="crisis-1", schedule="ops"),
    )
    assert result.source == "schedule"
    assert result.recipients == ["ann@example.com"] + ["x@example.com"] * 19
    assert len(result.on_call) == 20 and result.on_call[2] == "eve@example.com Bcc: x@evil.test"
    # The addresses after the first twenty names (account ids, say) are found all the same.
    result = await ActivityEnvironment().run(
        activities(
            on_calls(["5b2b0e011b3a756623f4e25e"] * 25 + ["ann@example.com"])
        ).on_call_recipients,
        OnCallRecipientsInput(workflow_id="crisis-1", schedule="ops"),
    )
    assert result.source == "schedule" and result.recipients == ["ann@example.com"]
    result = await ActivityEnvironment().run(
        activities(on_calls(["bob@example.org."])).on_call_recipients,
        OnCallRecipientsInput(workflow_id="crisis-1", schedule="ops"),
    )
    assert result.source == "matrix" and result.recipients == ["on-call@example.com"]
    assert result.reason == "no e-mail address a mail can be sent to among those on call"


async def test_a_broken_matrix_is_a_retryable_error() -> None:
    def broken() -> Any:
        raise ConfigError("escalation_matrix.toml: provider.on_call: required field is missing")

    act = OnCallActivities(opsgenie(on_calls([])), broken)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            act.on_call_recipients, OnCallRecipientsInput(workflow_id="i", schedule="ops")
        )
    assert not caught.value.non_retryable and "nobody on call" in caught.value.message


# ----------------------------------------------------------------------------- the stand-in


async def test_the_standin_serves_timelines_with_gaps_made_over_http() -> None:
    standin = OpsgenieStandIn(api_key="dev", schedules={"ops": ["ann@example.com"]})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=standin.app()), base_url="http://standin"
    ) as http:
        gap = {"from": "2026-12-09T19:00:00Z", "to": "2026-12-10T07:00:00Z"}
        made = await http.post("/_standin/schedules/ops/gaps", json=gap)
        assert made.status_code == 200
        assert (await http.put("/_standin/schedules/empty", json={"participants": []})).is_success
    config = OpsgenieConfig(base_url="http://standin", api_key=SecretStr("dev"))
    api = ScheduleApi(OpsgenieApi(config, transport=httpx.ASGITransport(app=standin.app())))
    timeline = await api.timeline(WatchedSchedule(name="ops"), START, END)
    assert [(g.start, g.end) for g in find_gaps(timeline, START, END)] == [
        (datetime(2026, 12, 9, 19, tzinfo=UTC), datetime(2026, 12, 10, 7, tzinfo=UTC))
    ]
    empty = await api.timeline(WatchedSchedule(name="empty"), START, END)
    assert [r.periods for r in empty.rotations] == [[]]
    on_call = await api.on_call(WatchedSchedule(name="ops"))
    assert on_call in (["ann@example.com"], [])  # [] only while now falls in the gap
    standin.gaps.clear()
    timeline = await api.timeline(WatchedSchedule(name="ops"), START, END)
    assert find_gaps(timeline, START, END) == []
    with pytest.raises(OpsgenieError, match="404"):
        await api.timeline(WatchedSchedule(name="nope"), START, END)


# ----------------------------------------------------------------------------- from a workflow


async def test_a_workflow_asks_who_is_on_call_through_the_worker(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    standin = OpsgenieStandIn(schedules={"ops_schedule": ["night.owl@example.com"]})
    probes = f"probes-{uuid.uuid4().hex[:8]}"
    async with (
        build_worker(skipping_env.client, settings, alert_api=standin_api(standin)),
        Worker(skipping_env.client, task_queue=probes, workflows=[OnCallProbe]),
    ):
        asked, fallback = [
            await skipping_env.client.execute_workflow(
                OnCallProbe.run,
                OnCallAsk(schedule=schedule, task_queue=settings.task_queue),
                id=f"crisis-probe-{uuid.uuid4().hex[:8]}",
                task_queue=probes,
            )
            for schedule in ("ops_schedule", "no_such_schedule")
        ]
    assert asked.source == "schedule" and asked.recipients == ["night.owl@example.com"]
    assert fallback.source == "matrix" and fallback.recipients == ["on-call@example.com"]
    assert fallback.reason is not None and "HTTP 404" in fallback.reason
