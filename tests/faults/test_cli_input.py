"""Generated bad input to every CLI command that reaches a workflow: the command refuses it
before sending (exit 2, a clear message, no traceback) or goes on to call Temporal (here
unreachable: exit 1). Arguments include bytes that are not UTF-8, as a shell can pass them."""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as examples_of
from hypothesis import strategies as st
from typer.testing import CliRunner

from starters.cli import app
from tests.faults.poison import POISON, tricky_text
from tests.faults.tally import FULL, TALLY, examples

runner = CliRunner()
NOWHERE = {"TEMPORAL_ADDRESS": "127.0.0.1:1", "VIGIE_OPERATOR": "cli-tester"}
# A byte that is not UTF-8 reaches Python as a lone surrogate (surrogateescape).
NOT_UTF8 = "caf\udce9"

# Every command that reaches a workflow: its fixed arguments, then its text options.
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "open": (["open", "--service-level", "gold", "--priority", "P1"],
             ["--title", "--category", "--description", "--application", "--requester", "--id",
              "--t0", "--language", "--by"]),
    "status": (["status"], []),
    "acknowledge": (["acknowledge"], ["--note", "--by"]),
    "add-worklog": (["add-worklog"], ["--text", "--by"]),
    "set-pending": (["set-pending", "--waiting-on", "customer"], ["--reason", "--by"]),
    "resume": (["resume"], ["--note", "--by"]),
    "recategorize": (["recategorize", "--priority", "P2"], ["--reason", "--by"]),
    "qualify-p1": (["qualify-p1", "--verdict", "confirmed"], ["--note", "--new-priority"]),
    "resolve": (["resolve"], ["--resolution", "--runbook-change", "--problem", "--by"]),
    "close": (["close"], ["--note", "--by"]),
    "reopen": (["reopen"], ["--reason", "--by"]),
    "crisis open": (["crisis", "open", "--criterion", "other"],
                    ["--title", "--context", "--triggered-by", "--t0", "--by"]),
    "crisis post-update": (["crisis", "post-update"], ["--progress", "--done", "--remaining"]),
    "crisis decide-drp": (["crisis", "decide-drp", "--activate"], ["--reason", "--by"]),
    "crisis escalate": (["crisis", "escalate"], ["--reason", "--by"]),
    "crisis add-member": (["crisis", "add-member"], ["--name", "--email", "--kind", "--by"]),
    "crisis service-restored": (["crisis", "service-restored"], ["--note", "--by"]),
    "crisis validate": (["crisis", "validate"], ["--party", "--note", "--by"]),
    "crisis confirm-nominal": (["crisis", "confirm-nominal"], ["--note", "--by"]),
    "crisis close": (["crisis", "close"], ["--summary", "--without-confirmation", "--by"]),
    "crisis submit-rex": (["crisis", "submit-rex"], ["--link", "--text", "--by"]),
    "crisis status": (["crisis", "status"], []),
}  # fmt: skip
OPENS = {"open", "crisis open"}  # no workflow id argument
values = tricky_text | st.sampled_from([NOT_UTF8, POISON["lone_surrogate"], "-", "--by"])


@examples_of(
    max_examples=examples(30, 500),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_every_command_refuses_or_sends_never_crashes(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(COMMANDS)), label="command")
    fixed, options = COMMANDS[name]
    args = list(fixed)
    if name not in OPENS:
        args.append(data.draw(st.sampled_from(["incident-1", "crisis-1"]) | values, label="id"))
    for option in options:
        if data.draw(st.booleans(), label=f"give {option}"):
            args += [option, data.draw(values, label=option)]
    result = runner.invoke(app, args, env=NOWHERE)
    TALLY.bad_input("cli")
    said = " ".join(result.stderr.split())
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        repr(result.exception),
    )
    assert "Traceback" not in result.output, (args, result.output)
    assert result.exit_code in (1, 2), (args, result.exit_code, said)
    if result.exit_code == 1:
        assert "cannot reach Temporal" in said, (args, said)
    else:
        assert said, args  # a refusal says why
