"""The input a workflow was started with, checked by the workflow itself.

Vigie's CLI and webhook send inputs their model accepts. A run started by hand (the Web UI's
*Start Workflow*, ``temporal workflow start --input``) may not: decoded by the SDK, such an
input would fail the first workflow task over and over, and the workflow would look stuck. A
run takes its inputs as sent instead, and a typo ends it at once with ``InputRefused`` naming
the field and what is wrong. Nothing was opened, so nothing is lost.
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import versions
from workflows.limits import LIMITS
from workflows.operations import describe

with workflow.unsafe.imports_passed_through():  # as workflows.operations says
    from workflows.not_json import NotJson

M = TypeVar("M", bound=BaseModel)
REFUSED_TYPE = "InputRefused"
# A new incident or crisis whose input breaks the input limits (started by hand: a title with
# a line break) ends at once, refused, instead of running with what its mails cannot carry.
PATCH_START_LIMITS = "start-input-limits"
# A run started by hand with a field name misspelt (``prioirty``) ends at once, refused,
# instead of opening without what the person meant to give.
PATCH_MISSPELT = "start-input-misspelt-field"
# An incident's requesters no mail can be sent to, in a new run (started by hand, or by a
# receiver of an older release), are left out and told at opening.
PATCH_START_SENDABLE = "start-addresses-sendable"
MAX_REASON = 1000


def started_with(model: type[M], inputs: tuple[Any, ...]) -> M | str:
    """The one input of a run as ``model``, or why it is not one (a sentence). Decoded as
    any input that reached a workflow is: without the input limits, which ``over_limits``
    checks for a run that a person started."""
    if len(inputs) != 1:
        return f"one input expected, {len(inputs)} given"
    [raw] = inputs
    if isinstance(raw, model):
        return raw
    if isinstance(raw, NotJson):
        return raw.said()
    try:  # whatever the SDK's sandbox, a workflow tells the limits off (workflows.limits)
        return model.model_validate(raw, context={LIMITS: False})
    except ValidationError as exc:
        typo = misspelt(model, inputs)  # "servce_level" for a required field: said first
        return f"{typo}; {describe(exc)}" if typo else describe(exc)


def started_by_hand(inputs: tuple[Any, ...]) -> bool:
    """Whether this run is a new one that a person may have typed: not continued as new, not
    started by another workflow (a crisis by its incident), carrying no state. Only such a
    run ends on a refused input; another keeps its workflow task failing (and retried) until
    a worker that can read it takes it, as when workers of two releases run side by side: a
    live incident is never ended for it."""
    info = workflow.info()
    if info.continued_run_id is not None or info.parent is not None:
        return False
    raw = inputs[0] if len(inputs) == 1 else None
    return not (isinstance(raw, dict) and raw.get("state") is not None)


class Unreadable(Exception):
    """An input a running incident or crisis carried that this worker cannot read: its
    workflow task fails (and is retried), the workflow goes on."""


def checked_start(model: type[M], inputs: tuple[Any, ...]) -> M | str:
    """``started_with``, for a run's ``__init__``: the input, or why a run started by hand
    is refused; raises ``Unreadable`` for another run (``started_by_hand``)."""
    checked = started_with(model, inputs)
    if isinstance(checked, str) and not started_by_hand(inputs):
        raise Unreadable(f"{model.__name__}: {checked}")
    return checked


def over_limits(model: type[BaseModel], inputs: tuple[Any, ...]) -> str | None:
    """Why the input breaks the input limits (``workflows.limits``), or None. The CLI and the
    webhook send only inputs within them, so this refuses only what was typed by hand."""
    try:
        model.model_validate(inputs[0], context={LIMITS: True})
    except ValidationError as exc:
        return describe(exc)
    return None


def misspelt(model: type[BaseModel], inputs: tuple[Any, ...]) -> str | None:
    """Why the input names a field that does not exist, taken for a misspelling of one it
    does not give (``prioirty`` for ``priority``), or None. Another unknown name is let be:
    a client of a newer release may send a field this worker does not know yet. So a start
    input's field is added, never renamed (or the old name kept as an alias): a worker of
    the older release would take the new name for a misspelling of the old."""
    raw = inputs[0] if len(inputs) == 1 else None
    if not isinstance(raw, dict):
        return None
    missing = [name for name in model.model_fields if name not in raw]
    for name in raw:
        if not isinstance(name, str) or name in model.model_fields:
            continue
        close = difflib.get_close_matches(name, missing, n=1, cutoff=0.75)
        if close:
            return f"{name[:60]!r}: no such field, did you mean {close[0]!r}?"
    return None


def refusal_at_start(model: type[BaseModel], inputs: tuple[Any, ...]) -> str | None:
    """Why a new run's input is refused before anything opens, or None: it breaks the input
    limits, or names a field misspelt; each behind its patch, asked only when it applies."""
    for check, patch in ((over_limits, PATCH_START_LIMITS), (misspelt, PATCH_MISSPELT)):
        reason = check(model, inputs)
        if reason is not None and versions.patched(patch):
            return reason
    return None


def refused(model: type[BaseModel], reason: str, example: str) -> ApplicationError:
    """The failure that ends a run whose input was refused: final, and saying what to fix."""
    name = model.__name__
    article = "an" if name[0] in "AEIOU" else "a"
    return ApplicationError(
        f"input refused, nothing was opened: {reason[:MAX_REASON]} "
        f"(expected {article} {name}, e.g. {example})",
        type=REFUSED_TYPE,
        non_retryable=True,
    )
