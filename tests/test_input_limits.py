"""Input limits: every field a person or a sender fills in is bounded, and a refusal names
the field and the limit. Pure model checks, the CLI's refusals, and the policy file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from starters.cli import app
from workers.policy_file import load_policy
from workflows.crisis_models import (
    AddMemberInput,
    CloseCrisisInput,
    CrisisInput,
    DecideDrpInput,
    EscalateInput,
    PostUpdateInput,
)
from workflows.limits import LIMITS
from workflows.models import (
    AcknowledgeInput,
    CloseInput,
    IncidentInput,
    ProblemProposal,
    QualifyP1Input,
    RecategorizeInput,
    RecordEventInput,
    ReopenInput,
    ResolveInput,
    ResumeInput,
    SetPendingInput,
    WorklogInput,
)
from workflows.operations import describe
from workflows.policy import ConfigError

BY = {"by": "alice"}
INCIDENT = {"title": "Checkout down", "service_level": "gold", "priority": "P1"}
UNPAIRED = "\ud800"  # half of a surrogate pair: no encoding can carry it
CONTROL = ["\r", "\n", "\r\n", "\x00", "\x1b", "\x7f", "\x85", "\u2028", UNPAIRED]

# (model, other fields, field, limit): free texts.
TEXTS: list[tuple[type[BaseModel], dict[str, Any], str, int]] = [
    (WorklogInput, BY, "text", 10_000),
    (SetPendingInput, {**BY, "waiting_on": "customer"}, "reason", 10_000),
    (RecategorizeInput, {**BY, "priority": "P2"}, "reason", 10_000),
    (ResolveInput, {**BY, "resolution": "ok"}, "runbook_change", 10_000),
    (ResolveInput, BY, "resolution", 10_000),
    (ReopenInput, BY, "reason", 10_000),
    (AcknowledgeInput, BY, "note", 10_000),
    (ResumeInput, BY, "note", 10_000),
    (CloseInput, BY, "note", 10_000),
    (QualifyP1Input, {**BY, "verdict": "confirmed"}, "note", 10_000),
    (ProblemProposal, {"reason": "recurring"}, "text", 10_000),
    (RecordEventInput, BY, "text", 12_000),
    (IncidentInput, INCIDENT, "description", 10_000),
    # Crisis inputs use the same types.
    (PostUpdateInput, BY, "progress", 10_000),
    (DecideDrpInput, {**BY, "activate": True}, "reason", 10_000),
    (EscalateInput, BY, "reason", 10_000),
    (CloseCrisisInput, BY, "summary", 10_000),
]
# One-line fields: they end up in mail headers.
LINES: list[tuple[type[BaseModel], dict[str, Any], str, int]] = [
    (IncidentInput, INCIDENT, "title", 500),
    (IncidentInput, INCIDENT, "opened_by", 200),
    (IncidentInput, INCIDENT, "category", 200),
    (IncidentInput, INCIDENT, "application", 200),
    (IncidentInput, INCIDENT, "source", 200),
    (WorklogInput, {"text": "x"}, "by", 200),
    (AcknowledgeInput, {}, "by", 200),
    (PostUpdateInput, {"progress": "x"}, "by", 200),
    (CrisisInput, {"title": "Flood"}, "opened_by", 200),
]


def problems(model: type[BaseModel], **fields: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as refused:
        model(**fields)
    return [(e["loc"], e["msg"]) for e in refused.value.errors()]


@pytest.mark.parametrize(
    ("model", "base", "field", "limit"), TEXTS + LINES, ids=lambda v: getattr(v, "__name__", v)
)
def test_each_field_has_a_size_limit_named_in_the_refusal(
    model: type[BaseModel], base: dict[str, Any], field: str, limit: int
) -> None:
    model(**{**base, field: "x" * limit})
    [(location, message)] = problems(model, **{**base, field: "x" * (limit + 1)})
    assert location == (field,)
    assert f"at most {limit} characters" in message


@pytest.mark.parametrize(("model", "base", "field", "limit"), LINES, ids=lambda v: str(v))
@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_one_line_fields_refuse_line_breaks_and_control_characters(
    model: type[BaseModel], base: dict[str, Any], field: str, limit: int, char: str
) -> None:
    [(location, message)] = problems(model, **{**base, field: f"mallory{char}Bcc: x"})
    assert location == (field,)
    expected = f"must be one line without control characters (found U+{ord(char[0]):04X} "
    # pydantic itself may refuse first what no encoding can carry
    assert message == expected + "at position 7)" or (char == UNPAIRED and "valid str" in message)


@pytest.mark.parametrize(("model", "base", "field", "limit"), TEXTS, ids=lambda v: str(v))
def test_free_texts_keep_lines_and_tabs_but_refuse_other_controls(
    model: type[BaseModel], base: dict[str, Any], field: str, limit: int
) -> None:
    text = "first line\r\nsecond\tline\nthird"
    assert getattr(model(**{**base, field: text}), field) == text
    for char in ("\x00", "\x1b", "\x0c", "\x9b", UNPAIRED):
        [(location, message)] = problems(model, **{**base, field: f"a{char}b"})
        assert location == (field,)
        assert "other than tab and newline" in message or "valid string" in message


def test_requesters_are_addresses_at_most_fifty() -> None:
    ok = IncidentInput(**INCIDENT, requesters=[" ann@example.org ", "bob@example.com"])
    assert ok.requesters == ["ann@example.org", "bob@example.com"]
    for bad in ("bob", "ann@example", "a b@example.org", "ann@example.org\r\nBcc: x@evil.test"):
        [(location, message)] = problems(IncidentInput, **INCIDENT, requesters=["c@d.org", bad])
        assert location == ("requesters", 1), bad
        assert "e-mail address" in message or "one line" in message, bad
    long = "a" * 250 + "@example.org"
    assert problems(IncidentInput, **INCIDENT, requesters=[long]) == [
        (("requesters", 0), f"at most 254 characters (got {len(long)})")
    ]
    many = [f"r{i}@example.org" for i in range(51)]
    assert problems(IncidentInput, **INCIDENT, requesters=many) == [
        (("requesters",), "at most 50 requesters (got 51)")
    ]
    assert problems(AddMemberInput, **BY, name="Eve", email="eve\r\n@example.org")[0][0] == (
        "email",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "bob@client.example.org.",
        "['x@y.org']",
        "a..b@example.org",
        "a@example..org",
        "bob@[example.org",
    ],
)
def test_an_address_no_mail_can_be_sent_to_is_refused_at_every_entrance(
    bad: str, config_dir: Path
) -> None:
    """The mail library reads these as no address at all: a mail to them, and to everyone
    sent the same mail, could never be built. Refused where they are typed."""
    [(location, message)] = problems(IncidentInput, **INCIDENT, requesters=["c@d.org", bad])
    assert location == ("requesters", 1) and "mail can be sent to" in message, message
    [(location, _)] = problems(AddMemberInput, **BY, name="NOC", email=bad)
    assert location == ("email",)
    for good in ("jean.dupont@sub.example.co.uk", "a+b@example.org", "é@example.fr"):
        IncidentInput(**INCIDENT, requesters=[good])
    # Stored state is read as it is (a workflow decodes without asking).
    IncidentInput.model_validate({**INCIDENT, "requesters": [bad]}, context={LIMITS: False})
    policy = config_dir / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    manager = re.search(r'incident_manager = \["([^"]+)"', text)
    assert manager is not None
    policy.write_text(text.replace(manager.group(1), bad, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="mail can be sent to"):
        load_policy(config_dir)
    # Who the on-call readiness watch tells of a customer's gaps, too.
    notify = 'notify = ["provider.delivery_manager", "provider.incident_manager"]'
    assert notify in text
    policy.write_text(text.replace(notify, f'notify = ["{bad}"]', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="mail can be sent to"):
        load_policy(config_dir)


def test_titles_are_not_empty() -> None:
    [(location, _)] = problems(IncidentInput, **{**INCIDENT, "title": "  "})
    assert location == ("title",)


def test_details_are_bounded() -> None:
    IncidentInput(**INCIDENT, details={f"k{i}": "v\nmore" for i in range(100)})
    [(location, message)] = problems(IncidentInput, **INCIDENT, details={"k" * 201: "v"})
    assert (location[:1], location[-1], message) == (
        ("details",),
        "[key]",
        "at most 200 characters (got 201)",
    )
    too_many = {f"k{i}": "v" for i in range(101)}
    assert problems(IncidentInput, **INCIDENT, details=too_many) == [
        (("details",), "at most 100 details (got 101)")
    ]
    [(location, _)] = problems(IncidentInput, **INCIDENT, details={"a\nb": "v"})
    assert location == ("details", "a\nb", "[key]")
    [(location, message)] = problems(IncidentInput, **INCIDENT, details={"k": "v" * 10_001})
    assert (location, message) == (("details", "k"), "at most 10000 characters (got 10001)")


def test_a_refusal_is_one_short_line_whatever_keys_were_typed() -> None:
    """A refusal names a typed key quoted, its line breaks escaped and cut, and at most ten
    fields at fault: it stays one line (a status error, an InputRefused, a CLI message)."""
    hostile = "k\r\nBcc: x@evil.test" + "x" * 5000
    with pytest.raises(ValidationError) as refused:
        IncidentInput.model_validate(
            {**INCIDENT, "details": {hostile: "v", **{f"bad {i}\n": "v" for i in range(30)}}},
            context={LIMITS: True},
        )
    said = describe(refused.value)
    assert "\r" not in said and "\n" not in said and len(said) < 1500, said
    assert said.startswith("details.'k\\r\\nBcc: x@evil.testxxx"), said
    assert "…" in said and said.endswith("; and 21 more"), said
    assert ".[key]: " in said  # pydantic's own part of the path, as it is


def test_a_refusal_kept_in_the_timeline_is_told_whole_whatever_keys_were_typed() -> None:
    """What a timeline entry keeps of a refused input (``field=type;…``), told in the
    reader's language: a typed key with ``;`` or ``=`` stays one field, and at most ten are
    named, then how many more."""
    from workflows.operations import problems as kept
    from workflows.texts import render

    details = {"a;b=c": "v" * 10_001, **{f"bad {i}\n": "v" for i in range(12)}}
    with pytest.raises(ValidationError) as refused:
        IncidentInput.model_validate({**INCIDENT, "details": details}, context={LIMITS: True})
    fields = kept(refused.value)
    assert fields["problems"].count(";") == 10, fields  # ten named, then "3=more"
    told = render("refused", {"operation": "alert_created", **fields}, "en", "UTC")
    assert "details.'a\\x3bb\\x3dc': too long, at most 10000" in told, told
    assert told.rstrip(")").endswith("and 3 more"), told
    assert "\n" not in told


def test_ids_and_kinds_use_a_safe_alphabet() -> None:
    RecordEventInput(**BY, text="x", kind="opsgenie_escalated")
    for kind in ("Opsgenie", "a b", "a\n", "é", "x" * 42):
        [(location, _)] = problems(RecordEventInput, **BY, text="x", kind=kind)
        assert location == ("kind",)


def test_t0_between_2000_and_2100() -> None:
    IncidentInput(**INCIDENT, t0="2026-03-02T09:30:00+01:00")
    for t0 in ("1999-12-31T23:59:00+00:00", "2100-01-01T00:00:00+00:00", "9999-12-31T23:00Z"):
        [(_, message)] = problems(IncidentInput, **INCIDENT, t0=t0)
        assert message == "t0 must be between 2000-01-01 and 2100-01-01", t0


def beyond_limits(input: BaseModel) -> str | None:
    """What an Update validator would say of this input, limits applied."""
    try:
        type(input).model_validate(input.model_dump(exclude_unset=True), context={LIMITS: True})
    except ValidationError as exc:
        return describe(exc)
    return None


def test_stored_data_keeps_decoding_when_limits_are_waived() -> None:
    """What a workflow already holds is decoded with the limits waived (see workflows.limits);
    an Update validator decodes the same input with the limits applied."""
    legacy = {
        **INCIDENT,
        "title": "Checkout\r\ndown " + "x" * 600,
        "requesters": ["bob"],
        "opened_by": "ann\nlee",
        "t0": "1990-01-01T00:00:00+00:00",
    }
    IncidentInput.model_validate(legacy, context={LIMITS: False})
    waived = WorklogInput.model_validate(
        {"by": "ann\r\nlee", "text": "x" * 20_000}, context={LIMITS: False}
    )
    assert beyond_limits(waived) == (
        "by: must be one line without control characters (found U+000D at position 3); "
        "text: at most 10000 characters (got 20000)"
    )
    assert beyond_limits(WorklogInput(by="ann", text="fine")) is None


def test_policy_addresses_are_checked_when_the_file_is_read(config_dir: Path) -> None:
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('incident_manager = ["im@example.com"]', 'incident_manager = ["im"]'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_policy(config_dir)
    assert "notifications.incident_manager.0: not an e-mail address" in str(refused.value)
    path.write_text(
        text.replace('team = ["team@example.com"]', 'team = ["team@example.com", "ops\\n@x.org"]'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_policy(config_dir)
    assert "notifications.team.1: must be one line" in str(refused.value)


# ---------------------------------------------------------------- the CLI refuses first

runner = CliRunner()
CLI_ENV = {"TEMPORAL_ADDRESS": "127.0.0.1:1", "VIGIE_OPERATOR": "cli-tester"}
OPEN = ["open", "--service-level", "gold", "--priority", "P1"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([*OPEN, "--title", "Checkout\ndown"], "title: must be one line"),
        ([*OPEN, "--title", "x" * 501], "title: at most 500 characters (got 501)"),
        ([*OPEN, "--title", "t", "--requester", "bob"], "requesters.0: not an e-mail address"),
        ([*OPEN, "--title", "t", "--id", "incident-a b"], "--id must be 'incident-' and"),
        ([*OPEN, "--title", "t", "--id", "incident-" + "a" * 200], "at most 200 characters"),
        (["add-worklog", "incident-1", "--text", "x" * 10_001], "text: at most 10000"),
        (["acknowledge", "incident-1", "--by", "eve\r\nBcc: x"], "by: must be one line"),
    ],
    ids=["title-newline", "title-long", "requester", "id-space", "id-long", "worklog", "by"],
)
def test_cli_refuses_before_sending(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args, env=CLI_ENV)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.stderr.split()), result.stderr


def test_record_event_fields_cannot_take_the_recorders_own_names() -> None:
    import pytest
    from pydantic import ValidationError

    from workflows.models import RecordEventInput

    for fields in ({"by": "x"}, {"kind": "x"}, {"sentence": "x"}, {"Bad-Name": "x"}):
        with pytest.raises(ValidationError, match="not a field name"):
            RecordEventInput(by="opsgenie", text="t", sentence="event", fields=fields)
    with pytest.raises(ValidationError, match=r"fields\.due_at: not an ISO 8601"):
        RecordEventInput(by="o", text="t", sentence="resumed", fields={"due_at": "tomorrow"})
    with pytest.raises(ValidationError, match=r"fields\.due_at: needs a time zone"):
        RecordEventInput(
            by="o", text="t", sentence="resumed", fields={"due_at": "2026-12-01T09:00"}
        )


@pytest.mark.parametrize("title", ["\u200b", "\u200b\u202e", "\u3164\u3164", "\u2800", " \u034f "])
def test_a_title_that_shows_nothing_is_refused(title: str) -> None:
    """Zero-width characters, direction overrides or blank letters alone: an incident (or a
    crisis) whose mails and lists would show an empty title."""
    from pydantic import ValidationError

    from workflows.models import IncidentInput

    with pytest.raises(ValidationError) as refused:
        IncidentInput(title=title, service_level="gold")
    assert "shows nothing" in str(refused.value)
    assert IncidentInput(title="\u200bDisk full", service_level="gold").title == "\u200bDisk full"
