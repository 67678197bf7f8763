"""A broken policy file is refused with the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.models import LoadPolicyInput
from activities.policy import PolicyActivities
from workers.policy_file import ConfigError, load_policy
from workers.settings import DEFAULT_CONFIG_DIR

SHIPPED = (DEFAULT_CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "policy.toml").write_text(text, encoding="utf-8")
    return tmp_path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_policy(write(tmp_path, text))
    return str(caught.value)


def test_shipped_policy_has_the_procedure_defaults() -> None:
    policy = load_policy(DEFAULT_CONFIG_DIR)
    assert str(policy.resolution.P1.gold.within) == "2h"
    assert str(policy.resolution.P2.bronze.within) == "2d"
    assert str(policy.resolution.P3.bronze.within) == "5d"
    assert [str(policy.ack_allowance(level)) for level in ("gold", "silver", "bronze")] == [
        "15m",
        "30m",
        "60m",
    ]
    assert policy.warning_ratio == 0.75
    assert policy.business_hours.timezone == "Europe/Paris"


def test_bad_duration_names_file_and_field(tmp_path: Path) -> None:
    message = refusal(tmp_path, SHIPPED.replace('gold = "2h"', 'gold = "2 hours"', 1))
    assert str(tmp_path / "policy.toml") in message
    # Named as written (not the model's resolution.P1.gold.within), the value said once.
    assert message.splitlines()[1] == (
        "  resolution.P1.gold: Value error, invalid duration '2 hours': write it like 15m, 2h or 5d"
    )


def test_a_cell_written_as_a_table_is_named_down_to_its_key(tmp_path: Path) -> None:
    text = SHIPPED.replace('gold = "2h"', 'gold = { within = "2 hours" }', 1)
    assert "  resolution.P1.gold.within: Value error, invalid duration" in refusal(tmp_path, text)


def test_missing_section_is_reported(tmp_path: Path) -> None:
    text = SHIPPED.replace('[clocks]\nP1 = "24x7"\n', "[clocks]\n")
    message = refusal(tmp_path, text)
    assert "clocks.P1: required field is missing" in message


def test_unknown_field_is_reported(tmp_path: Path) -> None:
    message = refusal(tmp_path, SHIPPED.replace("warning_ratio = 0.75", "warning_ration = 0.75"))
    assert "warning_ration: unknown field" in message
    assert "warning_ratio: required field is missing" in message


def test_invalid_toml_is_reported_with_position(tmp_path: Path) -> None:
    message = refusal(tmp_path, SHIPPED.replace("[acknowledgement]", "[acknowledgement"))
    assert "not valid TOML" in message
    assert "line" in message


def test_unknown_time_zone_and_country(tmp_path: Path) -> None:
    assert "unknown time zone 'Europe/Pariss'" in refusal(
        tmp_path, SHIPPED.replace('"Europe/Paris"', '"Europe/Pariss"')
    )
    assert "business_hours.holidays_country" in refusal(
        tmp_path, SHIPPED.replace('holidays_country = "FR"', 'holidays_country = "XX"')
    )


def test_business_hours_window_must_make_sense(tmp_path: Path) -> None:
    message = refusal(tmp_path, SHIPPED.replace('end = "18:00"', 'end = "07:00"'))
    assert "business_hours" in message and "must come after start" in message
    assert "HH:MM" in refusal(tmp_path, SHIPPED.replace('start = "08:00"', 'start = "8h"'))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_policy(tmp_path)


async def test_a_file_broken_after_start_keeps_the_last_valid_policy(tmp_path: Path) -> None:
    directory = write(tmp_path, SHIPPED)
    activities = PolicyActivities(
        lambda: load_policy(directory), source="policy.toml", last_valid=load_policy(directory)
    )
    write(tmp_path, SHIPPED.replace("version = 1", "version = 2"))
    result = await activities.load_policy(LoadPolicyInput(incident_id="incident-a"))
    assert result.policy.version == 2 and result.warning is None

    write(tmp_path, SHIPPED.replace("version = 1", "version = zero"))
    result = await activities.load_policy(LoadPolicyInput(incident_id="incident-b"))
    assert result.policy.version == 2
    assert result.warning is not None and "not valid TOML" in result.warning


def test_a_chronogram_recipient_must_be_a_known_role(config_dir: Path) -> None:
    path = config_dir / "policy.toml"
    text = path.read_text(encoding="utf-8")
    old = 'recipients = ["client.dnum"]'
    assert old in text
    path.write_text(text.replace(old, 'recipients = ["provider.on_call_manager"]', 1))
    with pytest.raises(ConfigError, match=r"unknown recipient.*provider\.on_call_manager"):
        load_policy(config_dir)


def test_rotations_due_a_cycle_or_more_ahead_are_refused(tmp_path: Path) -> None:
    text = SHIPPED.replace('complete_before = "1d"', 'complete_before = "8d"', 1)
    assert text != SHIPPED
    said = refusal(tmp_path, text)
    assert "readiness.complete_before: '8d' is a week or more" in said, said


def test_a_holidays_subdivision_adds_its_own_days_and_an_unknown_one_is_refused(
    tmp_path: Path,
) -> None:
    from datetime import date

    from workers.policy_file import with_public_holidays

    country = with_public_holidays(load_policy(DEFAULT_CONFIG_DIR), 2026)
    moselle_text = SHIPPED.replace(
        'holidays_country = "FR"\n', 'holidays_country = "FR"\nholidays_subdivision = "57"\n'
    )
    moselle = with_public_holidays(load_policy(write(tmp_path, moselle_text)), 2026)
    good_friday, st_stephen = date(2026, 4, 3), date(2026, 12, 26)
    for day in (good_friday, st_stephen):
        assert day not in country.business_hours.public_holidays
        assert day in moselle.business_hours.public_holidays
    assert date(2026, 7, 14) in moselle.business_hours.public_holidays  # the country's too
    message = refusal(tmp_path, moselle_text.replace('"57"', '"99"'))
    assert "business_hours.holidays_subdivision: " in message, message
    assert "subdivision 99" in message, message
