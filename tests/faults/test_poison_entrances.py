"""Poison values in every field that reaches a mail header, at the entrances that need no
server: the policy and escalation matrix files, the worker's settings, and the CLI.

Each poison is refused with the field named, or it is a value a mail can carry (the mails
that carry those are checked end to end in test_poison_mails)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from starters.cli import app
from tests.faults.poison import POISON
from tests.faults.tally import TALLY
from workers.matrix_file import load_matrix
from workers.policy_file import load_policy
from workers.settings import Settings
from workflows.policy import ConfigError

# Addresses a mail can carry (internationalised mail): they look like others, but they are
# addresses. Everything else is refused where it comes in.
DELIVERABLE = {"homoglyph", "combining_pile", "emoji"}
NOT_ADDRESSES = sorted(set(POISON) - DELIVERABLE)


def address(name: str) -> str:
    return f"{POISON[name]}@example.org"


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # TOML reads JSON's escapes of controls


# A file is UTF-8: no lone surrogate can be in it.
IN_FILES = sorted(n for n in POISON if n != "lone_surrogate")


def refused_in_file(error: ConfigError, field: str) -> bool:
    """The refusal names the field, or the position of what TOML itself cannot read."""
    return field in str(error) or "not valid TOML" in str(error)


def first_matrix_address(config_dir: Path) -> str:
    return load_matrix(config_dir / "escalation_matrix.toml").provider.technical_referents[0].email


def first_manager(config_dir: Path) -> str:
    return load_policy(config_dir).notifications.incident_manager[0]


# The files that hold addresses: file, an address in it, what reads the poisoned one back,
# and the field its refusal names.
FILES = {
    "policy": ("policy.toml", "im@example.com", first_manager, "notifications.incident_manager.0"),
    "matrix": ("escalation_matrix.toml", "referents@example.com", first_matrix_address,
               "provider.technical_referents.0.email"),
}  # fmt: skip


@pytest.mark.parametrize("name", IN_FILES)
@pytest.mark.parametrize("which", sorted(FILES))
def test_addresses_in_configuration_files(config_dir: Path, which: str, name: str) -> None:
    file, good, read, field = FILES[which]
    path = config_dir / file
    text = path.read_text(encoding="utf-8")
    poisoned = text.replace(f'"{good}"', toml_string(address(name)))
    assert poisoned != text
    path.write_text(poisoned, encoding="utf-8")
    TALLY.bad_input(f"{which} file")
    if name in DELIVERABLE:
        assert read(config_dir) == address(name)
        return
    with pytest.raises(ConfigError) as refused:
        read(config_dir)
    assert refused_in_file(refused.value, field)


@pytest.mark.parametrize("name", sorted(POISON))
def test_sender_settings(name: str) -> None:
    """VIGIE_MAIL_FROM is every mail's From, VIGIE_MAIL_DOMAIN every Message-ID's right side:
    one bad character there and no mail could ever be sent."""
    TALLY.bad_input("settings", 2)
    for field, value, takes in (
        ("mail_from", f"Vigie <{address(name)}>", name in DELIVERABLE),
        ("mail_from", address(name), name in DELIVERABLE),
        ("mail_domain", f"{POISON[name]}.example.org", False),  # ASCII host names only
    ):
        try:
            taken = Settings(**{field: value})
        except ValidationError as exc:
            assert exc.errors()[0]["loc"] == (field,)
            assert not takes, f"{field} refused {value!r}"
        else:
            assert takes, f"{field} took {value!r}"
            assert taken.message_id_domain == "example.org"


@pytest.mark.parametrize(
    ("sender", "taken"),
    [
        ("Vigie, Ops <vigie@example.org>", False),  # read as two addresses, 'Vigie' the first
        ("Vigie <vigie@example.org.>", False),
        ("vigie..ops@example.org", False),
        ('Vigie "ops <vigie@example.org>', False),
        ("Vigie (ops <vigie@example.org>", False),
        ('"Vigie, Ops" <vigie@example.org>', True),
        ("Équipe Vigie <vigie@example.org>", True),
        ("vigie@example.org", True),
    ],
)
def test_a_sender_no_mail_can_carry_is_refused(sender: str, taken: bool) -> None:
    """VIGIE_MAIL_FROM that the mail library reads as another address, or none: every mail
    would go out from the wrong sender, or fail. The worker refuses to start, saying why."""
    try:
        Settings(mail_from=sender)
    except ValidationError as exc:
        assert not taken, exc
        said = str(exc)
        assert "not a sender a mail can carry" in said and "write 'Name <address>'" in said
    else:
        assert taken, sender


# ---------------------------------------------------------------- the CLI

runner = CliRunner()
NOWHERE = {"TEMPORAL_ADDRESS": "127.0.0.1:1", "VIGIE_OPERATOR": "cli-tester"}
OPEN = ["open", "--service-level", "gold", "--priority", "P1"]
# Options whose value reaches a mail header: (arguments, the field a refusal names).
HEADER_OPTIONS: list[tuple[list[str], str, str]] = [
    ([*OPEN, "--title"], "", "title"),
    ([*OPEN, "--title", "t", "--requester"], "@example.org", "requesters.0"),
    ([*OPEN, "--title", "t", "--id"], "", "--id"),
    (["crisis", "open", "--criterion", "other", "--title"], "", "title"),
    (["crisis", "add-member", "crisis-1", "--name", "n", "--kind", "expert", "--email"],
     "@example.org", "email"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "suffix", "field"), HEADER_OPTIONS, ids=lambda v: str(v))
def test_cli_refuses_poison_before_sending(args: list[str], suffix: str, field: str) -> None:
    for name, poison in POISON.items():
        value = f"incident-{poison}" if field == "--id" else poison + suffix
        result = runner.invoke(app, [*args, value], env=NOWHERE)
        TALLY.bad_input("cli")
        said = " ".join(result.stderr.split())
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            name,
            result.exception,
        )
        assert "Traceback" not in result.output, (name, result.output)
        if result.exit_code == 2:
            assert field in said, (name, said)
        else:
            # Taken: the command went on to call Temporal, which is not there.
            assert (result.exit_code, "cannot reach Temporal" in said) == (1, True), (name, said)
            assert field != "--id", f"--id took {value!r}"
            assert suffix != "@example.org" or name in DELIVERABLE, f"{field} took {value!r}"
