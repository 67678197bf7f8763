"""A new workflow records one patch marker, the baseline, which stands for every behaviour
change made before it; workflows started before it replay on their own markers
(``test_replay.py``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import PayloadConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PatchActivationInput

from starters.dev.smtp_sink import MailSink
from tests.conftest import free_port
from tests.helpers import on_a_business_morning, open_incident, status_when
from tests.test_replay import replay
from workers.settings import Settings
from workers.worker import baseline_gate, build_worker
from workflows import reads, versions
from workflows.incident import IncidentWorkflow
from workflows.models import (
    AcknowledgeInput,
    IncidentView,
    QualifyP1Input,
    ResolveInput,
    WorklogInput,
)

# A baseline never changes once workflows carry its marker: a patch added to it later would
# read as in force while replaying workflows that ran without it. A new baseline gets a new id.
FROZEN = {
    "baseline-2026-12": {
        "bounded-continue-as-new", "cancel-as-operation", "chat-channels",
        "confirmed-p1-status", "continue-as-new-without-outbox", "crisis-asks-who-is-on-call",
        "crisis-child", "crisis-continue-as-new", "crisis-follows-incident", "crisis-ledger",
        "crisis-search-attributes", "deadline-wake-early", "delivery-in-rounds",
        "failures-told-once",
        "incident-ledger", "incident-tells-crisis", "incident-tells-failures", "input-limits",
        "next-due-attribute", "opsgenie-alert-mirror", "p1-pages-on-call",
    },
}  # fmt: skip
FROZEN["baseline-2026-12-02"] = FROZEN["baseline-2026-12"] | {
    "addresses-sendable",
    "all-own-kinds-reserved",
    "breach-voided-told",
    "cell-chat-after-call",
    "class-mirrored-as-changed",
    "create-after-close-completes",
    "create-after-close-sets-class",
    "crisis-alerts-closed",
    "crisis-cancel-told",
    "crisis-end-after-close-kept",
    "crisis-failure-told",
    "crisis-t0-at-start",
    "defaulted-level-asked",
    "drp-decision-kept-at-close",
    "drp-decision-settles-action-plan",
    "drp-not-activated-mailed",
    "escalate-refused-at-last-level",
    "escalation-joins-cell",
    "escalations-merged-per-pass",
    "incident-ended-told",
    "incident-news-dated-in-crisis",
    "late-create-completes",
    "late-opening-caught-up",
    "late-own-priority-undone",
    "latest-validation-stands",
    "ledger-refused-once",
    "ledger-writes-on-change",
    "mail-state-at-event",
    "major-qualified-once",
    "member-added-once",
    "no-page-when-ended",
    "no-warning-with-its-breach",
    "not-json-signals-refused",
    "opsgenie-priority-settles",
    "own-kinds-reserved",
    "own-priority-echo-ignored",
    "rex-reminders-in-business-hours",
    "stale-opsgenie-priority-refused",
    "start-addresses-sendable",
    "start-input-limits",
    "start-input-misspelt-field",
    "t0-handed-on",
    "t0-in-memo",
    "tagged-level-only-when-asked",
    "task-priority-follows-class",
    "ticket-at-start",
    "unknown-signals-refused",
    "unusable-requesters-told",
    "update-ids-kept-through-bursts",
}


def test_the_baselines_are_frozen() -> None:
    assert versions.BASELINES == FROZEN
    assert list(versions.BASELINES) == [versions.BASELINE, versions.BASELINE_2]  # oldest first


async def patch_markers(handle: WorkflowHandle[object, object]) -> list[str]:
    history = await handle.fetch_history()
    converter = PayloadConverter.default
    found = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            if marker.marker_name == "core_local_activity":  # a policy or matrix read
                continue
            assert marker.marker_name == "core_patch", marker.marker_name  # no other marker
            found.append(
                str(converter.from_payloads(marker.details["patch-data"].payloads)[0]["id"])
            )
    return found


def test_every_patch_goes_through_the_baseline() -> None:
    """A patch the baseline stands for, checked with ``workflow.patched`` directly, would add
    its own marker to every new workflow again."""
    workflows = Path(versions.__file__).parent
    direct = [
        f"{path.name}:{n}"
        for path in sorted(workflows.glob("*.py"))
        if path.name != "versions.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "workflow.patched(" in line
    ]
    assert direct == []


def test_patches_since_the_baseline_are_listed() -> None:
    assert reads.LOCAL_READS in versions.WITHDRAWN
    listed = versions.BASELINE_2_PATCHES | {*versions.SINCE_BASELINE} | versions.WITHDRAWN
    workflows = Path(versions.__file__).parent
    used = {
        match
        for path in workflows.glob("*.py")
        for match in re.findall(r'^PATCH_\w+ = "([\w-]+)"', path.read_text(), re.M)
    }
    assert used and used <= listed, used - listed
    assert versions.BASELINE_PATCHES < versions.BASELINE_2_PATCHES
    assert not versions.BASELINE_2_PATCHES & ({*versions.SINCE_BASELINE} | versions.WITHDRAWN)


def test_the_watch_and_the_review_keep_their_patches_out_of_the_baselines() -> None:
    """They do not call ``begin()``: a baseline asked mid-run would turn on every other patch
    it stands for from there on."""
    workflows = Path(versions.__file__).parent
    for name in ("oncall_readiness.py", "service_review.py"):
        text = (workflows / name).read_text(encoding="utf-8")
        assert "versions.begin()" not in text
        ids = re.findall(r'^PATCH_\w+ = "([\w-]+)"', text, re.M)
        assert ids and not {*ids} & versions.BASELINE_2_PATCHES, (name, ids)


def test_a_new_workflow_takes_the_baseline_named_and_never_a_withdrawn_patch() -> None:
    info = cast(workflow.Info, None)

    def taken(write: str | None) -> set[str]:
        gate = baseline_gate(write)
        asked = [*versions.BASELINES, reads.LOCAL_READS, "ledger-writes-on-change"]
        return {p for p in asked if gate(PatchActivationInput(workflow_info=info, patch_id=p))}

    assert taken(None) == {"ledger-writes-on-change"}
    assert taken(versions.BASELINE) == {versions.BASELINE, "ledger-writes-on-change"}
    assert taken(versions.BASELINE_2) == {versions.BASELINE_2, "ledger-writes-on-change"}


async def run_an_incident_and_its_crisis(
    client: Client, settings: Settings
) -> tuple[WorkflowHandle[object, object], WorkflowHandle[object, object]]:
    """A P1 whose requester's mails are refused (failures told to the incident manager), that
    becomes a crisis and is resolved."""
    handle = await open_incident(
        client, settings.task_queue, priority="P1", requesters=["gone@example.org"]
    )
    await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
    done, crisis_id = await to_a_crisis_then_resolved(handle)
    assert any(e.kind == "mail_failed" for e in done.timeline)
    return handle, client.get_workflow_handle(crisis_id)


async def to_a_crisis_then_resolved(handle: WorkflowHandle[Any, Any]) -> tuple[IncidentView, str]:
    """An acknowledged P1 worked, qualified major (its crisis starts) and resolved, its mails
    sent: its view then, and its crisis's id."""
    await handle.execute_update(
        IncidentWorkflow.add_worklog, WorklogInput(by="alice", text="failing over")
    )
    await handle.execute_update(
        IncidentWorkflow.qualify_p1, QualifyP1Input(by="alice", verdict="major")
    )
    view = await status_when(handle, lambda v: v.crisis_id is not None)
    await handle.execute_update(
        IncidentWorkflow.resolve, ResolveInput(by="alice", resolution="failed over")
    )
    done = await status_when(handle, lambda v: v.status == "resolved" and v.mails_pending == 0)
    assert view.crisis_id is not None
    return done, view.crisis_id


async def markers_of_an_incident_and_its_crisis(
    env: WorkflowEnvironment, settings: Settings, *, baseline: str | None
) -> tuple[list[str], list[str]]:
    """The patch markers of ``run_an_incident_and_its_crisis`` on a worker with or without
    ``VIGIE_PATCH_BASELINE``."""
    await on_a_business_morning(env)
    with MailSink(port=free_port(), refuse=frozenset({"gone@example.org"})) as sink:
        cfg = settings.model_copy(update={"smtp_port": sink.port, "patch_baseline": baseline})
        async with build_worker(env.client, cfg):
            incident, crisis = await run_an_incident_and_its_crisis(env.client, cfg)
            return await patch_markers(incident), await patch_markers(crisis)


async def test_a_new_incident_and_its_crisis_record_the_baseline_and_later_patches(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    markers = await markers_of_an_incident_and_its_crisis(
        skipping_env, settings, baseline=versions.BASELINE
    )
    incident, crisis = markers
    assert incident == [versions.BASELINE, "ledger-writes-on-change", "mail-state-at-event"]
    assert crisis == [versions.BASELINE, "ledger-refused-once", "t0-in-memo"]
    # An incident keeps its T0 in its memo when back-dated or continued as new
    # (tests/test_cli.py), the crisis always.
    # The key following the class is checked when the class changes, and this P1 keeps its
    # own: tests/test_task_priorities.py sees its marker.
    # A cancellation, a second qualification, news dated outside the crisis are checked when
    # one comes: tests/test_crisis_cancel.py and tests/test_crisis_follows_incident.py.
    lazy = {"task-priority-follows-class", "crisis-cancel-told", "major-qualified-once",
            "incident-news-dated-in-crisis", "cell-chat-after-call",
            "escalate-refused-at-last-level", "drp-not-activated-mailed",
            "latest-validation-stands", "incident-ended-told",
            "crisis-failure-told", "drp-decision-settles-action-plan",
            "escalation-joins-cell", "no-warning-with-its-breach",
            "late-create-completes", "t0-handed-on", "ticket-at-start",
            "crisis-t0-at-start", "rex-reminders-in-business-hours",
            "crisis-alerts-closed", "unknown-signals-refused",
            "member-added-once", "defaulted-level-asked",
            "unusable-requesters-told", "late-opening-caught-up",
            "no-page-when-ended", "own-priority-echo-ignored",
            "create-after-close-completes", "breach-voided-told",
            "drp-decision-kept-at-close", "stale-opsgenie-priority-refused",
            "escalations-merged-per-pass", "class-mirrored-as-changed",
            "start-input-limits", "opsgenie-priority-settles",
            "create-after-close-sets-class", "late-own-priority-undone",
            "crisis-end-after-close-kept", "own-kinds-reserved",
            "tagged-level-only-when-asked", "update-ids-kept-through-bursts",
            "start-input-misspelt-field", "all-own-kinds-reserved",
            "addresses-sendable", "start-addresses-sendable",
            "not-json-signals-refused"}  # fmt: skip
    readiness = {"readiness-mail-per-watch"}  # the on-call readiness watch's own
    # The service review's: when a review did not go out, when its input has a key unknown.
    review = {"review-failures-told", "review-unknown-keys-refused"}
    since = versions.BASELINE_2_PATCHES - versions.BASELINE_PATCHES
    assert {*incident, *crisis} == {versions.BASELINE, *since} - lazy
    assert not (readiness | review) & versions.BASELINE_2_PATCHES
    assert readiness | review == {*versions.SINCE_BASELINE}


async def test_under_the_second_baseline_a_new_incident_and_its_crisis_record_one_marker(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    incident, crisis = await markers_of_an_incident_and_its_crisis(
        skipping_env, settings, baseline=versions.BASELINE_2
    )
    assert incident == [versions.BASELINE_2]
    assert crisis == [versions.BASELINE_2]


async def test_without_the_setting_each_patch_records_its_marker(
    skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """As a worker of an older release expects: the baseline is read, not written."""
    assert settings.patch_baseline is None  # the default
    incident, crisis = await markers_of_an_incident_and_its_crisis(
        skipping_env, settings, baseline=None
    )
    for markers in (incident, crisis):
        assert not {*markers} & {*versions.BASELINES}
        assert len(markers) == len(set(markers)) >= 5, markers
        assert set(markers) <= versions.BASELINE_2_PATCHES
    assert "failures-told-once" in incident


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("true", "baseline-2026-12"),  # as the release that brought the setting wrote
        ("Y", "baseline-2026-12"),  # as a boolean setting read it
        ("false", None),
        ("n", None),
        ("", None),
        ("baseline-2026-12", "baseline-2026-12"),
        (" Baseline-2026-12-02 ", "baseline-2026-12-02"),
    ],
)
def test_the_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, typed: str, read: str | None
) -> None:
    assert Settings().patch_baseline is None
    monkeypatch.setenv("VIGIE_PATCH_BASELINE", typed)
    assert Settings().patch_baseline == read


def test_an_unknown_baseline_is_refused_naming_the_known_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIE_PATCH_BASELINE", "baseline-2027-01")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "baseline-2026-12, baseline-2026-12-02" in str(caught.value)


@pytest.mark.parametrize("first", [versions.BASELINE, None])
async def test_a_running_incident_taken_over_by_a_worker_writing_the_second_baseline(
    skipping_env: WorkflowEnvironment, settings: Settings, first: str | None, tmp_path: Path
) -> None:
    """A rolling switch of the setting: an incident started under the first baseline (or none)
    and carried on by a worker writing the second keeps its own markers, adding each later
    patch on its own, never the second baseline mid-run (which would switch on at once every
    patch it stands for); the crisis it then opens is a new workflow, under the second."""
    await on_a_business_morning(skipping_env)
    with MailSink(port=free_port()) as sink:
        old = settings.model_copy(
            update={"smtp_port": sink.port, "patch_baseline": first, "max_cached_workflows": 0}
        )  # nothing cached: the next worker replays the incident
        new = old.model_copy(update={"patch_baseline": versions.BASELINE_2})
        async with build_worker(skipping_env.client, old):
            handle = await open_incident(skipping_env.client, old.task_queue, priority="P1")
            await handle.execute_update(IncidentWorkflow.acknowledge, AcknowledgeInput(by="alice"))
            await status_when(handle, lambda v: v.mails_pending == 0)  # nothing left in flight
        before = await patch_markers(handle)
        async with build_worker(skipping_env.client, new):
            await handle.signal("add-worklog", {"by": "alice", "text": "typo"})  # a name unknown
            _, crisis_id = await to_a_crisis_then_resolved(handle)
            after = await patch_markers(handle)
            child = skipping_env.client.get_workflow_handle(crisis_id)
            for _ in range(100):  # its first task done
                if crisis := await patch_markers(child):
                    break
                await asyncio.sleep(0.1)
    assert after[: len(before)] == before and len(after) > len(before), (before, after)
    assert versions.BASELINE_2 not in after
    assert crisis == [versions.BASELINE_2]
    path = tmp_path / f"{handle.id}.json"  # the replay reads the workflow id from its name
    path.write_text((await handle.fetch_history()).to_json())
    await replay(path)


async def test_the_watch_and_the_review_never_ask_for_a_baseline(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What they ask for as they run (through every helper they call), not only the patches
    their modules define: a baseline asked mid-run would switch on all it stands for."""
    from activities.ledger.store import Ledger
    from starters.dev.opsgenie_standin import OpsgenieStandIn
    from tests.test_incident_on_call import standin_api
    from tests.test_oncall_readiness import SCHEDULE, start, two_days_before_a_cycle
    from tests.test_report import fill
    from tests.test_service_review import review
    from workflows.service_review import ServiceReviewInput

    asked: list[tuple[str, str]] = []
    patched = workflow.patched

    def recorded(patch_id: str) -> bool:
        asked.append((workflow.info().workflow_type, patch_id))
        return patched(patch_id)

    monkeypatch.setattr(workflow, "patched", recorded)
    cfg = settings.model_copy(update={"patch_baseline": versions.BASELINE_2})
    standin = OpsgenieStandIn(schedules={SCHEDULE: ["ann@example.com"]})
    await two_days_before_a_cycle(skipping_env)
    async with build_worker(skipping_env.client, cfg, alert_api=standin_api(standin)):
        await (await start(skipping_env, cfg)).result()
        fill(Ledger(cfg.database_url.get_secret_value()))
        result = await review(skipping_env, cfg, ServiceReviewInput(month="2026-11"))
    assert result.sent  # it ran through to its mails
    kinds = {kind for kind, _ in asked}
    assert "OnCallReadinessWorkflow" in kinds, asked  # the recorder sees what they ask
    assert not {patch for _, patch in asked} & {*versions.BASELINES}, asked
