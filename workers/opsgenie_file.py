"""Reads the Opsgenie mapping file (config/opsgenie.toml) and refuses a broken one clearly."""

from __future__ import annotations

from pathlib import Path

from activities.providers.opsgenie.mapping import OpsgenieMapping
from workers.config_files import load_toml

OPSGENIE_FILE = "opsgenie.toml"


def load_mapping(config_dir: Path) -> OpsgenieMapping:
    return load_toml(config_dir / OPSGENIE_FILE, OpsgenieMapping, " (set VIGIE_CONFIG_DIR)")
