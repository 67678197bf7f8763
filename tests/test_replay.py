"""Stored histories replay on the current workflow code (determinism check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from workers.converter import DATA_CONVERTER
from workers.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_stored() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "incident_lifecycle",
        "incident_breach",
        # recorded before the alert mirror existed: replays without it (workflow.patched)
        "incident_lifecycle_before_alert_mirror",
        "incident_breach_before_alert_mirror",
        "incident_lifecycle_before_crisis",
        "crisis",
        # recorded with the crisis following its incident, confirmed-P1 status mails,
        # on-call paging and bounded inputs
        "incident_lifecycle_2026_11",
        "incident_breach_2026_11",
        "crisis_2026_11",
        # a crisis restored before its DRP decision, started before the crisis followed
        # its incident: replays with the DRP reminder and escalation it had
        "crisis_restored_without_drp_before_trust",
        # recorded with the next deadline and the crisis published as search attributes
        "incident_lifecycle_2026_11b",
        "incident_breach_2026_11b",
        "crisis_2026_11b",
        # recorded on the dev server (tests.record_dev_histories): an incident driven by
        # Opsgenie webhook events that starts and signals its crisis child, that child, and
        # both runs of an incident that continued as new
        "incident_opsgenie_major_2026_11b",
        "crisis_child_2026_11b",
        "incident_continued_first_2026_11b",
        "incident_continued_second_2026_11b",
        # recorded with customers and on-call readiness in the policy, and a readiness watch
        "incident_lifecycle_2026_12",
        "incident_breach_2026_12",
        "crisis_2026_12",
        "oncall_readiness_2026_12",
        # recorded with crises continuing as new, chat channels, and a crisis asking the
        # on-call schedule who to page (both recorders)
        "incident_lifecycle_2026_11c",
        "incident_breach_2026_11c",
        "crisis_2026_11c",
        "oncall_readiness_2026_11c",
        "incident_opsgenie_major_2026_11c",
        "crisis_child_2026_11c",
        "incident_continued_first_2026_11c",
        "incident_continued_second_2026_11c",
        # recorded just before sends went in rounds of attempts: replay with Temporal's
        # retries alone
        "incident_lifecycle_before_retry_rounds",
        "incident_breach_before_retry_rounds",
        "crisis_before_retry_rounds",
        # sends in rounds of attempts; a mail and an alert change failing for a while
        "incident_lifecycle_delivery_rounds",
        "incident_breach_delivery_rounds",
        "crisis_delivery_rounds",
        "incident_delivery_trouble_delivery_rounds",
        # status answers and continue-as-new bounded in bytes; a run that continues as new
        "incident_lifecycle_bounded_carry",
        "incident_breach_bounded_carry",
        "crisis_bounded_carry",
        "incident_delivery_trouble_bounded_carry",
        "incident_continued_bounded_carry",
        # recorded with all of the above together: ledger writes, sends in rounds, bounded
        # continue-as-new, Updates applied once (both recorders)
        "incident_lifecycle_2026_11d",
        "incident_breach_2026_11d",
        "crisis_2026_11d",
        "oncall_readiness_2026_11d",
        "incident_delivery_trouble_2026_11d",
        "incident_continued_2026_11d",
        "incident_opsgenie_major_2026_11d",
        "crisis_child_2026_11d",
        "incident_continued_first_2026_11d",
        # recorded with a mail or an alert change failing for good told to the incident
        # manager (both recorders)
        "incident_lifecycle_tell_failures",
        "incident_breach_tell_failures",
        "crisis_tell_failures",
        "oncall_readiness_tell_failures",
        "incident_delivery_trouble_tell_failures",
        "incident_continued_tell_failures",
        "incident_opsgenie_major_tell_failures",
        "crisis_child_tell_failures",
        "incident_continued_first_tell_failures",
        "incident_continued_second_tell_failures",
        "incident_failed_for_good_tell_failures",  # each failure told, before once per streak
        # recorded under the first baseline: one patch marker for every change before it
        "incident_lifecycle_baseline_2026_12",
        "incident_breach_baseline_2026_12",
        "crisis_baseline_2026_12",
        "oncall_readiness_baseline_2026_12",
        "incident_delivery_trouble_baseline_2026_12",
        "incident_continued_baseline_2026_12",
        "incident_failed_for_good_baseline_2026_12",
        "incident_opsgenie_major_baseline_2026_12",
        "crisis_child_baseline_2026_12",
        "incident_continued_first_baseline_2026_12",
        "incident_continued_second_baseline_2026_12",
        # the policy and the matrix read by local activities, under the baseline and without
        "incident_lifecycle_local_reads",
        "incident_breach_local_reads",
        "crisis_local_reads",
        "oncall_readiness_local_reads",
        "incident_delivery_trouble_local_reads",
        "incident_continued_local_reads",
        "incident_failed_for_good_local_reads",
        "incident_opsgenie_major_local_reads",
        "crisis_child_local_reads",
        "incident_continued_first_local_reads",
        "incident_continued_second_local_reads",
        "incident_lifecycle_local_reads_each",
        "incident_breach_local_reads_each",
        "crisis_local_reads_each",
        "oncall_readiness_local_reads_each",
        "incident_delivery_trouble_local_reads_each",
        "incident_continued_local_reads_each",
        "incident_failed_for_good_local_reads_each",
        # each activation's jobs applied as one batch (workflow logic flag 2, the SDK's
        # coming default), recorded when it was tried, before the senders waited on through a
        # cancellation
        "incident_lifecycle_single_batch",
        "incident_breach_single_batch",
        "crisis_single_batch",
        "oncall_readiness_single_batch",
        "incident_delivery_trouble_single_batch",
        "incident_continued_single_batch",
        "incident_failed_for_good_single_batch",
        "incident_opsgenie_major_single_batch",
        "crisis_child_single_batch",
        "incident_continued_first_single_batch",
        "incident_continued_second_single_batch",
        # each activation's jobs applied as one batch, as workers now do; the two cold ones
        # hold tasks that started cold with an activity result and an Update in one
        # activation, which the replay gets in two; the two cancelled ones fail to replay
        # if a sender's condition wait ends with the workflow's cancellation
        "incident_lifecycle_one_batch",
        "incident_breach_one_batch",
        "crisis_one_batch",
        "oncall_readiness_one_batch",
        "incident_delivery_trouble_one_batch",
        "incident_continued_one_batch",
        "incident_failed_for_good_one_batch",
        "incident_opsgenie_major_one_batch",
        "crisis_child_one_batch",
        "incident_continued_first_one_batch",
        "incident_continued_second_one_batch",
        "incident_cold_a_one_batch",
        "incident_cold_b_one_batch",
        "incident_cancelled_one_batch",
        "crisis_cancelled_one_batch",
        # activities and the crisis child scheduled with task queue priority keys; the
        # code before them replays these as well (a key is not compared on replay)
        "incident_lifecycle_priorities",
        "incident_breach_priorities",
        "crisis_priorities",
        "oncall_readiness_priorities",
        "incident_delivery_trouble_priorities",
        "incident_continued_priorities",
        "incident_failed_for_good_priorities",
        "incident_opsgenie_major_priorities",
        "crisis_child_priorities",
        "incident_continued_first_priorities",
        "incident_continued_second_priorities",
        "incident_cold_a_priorities",
        "incident_cold_b_priorities",
        "incident_cancelled_priorities",
        "crisis_cancelled_priorities",
        # the ledger written only when the incident recorded something new
        "incident_lifecycle_ledger_on_change",
        "incident_breach_ledger_on_change",
        "crisis_ledger_on_change",
        "oncall_readiness_ledger_on_change",
        "incident_delivery_trouble_ledger_on_change",
        "incident_continued_ledger_on_change",
        "incident_failed_for_good_ledger_on_change",
        "incident_opsgenie_major_ledger_on_change",
        "crisis_child_ledger_on_change",
        "incident_continued_first_ledger_on_change",
        "incident_continued_second_ledger_on_change",
        "incident_cold_a_ledger_on_change",
        "incident_cold_b_ledger_on_change",
        "incident_cancelled_ledger_on_change",
        "crisis_cancelled_ledger_on_change",
        # a crisis's ledger writer does not send refused facts again unchanged
        "incident_lifecycle_refused_once",
        "incident_breach_refused_once",
        "crisis_refused_once",
        "oncall_readiness_refused_once",
        "incident_delivery_trouble_refused_once",
        "incident_continued_refused_once",
        "incident_failed_for_good_refused_once",
        "incident_opsgenie_major_refused_once",
        "crisis_child_refused_once",
        "incident_continued_first_refused_once",
        "incident_continued_second_refused_once",
        "incident_cold_a_refused_once",
        "incident_cold_b_refused_once",
        "incident_cancelled_refused_once",
        "crisis_cancelled_refused_once",
        # an incident made a P1 and then not confirmed: its task queue key follows its
        # class, refused by the time-skipping server, taken by the dev server
        "incident_recategorized_class_keys",
        "incident_recategorized_dev_class_keys",
        # mails that show the incident as it was at their event, queued with it: a lifecycle,
        # mails held by a failing server, an outbox carried into the next run
        "incident_lifecycle_mail_moment",
        "incident_delivery_trouble_mail_moment",
        "incident_continued_mail_moment",
        # a crisis cancelled while active (its status published) and once closed (recorded,
        # no mail to the cell)
        "crisis_cancelled_cancel_told",
        "crisis_cancelled_closed_cancel_told",
        # an alert acknowledged before its Create came: the Create fills the incident in
        "incident_late_create_late_create",
        # an on-call readiness watch whose mails carry its own Message-IDs
        "oncall_readiness_per_watch",
        # a crisis through the operators' edge cases: a validation withdrawn, the DRP not
        # triggered, an escalation past the last level, news dated before T0
        "crisis_operator_edges",
        # the crisis of a major incident cancelled from Temporal: escalations for its
        # deadlines dropped, the pilots told
        "crisis_incident_cancelled_s2026_11_30",
        # the same crisis recorded by the code before: the incident's cancellation only
        # recorded, its escalations kept
        "crisis_incident_cancelled_before_told",
        # a major incident whose crisis could not start: the incident manager mailed
        "incident_crisis_start_failed_f2026_11_30",
        "incident_crisis_start_failed_before_told",  # the same, by the code before
        # a crisis whose DRP decision came after its T0+1 h 30 step: missed, then late
        "crisis_drp_late_d2026_11_30",
        # a crisis escalated twice at night: the ladder's contacts join the cell, the members
        # the levels add are told
        "crisis_night_escalations_e2026_11_30",
        # T0 kept in the memo: a crisis's from its first publication, a back-dated
        # incident's at its opening, and handed to the next run at a continue-as-new
        "crisis_t2026_11_30",
        "incident_back_dated_t2026_11_30",
        "incident_continued_h2026_11_30",
        # opened past both its deadlines: each breach told, no warning with it
        "incident_back_dated_w2026_11_30",
        "incident_back_dated_h2026_11_30",  # the breaches to the team too
        # an alert's Create after its Acknowledge: the service level it names set, its
        # requesters told of the incident
        "incident_late_create_c2026_11_30",
        # an incident no worker took at once: it counts from its start
        "incident_taken_late_l2026_11_30",
        # a crisis no worker took at once: its T0 is its start
        "crisis_taken_late_x2026_12_01",
        # a crisis opened while the matrix and policy files were broken: the last valid ones
        "crisis_under_last_valid_files_x2026_12_01",
        # a monthly review that could not go out to one customer: the managers are told
        "service_review_failed_x2026_12_01",
        # a crisis awaiting its REX: reminders at the next business opening
        "crisis_rex_in_hours_x2026_12_01",
        # a crisis of the mail system: the alerts that carried it closed when it closes
        "crisis_alerts_closed_x2026_12_01",
        # the same crisis under the code before: its alerts stay open, nothing more is asked
        "crisis_mail_down_closed_o2026_12_01",
        # a Signal under a name no operation has: recorded as refused
        "incident_lifecycle_v2026_12_01",
        # a crisis member added again by Signal: refused
        "crisis_member_once_x2026_12_01",
        # an incident at the default service level: the level asked for until named
        "incident_level_asked_a2026_12_01",
        # requesters that are no addresses: told at opening
        "incident_unusable_requesters_a2026_12_01",
        # a crisis opened 2 h 10 after T0, under the code before: each past step in turn
        "crisis_late_opening_o2026_12_01",
        # the same opening caught up: one escalation, the DRP decision counted from the cell
        "crisis_late_opening_x2026_12_01",
        # Opsgenie's echo of a priority Vigie set, then a person's change, under the code
        # before (the echo noted as changing nothing) and left out since
        "incident_priority_echo_o2026_12_01",
        "incident_priority_echo_x2026_12_01",
        # an alert's Create after its Close, under the code before (dropped) and since
        "incident_create_after_close_o2026_12_01",
        "incident_create_after_close_x2026_12_01",
        # a breach a new class undoes, under the code before (silent) and since (said)
        "incident_breach_voided_o2026_12_01",
        "incident_breach_voided_x2026_12_01",
        # a requester named again in another case by the alert's Create: decoded as sent
        "incident_requesters_cases_o2026_12_01",
        # a late crisis closed before its moved action plan, the DRP decided: before (not
        # applicable) and since (settled by the decision)
        "crisis_drp_at_close_o2026_12_01",
        "crisis_drp_at_close_x2026_12_01",
        # an Opsgenie priority change delivered after a later one: applied before, stale since
        "incident_stale_priority_o2026_12_01",
        "incident_stale_priority_x2026_12_01",
        # a crisis on time, the DRP undecided and the deadline at risk at T0+1 h 30: two
        # escalation mails in one pass before, one since
        "crisis_merged_o2026_12_01",
        "crisis_merged_x2026_12_01",
        # a service level changed in Vigie: the priority set again before, the level's tag
        # moved since
        "incident_level_changed_o2026_12_01",
        "incident_level_changed_x2026_12_01",
        # an incident started by hand with a title on two lines: opened before (a worker in
        # the SDK's sandbox decoded it), refused at once since
        "incident_start_over_limits_o2026_12_01",
        "incident_start_over_limits_x2026_12_01",
        # Opsgenie sets the priority the incident has, then an older change and the alert's
        # late Create come: the older P1 applied before, the P3 settled since
        "incident_priority_settles_o2026_12_01",
        "incident_priority_settles_x2026_12_01",
        # a Create naming a P1 gold after the Close that opened the incident resolved: the
        # class left as the defaults before, set since
        "incident_create_after_close_class_o2026_12_01",
        "incident_create_after_close_class_x2026_12_01",
        # Vigie's priority change held back past a later one made in Opsgenie: the alert left
        # off the incident's priority before, set back since
        "incident_priority_held_back_o2026_12_01",
        "incident_priority_held_back_x2026_12_01",
        # the crisis's end told to an incident closed but still sending: refused before,
        # recorded since
        "incident_crisis_end_after_close_o2026_12_01",
        "incident_crisis_end_after_close_x2026_12_01",
        # an event sent from outside under the kind "resolved": recorded before, refused since
        "incident_own_kind_recorded_o2026_12_01",
        "incident_own_kind_recorded_x2026_12_01",
        # the same with kind "worklog" too: recorded before, refused since
        "incident_own_kind_recorded_o2026_12_02",
        "incident_own_kind_recorded_x2026_12_02",
        # a level tag added in Opsgenie to an incident whose level is known: applied before,
        # noted since
        "incident_tagged_level_o2026_12_01",
        "incident_tagged_level_x2026_12_01",
        # 205 Updates in a run: the ids of the last 200 kept before, of the last 2,000 since
        "incident_update_burst_o2026_12_01",
        "incident_update_burst_x2026_12_01",
        # an incident started by hand with "prioirty": opened before, refused since
        "incident_start_misspelt_o2026_12_02",
        "incident_start_misspelt_x2026_12_02",
        # an address no mail can be sent to, in a run started by hand and in a Signal:
        # taken before (every mail with it failed), left out since
        "incident_start_unsendable_o2026_12_02",
        "incident_start_unsendable_x2026_12_02",
        "incident_signal_unsendable_o2026_12_02",
        "incident_signal_unsendable_x2026_12_02",
        # an add_worklog Signal that is no JSON the worker can read: dropped before,
        # recorded as refused since
        "incident_signal_not_json_o2026_12_02",
        "incident_signal_not_json_x2026_12_02",
        # recorded under the first baseline by the release before the second one
        "incident_lifecycle_baseline_o2026_12_02",
        "incident_breach_baseline_o2026_12_02",
        "crisis_baseline_o2026_12_02",
        "incident_continued_baseline_o2026_12_02",
        "incident_update_burst_baseline_o2026_12_02",
        # recorded under the second baseline (baseline-2026-12-02): one marker in every new
        # incident and crisis, for the first baseline and every change made since
        "crisis_baseline2_2026_12_02",
        "crisis_cancelled_baseline2_2026_12_02",
        "crisis_child_baseline2_2026_12_02",
        "crisis_incident_cancelled_baseline2_2026_12_02",
        "crisis_taken_late_baseline2_2026_12_02",
        "crisis_under_last_valid_files_baseline2_2026_12_02",
        "incident_breach_baseline2_2026_12_02",
        "incident_cancelled_baseline2_2026_12_02",
        "incident_cold_a_baseline2_2026_12_02",
        "incident_cold_b_baseline2_2026_12_02",
        "incident_continued_baseline2_2026_12_02",
        "incident_continued_first_baseline2_2026_12_02",
        "incident_continued_second_baseline2_2026_12_02",
        "incident_crisis_start_failed_baseline2_2026_12_02",
        "incident_delivery_trouble_baseline2_2026_12_02",
        "incident_failed_for_good_baseline2_2026_12_02",
        "incident_late_create_baseline2_2026_12_02",
        "incident_lifecycle_baseline2_2026_12_02",
        "incident_opsgenie_major_baseline2_2026_12_02",
        "incident_recategorized_dev_baseline2_2026_12_02",
        "incident_signal_not_json_baseline2_2026_12_02",
        "incident_start_misspelt_baseline2_2026_12_02",
        "incident_taken_late_baseline2_2026_12_02",
        "incident_update_burst_baseline2_2026_12_02",
        "oncall_readiness_baseline2_2026_12_02",
    }


async def replay(path: Path, **options: Any) -> None:
    text = path.read_text()
    workflow_id = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"].get(
        "workflowId", path.stem
    )
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER, **options)
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(workflow_id, text), raise_on_replay_failure=True
    )
    assert result.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replay(path: Path) -> None:
    await replay(path)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replay_without_the_sandbox(path: Path) -> None:
    """As workers run by default (``VIGIE_WORKFLOW_SANDBOX=off``): outside the SDK's sandbox,
    code such as payload decoding sees no workflow context, and must decide the same."""
    await replay(path, workflow_runner=UnsandboxedWorkflowRunner())
