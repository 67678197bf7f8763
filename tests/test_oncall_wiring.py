"""The worker builds the schedule API and the chat channels from the settings, and refuses a
configuration that could never work, at start, with what to fix."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from workers.oncall_wiring import chat_channels, schedule_api
from workers.policy_file import load_policy
from workers.settings import Settings
from workers.worker import build_worker, opsgenie_api
from workflows.chat import ChatMessage
from workflows.oncall_policy import WatchedSchedule
from workflows.policy import ConfigError

CHANNEL = """
[[customers.channels]]
name = "client-crise"
vendor = "teams"
"""


def with_channel(config_dir: Path) -> None:
    path = config_dir / "policy.toml"
    path.write_text(path.read_text(encoding="utf-8") + CHANNEL, encoding="utf-8")


async def test_a_channel_without_a_webhook_url_stops_the_worker(
    skipping_env: WorkflowEnvironment, settings: Settings, config_dir: Path
) -> None:
    with_channel(config_dir)
    with pytest.raises(ConfigError, match=r"'client-crise' .* add it to VIGIE_CHAT_WEBHOOKS"):
        build_worker(skipping_env.client, settings)
    plain = settings.model_copy(
        update={"chat_webhooks": {"client-crise": SecretStr("http://teams.example.com/x")}}
    )
    with pytest.raises(ConfigError, match="must be https://") as caught:
        build_worker(skipping_env.client, plain)
    assert "teams.example.com" not in str(caught.value)
    ok = settings.model_copy(
        update={"chat_webhooks": {"client-crise": SecretStr("https://teams.example.com/x")}}
    )
    async with build_worker(skipping_env.client, ok) as worker:
        assert not worker.is_shutdown


def test_the_chat_webhooks_come_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> None:
    with_channel(config_dir)
    monkeypatch.setenv("VIGIE_CHAT_WEBHOOKS", '{"client-crise": "https://example.com/hook"}')
    channels = chat_channels(
        load_policy(config_dir), Settings(config_dir=config_dir), httpx.AsyncClient()
    )
    assert {name: c.vendor for name, c in channels.items()} == {"client-crise": "teams"}


async def test_webhook_urls_stay_out_of_the_logs(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with_channel(config_dir)
    url = "https://prod-1.westeurope.logic.azure.com/workflows/w/invoke?sig=SECRET"
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(202)))
    settings = Settings(config_dir=config_dir, chat_webhooks={"client-crise": SecretStr(url)})
    channels = chat_channels(load_policy(config_dir), settings, http)
    message = ChatMessage(title="t", link_label="l", workflow_id="incident-1")
    with caplog.at_level(logging.INFO, logger="httpx"):
        await channels["client-crise"].post(message, "http://ui/x")
    (record,) = [r for r in caplog.records if r.name == "httpx"]
    assert "<chat webhook client-crise>" in record.getMessage()
    assert "SECRET" not in caplog.text and "logic.azure.com" not in caplog.text


def test_opsgenie_schedules_share_the_alert_client(settings: Settings) -> None:
    assert schedule_api(settings, None) is None
    keyed = settings.model_copy(update={"opsgenie_api_key": SecretStr("k")})
    alerts = opsgenie_api(keyed)
    api = schedule_api(keyed, alerts)
    assert api is not None and api.api is alerts and api.dialect == "opsgenie"


async def test_jsm_schedules_come_from_the_sites_rest_api(settings: Settings) -> None:
    jsm = settings.model_copy(
        update={
            "opsgenie_provider": "jsm",
            "jsm_cloud_id": "cloud-42",
            "jsm_user": "ops@example.com",
            "jsm_api_token": SecretStr("t0k"),
        }
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"onCallUsers": []})

    api = schedule_api(jsm, None, transport=httpx.MockTransport(handler))
    assert api is not None and api.dialect == "jsm"
    await api.on_call(WatchedSchedule(name="Support", id="f8f2"))
    (request,) = seen
    assert str(request.url).startswith(
        "https://api.atlassian.com/jsm/ops/api/cloud-42/v1/schedules/f8f2/on-calls"
    )
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"ops@example.com:t0k").decode()
    )
    unset = jsm.model_copy(update={"jsm_user": None, "jsm_api_token": None})
    assert schedule_api(unset, None) is None
    with pytest.raises(ConfigError, match="go together"):
        schedule_api(jsm.model_copy(update={"jsm_api_token": None}), None)
    with pytest.raises(ConfigError, match="VIGIE_JSM_CLOUD_ID"):
        schedule_api(jsm.model_copy(update={"jsm_cloud_id": None}), None)
