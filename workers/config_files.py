"""Reading TOML configuration files into models, with errors that name the file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from workflows.policy import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _field_path(location: tuple[int | str, ...], raw: object = None) -> str:
    """The field as the file writes it: a value written in a short form (``gold = "2h"``
    for ``gold = { within = "2h" }``) is named without the key the model reads it into."""
    parts: list[str] = []
    for part in location:
        if str(part).startswith("function-"):
            continue
        if parts and isinstance(raw, str | int | float | bool):
            break  # the file gave a plain value here; the rest is the model's
        parts.append(str(part))
        if isinstance(raw, dict):
            raw = raw.get(part)
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            raw = None
    return ".".join(parts) or "(top level)"


def describe_validation_error(path: Path, error: ValidationError, raw: object = None) -> str:
    """One line per problem, naming the field as written in the file (``raw``, when given,
    is what the file held)."""
    lines = [f"{path}: {error.error_count()} problem(s)"]
    for item in error.errors():
        where = _field_path(item["loc"], raw)
        message = item["msg"]
        if item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif "input" in item and not isinstance(item["input"], dict):
            if repr(item["input"]) not in message:  # not said twice
                message = f"{message} (got {item['input']!r})"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def load_toml(path: Path, model: type[ModelT], hint: str = "") -> ModelT:
    """``path`` parsed and validated as ``model``; ConfigError says what is wrong and where."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found{hint}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc, raw)) from exc
