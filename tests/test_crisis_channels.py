"""Crisis notifications when the mail system is affected: each channel hands over to the next,
the result names the channel that carried it, and a channel that cannot work is refused at
worker start. Real SMTP servers (aiosmtpd) and the Opsgenie API over httpx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from activities.mail_render import MailRenderer
from activities.models import CrisisMailInput
from activities.providers.opsgenie.client import OpsgenieApi, OpsgenieConfig
from activities.providers.smtp import SmtpConfig, SmtpTransport
from starters.dev.opsgenie_standin import OpsgenieStandIn
from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from workers.settings import Settings
from workers.worker import build_worker
from workflows.crisis_models import CrisisMail
from workflows.policy import ConfigError
from workflows.texts import render

RENDERER = MailRenderer("vigie@example.com", "example.com")


def crisis_mail(channel: str = "auto") -> CrisisMailInput:
    mail = CrisisMail(
        key="crisis-7.3", thread_key=None, kind="escalation", to=["im@example.com"],
        channel=channel, language="fr", subject="Exchange down", lines=["Niveau 1"],
    )  # fmt: skip
    return CrisisMailInput(crisis_id="crisis-7", mail=mail)


def unreachable() -> SmtpTransport:
    return SmtpTransport(SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2))


def smtp(sink: MailSink) -> SmtpTransport:
    return SmtpTransport(SmtpConfig(host=sink.host, port=sink.port))


def standin_api(standin: OpsgenieStandIn) -> OpsgenieApi:
    return OpsgenieApi(
        OpsgenieConfig(base_url="http://standin", api_key=SecretStr("k")),
        transport=httpx.ASGITransport(app=standin.app()),
    )


def refusing_api() -> OpsgenieApi:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Could not authenticate", "took": 0.0})

    return OpsgenieApi(
        OpsgenieConfig(base_url="https://api.opsgenie.com", api_key=SecretStr("bad")),
        transport=httpx.MockTransport(handler),
    )


async def test_relay_down_hands_over_to_opsgenie(sink: MailSink) -> None:
    standin = OpsgenieStandIn()
    mail = MailActivities(smtp(sink), RENDERER, relay=unreachable(), alerts=standin_api(standin))
    result = await ActivityEnvironment().run(mail.send_crisis_mail, crisis_mail("relay"))
    assert result.channel == "opsgenie"
    # When it went out, kept in the history: what the crisis records, the same on replay.
    assert result.sent_at is not None and abs(datetime.now(UTC) - result.sent_at) < timedelta(
        minutes=1
    )
    assert result.fallback_reason is not None and result.fallback_reason.startswith("relay:")
    assert standin.find("crisis-7.3", "alias") is not None
    assert sink.messages == []  # the affected mail server was not the first choice


async def test_no_alternate_configured_uses_the_usual_server(sink: MailSink) -> None:
    mail = MailActivities(smtp(sink), RENDERER)
    result = await ActivityEnvironment().run(mail.send_crisis_mail, crisis_mail("auto"))
    assert (result.channel, result.fallback_reason) == ("smtp", None)
    assert [m["X-Vigie-Kind"] for m in sink.messages] == ["escalation"]


async def test_opsgenie_refusal_falls_back_to_smtp(sink: MailSink) -> None:
    mail = MailActivities(smtp(sink), RENDERER, alerts=refusing_api())
    result = await ActivityEnvironment().run(mail.send_crisis_mail, crisis_mail("opsgenie"))
    assert result.channel == "smtp"
    assert result.fallback_reason is not None and "401" in result.fallback_reason
    assert len(sink.messages) == 1


async def test_every_channel_refusing_is_a_final_error_naming_each() -> None:
    with MailSink(port=free_port(), refuse=frozenset({"im@example.com"})) as refusing:
        mail = MailActivities(smtp(refusing), RENDERER, alerts=refusing_api())
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(mail.send_crisis_mail, crisis_mail("auto"))
    assert caught.value.non_retryable
    assert "opsgenie:" in caught.value.message and "smtp:" in caught.value.message


async def test_every_channel_down_is_retried_later(sink: MailSink) -> None:
    mail = MailActivities(unreachable(), RENDERER, relay=unreachable())
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(mail.send_crisis_mail, crisis_mail("relay"))
    assert not caught.value.non_retryable


def _policy_with_channel(config_dir: Path, channel: str) -> None:
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    assert 'alternate_channel = "auto"' in text
    line = f'alternate_channel = "{channel}"'
    path.write_text(text.replace('alternate_channel = "auto"', line), encoding="utf-8")


@pytest.mark.parametrize(
    ("channel", "missing"), [("relay", "VIGIE_ALT_SMTP_HOST"), ("opsgenie", "API_KEY")]
)
async def test_worker_refuses_a_channel_that_cannot_work(
    config_dir: Path, settings: Settings, channel: str, missing: str
) -> None:
    _policy_with_channel(config_dir, channel)
    client = await Client.connect("127.0.0.1:1", lazy=True)
    with pytest.raises(ConfigError, match=missing):
        build_worker(client, settings)


def test_a_crisis_mail_is_dated_when_the_crisis_queued_it() -> None:
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    queued = datetime(2026, 11, 30, 15, 53, 35, tzinfo=UTC)
    mail = crisis_mail().mail.model_copy(update={"at": queued})
    message = RENDERER.render_crisis(CrisisMailInput(crisis_id="crisis-7", mail=mail))
    assert parsedate_to_datetime(message["Date"]) == queued
    before = datetime.now(UTC).replace(microsecond=0)  # a mail queued before mails had a time
    undated = RENDERER.render_crisis(crisis_mail())
    assert parsedate_to_datetime(undated["Date"]) >= before


async def test_an_alert_for_a_drill_pages_low_and_its_message_ends_between_words(
    sink: MailSink,
) -> None:
    standin = OpsgenieStandIn()
    mail = MailActivities(smtp(sink), RENDERER, relay=unreachable(), alerts=standin_api(standin))
    subject = "Messagerie Exchange indisponible pour tous les utilisateurs du siège " * 3
    drill = crisis_mail("opsgenie")
    drill.mail = drill.mail.model_copy(update={"subject": subject, "drill": True})
    await ActivityEnvironment().run(mail.send_crisis_mail, drill)
    alert = standin.find("crisis-7.3", "alias")
    assert alert is not None and alert["priority"] == "P5" and "drill" in alert["tags"]
    message = alert["message"]
    assert len(message) <= 130 and message.endswith("…"), message
    assert message.startswith("EXERCICE") and message[:-1].split()[-1] in subject.split()
    real = crisis_mail("opsgenie")
    real.mail = real.mail.model_copy(update={"key": "crisis-7.4"})
    await ActivityEnvironment().run(mail.send_crisis_mail, real)
    alert = standin.find("crisis-7.4", "alias")
    assert alert is not None and alert["priority"] == "P1" and "drill" not in alert["tags"]
    assert alert["message"].endswith("Exchange down")  # whole when it fits


async def test_the_dev_standin_keeps_its_alerts_across_a_restart(tmp_path: Path) -> None:
    """`vigie dev` stopped and started again: incidents still open find their alerts."""
    kept = tmp_path / "opsgenie-alerts.json"
    before = OpsgenieStandIn(state_file=kept)
    await standin_api(before).create_alert({"message": "Checkout down", "alias": "incident-1"})
    after = OpsgenieStandIn(state_file=kept)
    alert = after.find("incident-1", "alias")
    assert alert is not None and alert["message"] == "Checkout down"
    await standin_api(after).create_alert({"message": "Second", "alias": "incident-2"})
    second = after.find("incident-2", "alias")
    assert second is not None and int(second["tinyId"]) == int(alert["tinyId"]) + 1


def test_the_conference_line_follows_the_typography_of_the_mails_language() -> None:
    from workflows.crisis_models import Conference

    call = Conference(provider="jitsi", url="https://meet.jit.si/crisis-7-x")
    for language, line in (
        ("fr", "Conférence (jitsi) : https://meet.jit.si/crisis-7-x"),
        ("en", "Conference (jitsi): https://meet.jit.si/crisis-7-x"),
    ):
        mail = crisis_mail().mail.model_copy(update={"language": language})
        message = RENDERER.render_crisis(
            CrisisMailInput(crisis_id="crisis-7", mail=mail, conference=call)
        )
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert line in text.splitlines(), text


def test_an_english_drill_mail_says_drill_first() -> None:
    """The crisis puts its drill line first (workflows.crisis); in English it reads so."""
    notice = render("line.drill", {}, "en", "UTC")
    mail = crisis_mail().mail.model_copy(
        update={"drill": True, "language": "en", "lines": [notice, "Level 1"]}
    )
    message = RENDERER.render_crisis(CrisisMailInput(crisis_id="crisis-7", mail=mail))
    assert str(message["Subject"]).startswith("DRILL — [crisis-7] ")
    body = message.get_body(("plain",))
    assert body is not None
    assert str(body.get_content()).split("\n")[:3] == [
        "Managerial escalation",
        "",
        "DRILL: this message is part of a crisis drill, not a real crisis.",
    ]
