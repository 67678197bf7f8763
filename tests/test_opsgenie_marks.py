"""The marks Vigie leaves on alerts: one definition shared by the workflow and the webhook."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

from activities.providers.opsgenie import marks
from activities.providers.opsgenie.mapping import OpsgenieMapping
from activities.providers.opsgenie.webhook_events import WebhookEvent, plan
from workflows.models import IncidentStatusName

ROOT = Path(__file__).resolve().parent.parent
MAPPING = OpsgenieMapping(default_service_level="bronze")


def event(action: str, **alert: object) -> WebhookEvent:
    return WebhookEvent.model_validate(
        {"action": action, "alert": {"alertId": "a-1", "username": "ann", **alert}}
    )


def test_every_tag_vigie_writes_is_known_as_its_own() -> None:
    written = [marks.TAG, marks.BREACHED_TAG]
    written += [marks.status_tag(s) for s in typing.get_args(IncidentStatusName)]
    written += [marks.service_level_tag(level) for level in marks.SERVICE_LEVELS]
    assert marks.status_tag("in_progress") == "vigie:in_progress"
    assert marks.service_level_tag("gold") == "sl:gold"
    assert all(marks.is_own_tag(tag) for tag in written), written
    for tag in ("vigilant", "sl:platinum", "customer-vigie", "Vigie", "sl:", "xvigie:open"):
        assert not marks.is_own_tag(tag), tag


@pytest.mark.parametrize(
    ("note", "own"),
    [("[vigie] worklog: restarted", True), (marks.NOTE_MARK, True), ("[Vigie] hi", False),
     ("restarted [vigie]", False), ("", False), (None, False)],
)  # fmt: skip
def test_own_notes_are_those_that_start_with_the_mark(note: str | None, own: bool) -> None:
    assert marks.is_own_note(note) is own


def test_webhook_ignores_what_vigie_wrote_and_takes_the_rest() -> None:
    echo = plan(event("AddNote", note=f"{marks.NOTE_MARK} resolved: done"), MAPPING)
    assert echo.kind == "ignore" and echo.reason == "note written by Vigie"
    assert plan(event("AddNote", note="restarted the pod"), MAPPING).operation == "add_worklog"

    tags = [marks.status_tag("pending"), marks.BREACHED_TAG, marks.service_level_tag("gold")]
    echo = plan(event("AddTags", addedTags=tags), MAPPING)
    assert echo.kind == "ignore" and echo.reason == "tags kept by Vigie"
    # A person naming the service level in Opsgenie (the tag alone): the incident takes it.
    named = plan(event("AddTags", addedTags=[marks.service_level_tag("gold")]), MAPPING)
    assert (named.kind, named.operation) == ("signal", "recategorize")
    assert named.input is not None and named.input.service_level == "gold"  # type: ignore[attr-defined]
    assert named.start is None  # a tag opens no incident
    batch = plan(event("AddTags", addedTags=[marks.service_level_tag("gold"), "db"]), MAPPING)
    assert batch.operation == "record_event"  # with other tags: recorded, as any tags
    two = [marks.service_level_tag("gold"), marks.service_level_tag("silver")]
    assert plan(event("AddTags", addedTags=two), MAPPING).operation == "record_event"
    same = [marks.service_level_tag("gold"), "SL:Gold"]  # one level, written twice
    assert plan(event("AddTags", addedTags=same), MAPPING).operation == "recategorize"
    mixed = plan(event("RemoveTags", removedTags=[marks.status_tag("open"), "db"]), MAPPING)
    assert mixed.kind == "signal" and mixed.operation == "record_event"

    assert plan(event("Acknowledge"), MAPPING).operation == "acknowledge"
    assert plan(
        WebhookEvent.model_validate(
            {"action": "Acknowledge", "alert": {"alertId": "a-1"},
             "source": {"name": marks.OWN_SOURCE}}
        ),
        MAPPING,
    ).kind == "ignore"  # fmt: skip


def test_marks_load_without_the_rest_client_and_the_package_still_exports_it() -> None:
    probe = (
        "import sys\n"
        "from activities.providers.opsgenie.marks import NOTE_MARK, status_tag\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore'))\n"
        "assert not loaded, loaded\n"
        "assert 'activities.providers.opsgenie.client' not in sys.modules\n"
        "from activities.providers.opsgenie import (\n"
        "    OpsgenieApi, OpsgenieConfig, OpsgenieError, OpsgenieUnavailable, default_base_url)\n"
        "from activities.providers.opsgenie import client\n"
        "assert OpsgenieApi is client.OpsgenieApi\n"
        "assert default_base_url('jsm') == client.JSM_OPERATIONS\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
