"""README's Environment table against the settings the code reads: every variable documented is
read, every setting is documented, and each default the table gives is the code's."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from activities.providers.opsgenie.client import default_base_url
from activities.providers.opsgenie.schedules import JSM_OPERATIONS_REST
from workers.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Read by the CLI (typer's envvar), not by the settings.
CLI_VARIABLES = {"VIGIE_OPERATOR": ROOT / "starters" / "cli_support.py"}
# Mirrored from Temporal's environment configuration (workers.connection).
# Defaults the code computes when the setting is left unset: checked on their own.
COMPUTED = {"VIGIE_OPSGENIE_API_URL", "VIGIE_JSM_API_URL", "VIGIE_MATRIX_FILE"}
TEMPORAL_FIELDS = {
    "TEMPORAL_ADDRESS": "temporal_address",
    "TEMPORAL_NAMESPACE": "temporal_namespace",
}


def environment_rows() -> list[tuple[list[str], str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Environment\n", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows.append((re.findall(r"`([A-Z_*]+)`", cells[0]), cells[1]))
    return rows


def field_of(variable: str) -> str | None:
    if variable in TEMPORAL_FIELDS:
        return TEMPORAL_FIELDS[variable]
    name = variable.removeprefix("VIGIE_").lower()
    return name if variable.startswith("VIGIE_") and name in Settings.model_fields else None


def documented(cell: str, count: int) -> list[str | None] | None:
    """The defaults a cell states, one per variable: a literal, None for ``unset``; None
    when the cell is prose (computed defaults, checked on their own below)."""
    if cell == "unset":
        return [None] * count
    tokens = cell.split(", ") if count > 1 else [cell]
    if len(tokens) != count:
        return None
    found: list[str | None] = []
    for token in tokens:
        literal = re.match(r"^`([^`]*)`( \(.*\))?$", token)  # a note in brackets may follow
        if token == "unset":
            found.append(None)
        elif literal:
            found.append(literal.group(1))
        else:
            return None
    return found


def shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("VIGIE_") or name in TEMPORAL_FIELDS:
            monkeypatch.delenv(name)
    return Settings()


def test_every_variable_documented_is_read_and_every_setting_documented() -> None:
    names = [n for row, _ in environment_rows() for n in row]
    assert len(names) > 60, names
    for name in names:
        if name.startswith("TEMPORAL_"):
            continue  # Temporal's own environment configuration (tests/test_connection.py)
        if name in CLI_VARIABLES:
            assert f'envvar="{name}"' in CLI_VARIABLES[name].read_text(encoding="utf-8")
            continue
        assert field_of(name) is not None, f"README documents {name}, which nothing reads"
    fields = {field_of(n) for n in names}
    assert set(Settings.model_fields) <= fields, set(Settings.model_fields) - fields


def test_each_default_the_table_gives_is_the_codes(clean: Settings) -> None:
    checked = 0
    for names, cell in environment_rows():
        fields = [field_of(n) for n in names]
        defaults = documented(cell, len(names))
        if defaults is None or None in fields or COMPUTED & set(names):
            continue
        for name, field, default in zip(names, fields, defaults, strict=True):
            assert field is not None
            assert shown(getattr(clean, field)) == default, f"{name}: README says {cell}"
            checked += 1
    assert checked >= 40, checked


def test_the_computed_defaults(clean: Settings) -> None:
    """The defaults the table gives in words: the alert APIs, the folders and files."""
    rows = {names[0]: cell for names, cell in environment_rows()}
    assert clean.opsgenie_api_url is None
    opsgenie = rows["VIGIE_OPSGENIE_API_URL"]
    assert opsgenie.startswith(f"`{default_base_url('opsgenie')}` (`jsm`: `")
    assert f"`jsm`: `{default_base_url('jsm')}`" in opsgenie
    assert clean.jsm_api_url is None
    assert rows["VIGIE_JSM_API_URL"] == f"`{JSM_OPERATIONS_REST.format(cloud_id='<cloud id>')}`"
    assert clean.matrix_path == clean.config_dir / "escalation_matrix.toml"
    assert rows["VIGIE_MATRIX_FILE"] == "`<config dir>/escalation_matrix.toml`"
    assert clean.config_dir == ROOT / "config"
    assert rows["VIGIE_CONFIG_DIR"] == "`config/` of this project"
