"""How operator operations reach a workflow: one Signal and one Update per operation.

An Update is checked by its validator and refused before anything reaches
history; the same mistake sent as a Signal is recorded in the timeline as
refused. Neither ever fails the workflow. Workflows mix this in and give
each operation a ``_check_x`` (raises ``Refused``) and an ``_apply_x``.

Both check the input limits of ``workflows.limits`` (sizes, control
characters, addresses): the Update validator always (it never runs on
replay), the Signal handler from the ``input-limits`` patch on, so that
signals already in a history are judged as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.limits import LIMITS, MAX_NAME, clip, one_line

PATCH_INPUT_LIMITS = "input-limits"

InputT = TypeVar("InputT", bound=BaseModel)
ViewT = TypeVar("ViewT")


class Refused(Exception):
    """An operation that does not apply to the workflow as it stands."""


def refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidOperation", non_retryable=True)


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in error.errors()
    )


def beyond_limits(input: BaseModel) -> str | None:
    """What in a decoded input breaks the input limits, or None."""
    try:
        type(input).model_validate(input.model_dump(exclude_unset=True), context={LIMITS: True})
    except ValidationError as exc:
        return describe(exc)
    return None


def _who(raw: Any, limits: bool) -> str | None:
    """Who sent a Signal, as far as it says; fit for the timeline once limits apply."""
    by = raw.get("by") if isinstance(raw, dict) and isinstance(raw.get("by"), str) else None
    if by is None or not limits:
        return by
    return clip(one_line(by), MAX_NAME) or None


class Operations(Generic[ViewT]):
    """Handler plumbing shared by the workflows; they provide the hooks below."""

    _state: Any
    _changed: bool

    def _record(self, kind: str, by: str, sentence: str | None = None, **fields: str) -> None:
        raise NotImplementedError

    def _view(self) -> ViewT:
        raise NotImplementedError

    def _apply(self, apply: Callable[[InputT], None], input: InputT) -> None:
        apply(input)

    def _after_change(self) -> None:
        """Runs after every operation, applied or refused."""

    def _signal_refused(self, name: str, by: str | None, input: Any, reason: str) -> None:
        self._record("refused", by or "unknown", operation=name, reason=reason)

    def _validate(self, check: Callable[[InputT], None], input: InputT) -> None:
        problem = beyond_limits(input)
        if problem is not None:
            raise refusal(problem)
        if self._state is None:
            return  # checked again by the handler once the workflow is loaded
        try:
            check(input)
        except Refused as exc:
            raise refusal(str(exc)) from None

    async def _run_update(
        self, check: Callable[[InputT], None], apply: Callable[[InputT], None], input: InputT
    ) -> ViewT:
        await workflow.wait_condition(lambda: self._state is not None)
        try:
            check(input)
        except Refused as exc:
            raise refusal(str(exc)) from None
        self._apply(apply, input)
        self._changed = True
        self._after_change()
        return self._view()

    async def _run_signal(
        self,
        name: str,
        model: type[InputT],
        check: Callable[[InputT], None],
        apply: Callable[[InputT], None],
        raw: Any,
    ) -> None:
        await workflow.wait_condition(lambda: self._state is not None)
        limits = workflow.patched(PATCH_INPUT_LIMITS)
        by = _who(raw, limits)
        input: InputT | None = None
        try:
            input = model.model_validate(raw, context={LIMITS: limits})
            check(input)
        except ValidationError as exc:
            self._signal_refused(name, by, None, describe(exc))
        except Refused as exc:
            self._signal_refused(name, by, input, str(exc))
        else:
            self._apply(apply, input)
        self._changed = True
        self._after_change()
