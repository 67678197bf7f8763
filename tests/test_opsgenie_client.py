"""Contract tests of the Opsgenie / JSM REST client and its activity."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.alerting import AlertActivities
from activities.models import AlertActionInput, OnCallInput
from activities.providers.opsgenie.client import (
    JSM_OPERATIONS,
    OpsgenieApi,
    OpsgenieConfig,
    OpsgenieError,
    OpsgenieUnavailable,
    RequestPending,
)
from starters.dev.opsgenie_standin import OpsgenieStandIn
from workflows.models import AlertCommand, AlertRef

API = Path(__file__).parent / "fixtures" / "opsgenie" / "api"
ASYNC = json.loads((API / "async_202_and_request_status.json").read_text())


def http_fixture(name: str) -> httpx.Response:
    """An HTTP answer saved as text: status line, headers, blank line, body."""
    lines = [line for line in (API / name).read_text().splitlines() if not line.startswith("#")]
    status = int(lines[0].split()[1])
    blank = lines.index("")
    headers = dict(line.split(": ", 1) for line in lines[1:blank])
    return httpx.Response(status, headers=headers, content="\n".join(lines[blank + 1 :]))


def api(
    handler: Any, provider: str = "opsgenie", base: str = "https://api.opsgenie.com"
) -> OpsgenieApi:
    config = OpsgenieConfig(
        provider=provider,  # type: ignore[arg-type]
        base_url=base,
        api_key=SecretStr("key-123"),
        status_polls=3,
        status_poll_interval_seconds=0.01,
    )
    return OpsgenieApi(config, transport=httpx.MockTransport(handler))


async def test_write_then_request_status_with_not_processed_first() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["Authorization"] == "GenieKey key-123"
        if request.method == "POST":
            assert request.url.path == "/v2/alerts/incident-42/acknowledge"
            assert request.url.params["identifierType"] == "alias"
            assert json.loads(request.content) == {"user": "alice", "source": "vigie"}
            return httpx.Response(202, json=ASYNC["accepted_202_response"])
        assert request.url.path == "/v2/alerts/requests/43a29c5c-3dbf-4fa4-9c26-f4f71023e120"
        if len(seen) == 2:
            return http_fixture("request_status_not_processed_404.txt")
        return httpx.Response(200, json=ASYNC["get_request_status_200_response"])

    client = api(handler)
    request_id = await client.acknowledge("incident-42", "alias", "alice")
    outcome = await client.wait_for(request_id)
    assert outcome.success and outcome.status == "Created alert"
    assert outcome.alert_id == "8743a1b2-11da-480e-8493-744660987bef"
    assert len(seen) == 3


async def test_request_never_processed_is_pending() -> None:
    client = api(lambda request: http_fixture("request_status_not_processed_404.txt"))
    with pytest.raises(RequestPending):
        await client.wait_for("r-1")


async def test_422_is_a_refusal_with_opsgenie_message() -> None:
    body = json.loads((API / "error_422.json").read_text())
    client = api(lambda request: httpx.Response(422, json=body))
    with pytest.raises(OpsgenieError) as caught:
        await client.add_note("abc", "id", "hello", "alice")
    assert caught.value.status == 422
    assert "not processable" in str(caught.value)
    assert "recipients#type: Invalid recipient type 'bb'" in str(caught.value)


async def test_429_honours_the_rate_limit_period_and_500_is_retryable() -> None:
    client = api(lambda request: http_fixture("error_429_throttled.txt"))
    with pytest.raises(OpsgenieUnavailable) as caught:
        await client.close("abc", "id", "alice")
    assert caught.value.retry_after == 60
    body = json.loads((API / "error_500.json").read_text())
    client = api(lambda request: httpx.Response(500, json=body))
    with pytest.raises(OpsgenieUnavailable, match="Internal Server Error"):
        await client.update_priority("abc", "id", "P2")


async def test_unreachable_is_retryable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(OpsgenieUnavailable, match="unreachable"):
        await api(down).add_tags("abc", "id", ["x"], "alice")


async def test_jsm_operations_uses_the_same_calls_under_its_base_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=ASYNC["accepted_202_response"])

    client = api(handler, provider="jsm", base=JSM_OPERATIONS)
    await client.create_alert({"message": "m", "alias": "incident-1"})
    await client.remove_tags("incident-1", "alias", ["vigie:open"], "alice")
    assert str(seen[0].url) == "https://api.atlassian.com/jsm/ops/integration/v2/alerts"
    assert seen[0].headers["Authorization"] == "GenieKey key-123"
    assert seen[1].method == "DELETE"
    assert seen[1].url.path == "/jsm/ops/integration/v2/alerts/incident-1/tags"
    assert seen[1].url.params["tags"] == "vigie:open"


def standin_api(standin: OpsgenieStandIn) -> OpsgenieApi:
    config = OpsgenieConfig(
        base_url="http://standin", api_key=SecretStr("k"), status_poll_interval_seconds=0.01
    )
    return OpsgenieApi(config, transport=httpx.ASGITransport(app=standin.app()))


def action(cmd: AlertCommand, ident: str = "incident-7", kind: str = "alias") -> AlertActionInput:
    return AlertActionInput(
        incident_id="incident-7",
        alert=AlertRef(identifier=ident, identifier_type=kind),  # type: ignore[arg-type]
        command=cmd,
    )


async def test_activity_against_the_standin() -> None:
    standin = OpsgenieStandIn(pending_polls=2, schedules={"ops": ["ann@example.com"]})
    activities = AlertActivities(standin_api(standin))
    env = ActivityEnvironment()
    create = AlertCommand(
        action="create", user="al", alert={"message": "Down", "alias": "incident-7"}
    )
    result = await env.run(activities.alert_action, action(create))
    assert result.status == "Created alert"
    await env.run(activities.alert_action, action(AlertCommand(action="acknowledge", user="al")))
    alert = standin.find("incident-7", "alias")
    assert alert is not None and alert["acknowledged"] and alert["owner"] == "al"
    responder = {"type": "team", "name": "ops"}
    await env.run(
        activities.alert_action,
        action(AlertCommand(action="add_responder", user="al", responder=responder)),
    )
    await env.run(
        activities.alert_action,
        action(AlertCommand(action="escalate", user="al", escalation="ops-escalation")),
    )
    assert alert["responders"] == [responder]
    assert alert["escalations"] == [{"name": "ops-escalation"}]
    # Its webhook has the shape of Opsgenie's: the escalation named beside the alert.
    [escalated] = [w for w in standin.webhooks if w["action"] == "Escalate"]
    assert escalated["escalationName"] == "ops-escalation"

    # 422 from the API: not retried, Opsgenie's message kept.
    with pytest.raises(ApplicationError) as caught:
        await env.run(activities.alert_action, action(AlertCommand(action="note", user="al")))
    assert caught.value.non_retryable and "Note can not be empty" in caught.value.message

    # Unknown alert: accepted, then reported failed through the request status.
    with pytest.raises(ApplicationError) as caught:
        await env.run(
            activities.alert_action, action(AlertCommand(action="close", user="al"), "nope", "id")
        )
    assert caught.value.non_retryable and "Alert does not exist" in caught.value.message

    # 429 carries the server's delay; 500 is retried; 401 is not.
    standin.faults += [429, 500, 401]
    with pytest.raises(ApplicationError) as caught:
        await env.run(activities.alert_action, action(AlertCommand(action="close", user="al")))
    assert not caught.value.non_retryable and caught.value.next_retry_delay == timedelta(seconds=1)
    with pytest.raises(ApplicationError) as caught:
        await env.run(activities.alert_action, action(AlertCommand(action="close", user="al")))
    assert not caught.value.non_retryable
    with pytest.raises(ApplicationError) as caught:
        await env.run(activities.alert_action, action(AlertCommand(action="close", user="al")))
    assert caught.value.non_retryable and "401" in caught.value.message

    on_call = await env.run(activities.who_is_on_call, OnCallInput(schedule="ops"))
    assert on_call.recipients == ["ann@example.com"]


@pytest.mark.parametrize(
    ("named", "paged", "skipped"),
    [
        (["ann@example.com", "bob@example.org.", "eve@example.com\r\nBcc: x@evil.test"],
         ["ann@example.com"], None),
        (["bob@example.org.", "a..b@example.org", "5b2b0e011b3a756623f4e25e"], [],
         "no e-mail address a mail can be sent to among those on call"),
        ([], [], None),
    ],
)  # fmt: skip
async def test_only_addresses_a_mail_can_be_sent_to_are_paged(
    named: list[str], paged: list[str], skipped: str | None
) -> None:
    """An address the schedule names that no mail can be sent to would make the page fail
    for everyone it goes to: it is left out, and with none left the incident pages the
    escalation matrix's on-call, saying why."""

    def on_calls(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/schedules/ops/on-calls"
        return httpx.Response(200, json={"data": {"onCallRecipients": named}, "took": 0.1})

    config = OpsgenieConfig(base_url="http://opsgenie", api_key=SecretStr("k"))
    activities = AlertActivities(OpsgenieApi(config, transport=httpx.MockTransport(on_calls)))
    on_call = await ActivityEnvironment().run(
        activities.who_is_on_call, OnCallInput(schedule="ops")
    )
    assert (on_call.recipients, on_call.skipped) == (paged, skipped)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json=["ann@example.com"]),
        httpx.Response(200, json={"data": {"onCallRecipients": "ann@example.com"}}),
        httpx.Response(200, json={"data": None}),
    ],
)
async def test_an_on_call_answer_of_another_shape_is_no_crash(answer: httpx.Response) -> None:
    """Not JSON: retried as an outage (the page then goes to the matrix's on-call); JSON of
    another shape: nobody named, so the matrix's on-call is paged."""
    config = OpsgenieConfig(base_url="http://opsgenie", api_key=SecretStr("k"))
    activities = AlertActivities(
        OpsgenieApi(config, transport=httpx.MockTransport(lambda request: answer))
    )
    run = ActivityEnvironment().run(activities.who_is_on_call, OnCallInput(schedule="ops"))
    if answer.headers["content-type"].startswith("text/"):
        with pytest.raises(ApplicationError) as caught:
            await run
        assert not caught.value.non_retryable and "not JSON" in caught.value.message
    else:
        assert (await run).recipients == []


async def test_a_retry_after_acceptance_does_not_write_twice() -> None:
    standin = OpsgenieStandIn(pending_polls=100)
    client = standin_api(standin)
    activities = AlertActivities(client)
    create = AlertCommand(
        action="create", user="al", alert={"message": "Down", "alias": "incident-7"}
    )
    heartbeats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])
    with pytest.raises(ApplicationError, match="not processed request"):
        await env.run(activities.alert_action, action(create))
    assert len(standin.alerts) == 1 and len(heartbeats) == 1
    # The retry resumes from the recorded request id instead of creating again.
    standin.requests[heartbeats[0]]["polls_left"] = 0
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, heartbeat_details=[heartbeats[0]])
    result = await retry.run(activities.alert_action, action(create))
    assert result.status == "Created alert"
    assert len(standin.alerts) == 1
    assert [c for c in standin.calls if c == ("POST", "/v2/alerts")] == [("POST", "/v2/alerts")]


async def test_without_a_key_nothing_is_sent() -> None:
    result = await ActivityEnvironment().run(
        AlertActivities(None).alert_action, action(AlertCommand(action="acknowledge", user="al"))
    )
    assert result.skipped is not None and "VIGIE_OPSGENIE_API_KEY" in result.skipped
