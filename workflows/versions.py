"""Behaviour changes behind ``workflow.patched``, and the baselines that stand for them.

Every change to workflow code is behind a patch id, so that histories started by older code
still replay. Each patch records a marker (and the SDK an upsert of the
``TemporalChangeVersion`` search attribute) in every new workflow: seventy of them would be
most of a new incident's history. A new workflow can record one marker instead, a baseline,
which stands for every patch in its list (``BASELINES``), when the worker's setting names it;
workflows started before it (or without it) read their individual markers, exactly as
before.

``begin()`` is called first thing in the ``run`` of the incident and of the crisis: it asks
for the baselines newest first, so a workflow started under an older baseline (or under none)
reads the newer ones as absent while its first task is replayed, and keeps that answer (the
SDK keeps a patch's answer for the run). Which baseline a new workflow records is the
worker's setting (``VIGIE_PATCH_BASELINE``, ``workers.worker.baseline_gate``). A patch added
after the latest baseline is checked on its own, with ``workflow.patched``, until the next
baseline takes it in. The workflows that do not call ``begin()`` (the on-call readiness watch,
the service review) keep their patches out of every baseline: asked on their own, mid-run, a
baseline would turn on the other patches it stands for in the middle of a run.
"""

from __future__ import annotations

from temporalio import workflow

BASELINE = "baseline-2026-12"

BASELINE_PATCHES = frozenset(
    {
        "bounded-continue-as-new",
        "cancel-as-operation",
        "chat-channels",
        "confirmed-p1-status",
        "continue-as-new-without-outbox",
        "crisis-asks-who-is-on-call",
        "crisis-child",
        "crisis-continue-as-new",
        "crisis-follows-incident",
        "crisis-ledger",
        "crisis-search-attributes",
        "deadline-wake-early",
        "delivery-in-rounds",
        "failures-told-once",
        "incident-ledger",
        "incident-tells-crisis",
        "incident-tells-failures",
        "input-limits",
        "next-due-attribute",
        "opsgenie-alert-mirror",
        "p1-pages-on-call",
    }
)

# The second baseline: the first one's patches and those made after it up to 2026-12-02.
BASELINE_2 = "baseline-2026-12-02"

BASELINE_2_PATCHES = BASELINE_PATCHES | frozenset(
    {
        "ledger-writes-on-change",
        "ledger-refused-once",
        "task-priority-follows-class",
        "mail-state-at-event",
        "crisis-cancel-told",
        "major-qualified-once",
        "incident-news-dated-in-crisis",
        "cell-chat-after-call",
        "escalate-refused-at-last-level",
        "drp-not-activated-mailed",
        "latest-validation-stands",
        "incident-ended-told",
        "crisis-failure-told",
        "drp-decision-settles-action-plan",
        "escalation-joins-cell",
        "t0-in-memo",
        "t0-handed-on",
        "no-warning-with-its-breach",
        "late-create-completes",
        "ticket-at-start",
        "crisis-t0-at-start",
        "rex-reminders-in-business-hours",
        "crisis-alerts-closed",
        "unknown-signals-refused",
        "member-added-once",
        "defaulted-level-asked",
        "unusable-requesters-told",
        "late-opening-caught-up",
        "no-page-when-ended",
        "own-priority-echo-ignored",
        "create-after-close-completes",
        "breach-voided-told",
        "drp-decision-kept-at-close",
        "stale-opsgenie-priority-refused",
        "escalations-merged-per-pass",
        "class-mirrored-as-changed",
        "start-input-limits",
        "opsgenie-priority-settles",
        "create-after-close-sets-class",
        "late-own-priority-undone",
        "crisis-end-after-close-kept",
        "own-kinds-reserved",
        "tagged-level-only-when-asked",
        "update-ids-kept-through-bursts",
        "start-input-misspelt-field",
        "all-own-kinds-reserved",
        "addresses-sendable",
        "start-addresses-sendable",
        "not-json-signals-refused",
    }
)

# Oldest first; a baseline's list never changes once workflows carry its marker.
BASELINES: dict[str, frozenset[str]] = {BASELINE: BASELINE_PATCHES, BASELINE_2: BASELINE_2_PATCHES}

# Patches in no baseline: each records its own marker in a new workflow. The ones added after
# the latest baseline wait for the next one (under a new id); those of the workflows that do
# not call ``begin()`` stay here.
SINCE_BASELINE: tuple[str, ...] = (
    "readiness-mail-per-watch",
    "review-failures-told",
    "review-unknown-keys-refused",
)

# Patches that new workflows no longer take (the worker's patch gate refuses them); their code
# stays so that workflows that took them still replay. ``policy-read-locally`` read the policy
# and the matrix with local activities: it made an SDK issue with Updates on cold-started tasks
# (README, "What is not guaranteed") far more likely.
WITHDRAWN = frozenset({"policy-read-locally"})


def begin() -> str | None:
    """The baseline this run was started under, if any. Call it first in ``run``: each
    baseline is asked, newest first, until one is found."""
    for baseline in reversed(BASELINES):
        if workflow.patched(baseline):
            return baseline
    return None


def patched(patch_id: str) -> bool:
    """``workflow.patched`` for a patch a baseline may stand for."""
    for baseline in reversed(BASELINES):
        if patch_id in BASELINES[baseline] and workflow.patched(baseline):
            return True
    return workflow.patched(patch_id)
