"""The connection to Temporal: a profile's address and namespace are kept unless Vigie's own
settings are set explicitly (a Temporal Cloud profile must not turn into localhost:7233)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.connection import connect_options
from workers.settings import Settings

PROFILE = """
[profile.default]
address = "acme.a1b2c.tmprl.cloud:7233"
namespace = "acme.a1b2c"
"""


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILE, encoding="utf-8")
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))


def test_a_profile_is_not_overridden_by_defaults(profile: None) -> None:
    options = connect_options(Settings())
    assert options["target_host"] == "acme.a1b2c.tmprl.cloud:7233"
    assert options["namespace"] == "acme.a1b2c"


def test_explicit_settings_win(profile: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    options = connect_options(Settings())
    assert options["target_host"] == "temporal.internal:7233"
    assert options["namespace"] == "acme.a1b2c"


def test_without_a_profile_the_local_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    options = connect_options(Settings())
    assert (options["target_host"], options["namespace"]) == ("localhost:7233", "default")
