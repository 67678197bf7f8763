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

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from workflows import versions
from workflows.chat import ChatNotification
from workflows.limits import LIMITS, MAX_NAME, SENDABLE, clip, one_line, sendable_split
from workflows.texts import KNOWN_RULES
from workflows.waiting import wait_until

# Made by the worker's converter outside any sandbox: the sandbox must see that same class.
with workflow.unsafe.imports_passed_through():
    from workflows.not_json import NotJson, not_json

PATCH_INPUT_LIMITS = "input-limits"
# An address no mail can be sent to (``name@example.org.``) is refused in a Signal, as it is
# in an Update and at every other entrance: every mail with it failed, for all its recipients.
PATCH_SENDABLE = "addresses-sendable"
# What the Web UI shows beside the catch-all Signal handler (a blank name in its list).
UNKNOWN_SIGNAL = (
    "Not an operation. A name typed under Custom that is no operation is recorded as refused, "
    "with the name meant. Pick an operation below."
)
# A Signal no handler takes is recorded as refused (older code left it unread).
PATCH_UNKNOWN_SIGNALS = "unknown-signals-refused"
# A Signal whose input is not JSON the worker can read (workflows.not_json) is recorded as
# refused; the SDK dropped it before.
PATCH_NOT_JSON = "not-json-signals-refused"
SYSTEM = "vigie"
"""Who Vigie's own entries are by."""

InputT = TypeVar("InputT", bound=BaseModel)
ViewT = TypeVar("ViewT")


class Refused(Exception):
    """An operation that does not apply to the workflow as it stands. The message is for
    the caller (an Update's refusal, the CLI); ``why`` names a sentence of the timeline
    (``workflows.texts``) that tells the same with ``fields`` in the reader's language."""

    def __init__(self, message: str, why: str | None = None, **fields: str) -> None:
        super().__init__(message)
        self.why = why
        self.fields = fields

    def told(self) -> dict[str, str]:
        """The fields a timeline entry keeps to tell the reason in any language."""
        return {"why": self.why, **self.fields} if self.why else {}


REFUSAL_TYPE = "InvalidOperation"
# Update ids remembered to apply each Update once (a client retries within seconds).
APPLIED_UPDATES_KEPT = 200
# Since PATCH_UPDATES_KEPT: in a burst (60 Updates a second and more) a client's resend, up
# to about 15 s later, finds its id among the last 2,000; among the last 200 it could be gone.
APPLIED_UPDATES_KEPT_IN_BURSTS = 2000
PATCH_UPDATES_KEPT = "update-ids-kept-through-bursts"
# Keys of webhook events remembered to apply each once (a sender retries within hours).
DELIVERIES_KEPT = 200


def refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type=REFUSAL_TYPE, non_retryable=True)


# A part of a field's path written as typed (a detail's key) is shown at most this long.
MAX_PATH_PART = 60
# A refusal names at most this many fields at fault, and how many more there are.
MAX_ERRORS_SAID = 10


_PLAIN_PART = re.compile(rf"[\w\-\[\]]{{1,{MAX_PATH_PART}}}")


def _decoded(model: type[BaseModel], raw: Any, limits: bool) -> BaseModel:
    """A Signal's input, decoded once when it holds no address a mail cannot be sent to (the
    usual case). One that does, from the runs that take PATCH_SENDABLE (asked only then):
    requesters without those (a receiver of an older release may send them), and any other
    such address refused (raises its ValidationError)."""
    if not limits:
        return model.model_validate(raw, context={LIMITS: False})
    try:
        return model.model_validate(raw, context={LIMITS: True, SENDABLE: True})
    except ValidationError as strict:
        input = model.model_validate(raw, context={LIMITS: True})  # what else is wrong
        refusing = strict
        requesters = getattr(input, "requesters", None)
        if isinstance(requesters, list) and isinstance(raw, dict):
            kept, left_out = sendable_split(requesters)
            if left_out and versions.patched(PATCH_SENDABLE):
                input = input.model_copy(update={"requesters": kept})
                try:
                    model.model_validate(
                        {**raw, "requesters": kept}, context={LIMITS: True, SENDABLE: True}
                    )
                    return input
                except ValidationError as other:
                    refusing = other
        if versions.patched(PATCH_SENDABLE):
            raise refusing from None
        return input


def _part(part: str | int) -> str:
    """One part of a field's path: a name as it is (pydantic's ``[key]`` too), a key someone
    typed quoted (line breaks and control characters escaped) and cut, so that a refusal stays
    one short line; ``;`` and ``=``, which separate what a timeline entry keeps of it
    (``problems``), escaped too."""
    text = str(part)
    if isinstance(part, int) or _PLAIN_PART.fullmatch(text):
        return text
    cut = repr(text[:MAX_PATH_PART]).replace(";", "\\x3b").replace("=", "\\x3d")
    return cut + ("…" if len(text) > MAX_PATH_PART else "")


def _field(error: ErrorDetails) -> str:
    """The field at fault, dotted (``input`` for the input as a whole)."""
    return ".".join(_part(p) for p in error["loc"]) or "input"


def describe(error: ValidationError) -> str:
    errors = error.errors()
    said = [f"{_field(e)}: {e['msg']}" for e in errors[:MAX_ERRORS_SAID]]
    if len(errors) > MAX_ERRORS_SAID:
        said.append(f"and {len(errors) - MAX_ERRORS_SAID} more")
    return "; ".join(said)


def problems(error: ValidationError) -> dict[str, str]:
    """What a timeline entry keeps of a refused input, to tell it in the reader's language:
    each field at fault and the kind of error (``field=type;…``)."""
    errors = error.errors()
    said = [f"{_field(e)}={_kind(e)}{_bound(e)}" for e in errors[:MAX_ERRORS_SAID]]
    if len(errors) > MAX_ERRORS_SAID:
        said.append(f"{len(errors) - MAX_ERRORS_SAID}=more")
    found = ";".join(said)
    return {"why": "why.invalid", "problems": found}


def _kind(error: ErrorDetails) -> str:
    """The error's type, or the rule a validator broke when it is a known one."""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return (
        KNOWN_RULES.get(message, error["type"]) if error["type"] == "value_error" else error["type"]
    )


def _bound(error: ErrorDetails) -> str:
    """The limit a too long value broke, to say it (``/4000``), else nothing."""
    ctx = error.get("ctx") or {}
    limit = ctx.get("max_length", ctx.get("limit"))
    return f"/{limit}" if isinstance(limit, int) else ""


def _who(raw: Any, limits: bool) -> str | None:
    """Who sent a Signal, as far as it says; fit for the timeline once limits apply."""
    by = raw.get("by") if isinstance(raw, dict) and isinstance(raw.get("by"), str) else None
    if by is None or not limits:
        return by
    return clip(one_line(by), MAX_NAME) or None


@dataclass(frozen=True)
class Operation:
    """One operator operation: its name (Signal and Update), input model and UI description.

    The workflow gives it a ``_check_<name>`` (raises ``Refused``) and an ``_apply_<name>``.
    """

    name: str
    model: type[BaseModel]
    description: str


W = TypeVar("W", bound=type)


def operations(view: type, table: Sequence[Operation]) -> Callable[[W], W]:
    """Class decorator (under ``@workflow.defn``): a Signal, an Update and its validator for
    every operation of ``table``. Inputs arrive as raw JSON and are decoded by the validator,
    so that a refusal names the field at fault instead of "Failed decoding arguments"."""

    known = tuple(op.name for op in table)

    # A Signal under a name no handler has (`add-worklog`, `Acknowledge`) is recorded as
    # refused, with the name meant, instead of being kept unread while the sender is told
    # that it was delivered.
    async def unknown_signal(self: Operations[Any], name: str, args: Sequence[RawValue]) -> None:
        await self._run_unknown_signal(name, args, known)

    # As the SDK checks a dynamic handler's hints (postponed annotations are strings here).
    unknown_signal.__annotations__ = {"name": str, "args": Sequence[RawValue], "return": None}

    def decorate(cls: W) -> W:
        handlers = {
            "_unknown_signal": workflow.signal(dynamic=True, description=UNKNOWN_SIGNAL)(
                unknown_signal
            ),
            **{a: h for op in table for a, h in _handlers(op, view).items()},
        }
        for attribute, handler in handlers.items():
            if attribute in vars(cls):
                raise TypeError(f"{cls.__name__}.{attribute} is defined twice")
            setattr(cls, attribute, handler)
        return cls

    return decorate


def _handlers(op: Operation, view: type) -> dict[str, Any]:
    # Any number of inputs is taken, so that one sent with none or with two (`temporal
    # workflow signal` with no --input, or two) is refused by name instead of failing the
    # workflow task on every attempt.
    async def signal(self: Operations[Any], *inputs: Any) -> None:
        await self._run_signal(op, inputs)

    async def update(self: Operations[Any], *inputs: Any) -> Any:
        return await self._run_update(op, _one(op, inputs))

    def validator(self: Operations[Any], *inputs: Any) -> None:
        self._validate(op, _one(op, inputs))

    for fn, name, returns in (
        (signal, f"{op.name}_signal", None),
        (update, op.name, view),
        (validator, f"_validate_{op.name}", None),
    ):
        fn.__name__ = fn.__qualname__ = name
        fn.__annotations__ = {"inputs": Any, "return": returns}
    handlers: dict[str, Any] = {
        f"{op.name}_signal": workflow.signal(name=op.name, description=op.description)(signal),
    }
    defined = workflow.update(name=op.name, description=op.description)(update)
    defined.validator(validator)
    handlers[op.name] = defined
    return handlers


def arity(op: Operation, given: int) -> str:
    return f"{op.name} takes one input (a JSON object), {given} given"


def _one(op: Operation, inputs: tuple[Any, ...]) -> Any:
    """The one input an Update takes; else it is refused, naming the operation."""
    if len(inputs) != 1:
        raise refusal(arity(op, len(inputs)))
    return inputs[0]


class Operations(Generic[ViewT]):
    """Handler plumbing shared by the workflows; they provide the hooks below."""

    _state: Any
    _changed: bool

    def _record(self, kind: str, by: str, sentence: str | None = None, **fields: str) -> None:
        raise NotImplementedError

    def _view(self) -> ViewT:
        raise NotImplementedError

    def _answer(self) -> ViewT:
        """What an Update returns: the view (workflows may leave heavy parts to ``status``)."""
        return self._view()

    def _hooks(self, op: Operation) -> tuple[Callable[[Any], None], Callable[[Any], None]]:
        return getattr(self, f"_check_{op.name}"), getattr(self, f"_apply_{op.name}")

    def _apply(self, apply: Callable[[InputT], None], input: InputT) -> None:
        apply(input)

    def _after_change(self) -> None:
        """Runs after every operation, applied or refused."""

    def _signal_refused(
        self, name: str, by: str | None, input: Any, reason: str, told: dict[str, str]
    ) -> None:
        self._record("refused", by or "unknown", operation=name, reason=reason, **told)

    async def _run_unknown_signal(
        self, name: str, args: Sequence[RawValue], known: Sequence[str]
    ) -> None:
        await wait_until(lambda: self._state is not None)
        if not versions.patched(PATCH_UNKNOWN_SIGNALS):
            return  # older code left it unread
        raw: Any = None
        if len(args) == 1:
            try:
                raw = workflow.payload_converter().from_payload(args[0].payload, dict)
            except Exception:  # not JSON: only its name is told
                raw = None
        shown = clip(one_line(name), MAX_NAME) or "?"
        near = difflib.get_close_matches(name.lower().replace("-", "_"), known, n=1)
        if near:
            message = f"unknown operation {shown!r}: did you mean {near[0]}?"
            told = {"why": "why.unknown_operation.near", "near": near[0]}
        else:
            message = f"unknown operation {shown!r}; the operations are: {', '.join(known)}"
            told = {"why": "why.unknown_operation", "known": ", ".join(known)}
        self._signal_refused(shown, _who(raw, True), None, message, told)
        self._changed = True
        self._after_change()

    def _validate(self, op: Operation, raw: Any) -> None:
        """The Update validator: decodes the input (limits applied), then checks it against
        the workflow as it stands. A refusal names the field and the problem."""
        if isinstance(raw, NotJson):
            raise refusal(f"{op.name}: {raw.said()}")
        try:
            input = op.model.model_validate(raw, context={LIMITS: True, SENDABLE: True})
        except ValidationError as exc:
            raise refusal(f"{op.name}: {describe(exc)}") from None
        if self._state is None or self._already_applied():
            return  # checked again by the handler once loaded; or applied already
        check, _ = self._hooks(op)
        try:
            check(input)
        except Refused as exc:
            raise refusal(str(exc)) from None

    def _applied_updates(self) -> list[str]:
        """The ids of the latest Updates applied (kept in the state, across runs)."""
        applied: list[str] = self._state.applied_updates
        return applied

    def _ledger_refused(self, why: str) -> None:
        self._record("ledger_refused", SYSTEM, error=why[:500])
        self._changed = True

    def _chat_failed(self, notification: ChatNotification, error: str, kind: str) -> None:
        self._record(
            "chat_failed", SYSTEM, event=notification.kind, channel=notification.channel,
            error=error[:500], error_kind=kind,
        )  # fmt: skip
        self._changed = True

    def _already_applied(self) -> bool:
        """An Update can come twice with the same id: delivered again after a workflow task
        that held it failed (new events during continue-as-new), or to the next run. Its
        effect is applied once; the second delivery gets the answer."""
        info = workflow.current_update_info()
        return info is not None and info.id in self._applied_updates()

    async def _run_update(self, op: Operation, raw: Any) -> ViewT:
        await wait_until(lambda: self._state is not None)
        if self._already_applied():
            return self._answer()
        check, apply = self._hooks(op)
        input = op.model.model_validate(raw, context={LIMITS: False})
        try:
            input = self._in_own_words(input)
            check(input)
        except Refused as exc:
            raise refusal(str(exc)) from None
        self._apply(apply, input)
        info = workflow.current_update_info()
        if info is not None:
            applied = self._applied_updates()
            applied.append(info.id)
            if len(applied) > APPLIED_UPDATES_KEPT:
                burst = versions.patched(PATCH_UPDATES_KEPT)
                del applied[: -(APPLIED_UPDATES_KEPT_IN_BURSTS if burst else APPLIED_UPDATES_KEPT)]
        self._changed = True
        self._after_change()
        return self._answer()

    async def _run_signal(self, op: Operation, inputs: tuple[Any, ...]) -> None:
        await wait_until(lambda: self._state is not None)
        unread = not_json(inputs)
        if unread is not None and not versions.patched(PATCH_NOT_JSON):
            return  # older code never saw it: the SDK dropped it
        check, apply = self._hooks(op)
        limits = versions.patched(PATCH_INPUT_LIMITS)
        raw = inputs[0] if inputs else None
        by = _who(raw, limits)
        input: BaseModel | None = None
        try:
            if len(inputs) != 1:
                raise Refused(arity(op, len(inputs)), "why.arity", given=str(len(inputs)))
            if unread is not None:
                raise Refused(unread.said(), "why.not_json", error=unread.error)
            input = _decoded(op.model, raw, limits)
            if self._delivered_before(input):
                return  # the sender delivered this event again: applied once
            if self._own_echo(input):
                return  # what the workflow itself did, reported back by the sender
            input = self._in_own_words(input)
            check(input)
        except ValidationError as exc:
            self._signal_refused(op.name, by, None, describe(exc), problems(exc))
        except Refused as exc:
            self._signal_refused(op.name, by, input, str(exc), exc.told())
        else:
            self._apply(apply, input)
        self._changed = True
        self._after_change()

    def _in_own_words(self, input: InputT) -> InputT:
        """``input`` with the sender's own wording (``said``) told in the workflow's
        language; as it is in a workflow that has none."""
        return input

    def _own_echo(self, input: BaseModel) -> bool:
        """Whether a sender's event only reports back a change this workflow made (it is
        then left out); the workflows that can tell say so."""
        return False

    def _delivered_before(self, input: BaseModel) -> bool:
        """Whether a sender's event with this key was handled already; else it is noted (the
        latest ones, in the state that continue-as-new carries)."""
        key = getattr(input, "delivery", None)
        seen: list[str] | None = getattr(self._state, "deliveries", None)
        if key is None or seen is None:
            return False
        if key in seen:
            return True
        seen.append(key)
        del seen[:-DELIVERIES_KEPT]
        return False
