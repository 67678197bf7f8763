"""Reads the escalation matrix file and refuses a broken one clearly."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from workers.policy_file import describe_validation_error
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError

MATRIX_FILE = "escalation_matrix.toml"


def load_matrix(path: Path) -> EscalationMatrix:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return EscalationMatrix.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from exc
