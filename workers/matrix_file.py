"""Reads the escalation matrix file and refuses a broken one clearly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from workers.config_files import load_toml
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError

log = logging.getLogger(__name__)

MATRIX_FILE = "escalation_matrix.toml"


def load_matrix(path: Path) -> EscalationMatrix:
    matrix = load_toml(path, EscalationMatrix)
    if matrix.warning is not None:  # the worker's own field
        raise ConfigError(f"{path}: 1 problem(s)\n  warning: unknown field (check the spelling)")
    return matrix


class LastValidMatrix:
    """The matrix file as it is now; while it is broken, the last valid one, its ``warning``
    saying why: a typo in the file never holds a crisis or a page up. Raises ConfigError only
    while no valid matrix was ever read."""

    def __init__(
        self, read: Callable[[], EscalationMatrix], last_valid: EscalationMatrix | None = None
    ) -> None:
        self._read = read
        self._last = last_valid

    def __call__(self) -> EscalationMatrix:
        try:
            matrix = self._read()
        except ConfigError as exc:
            if self._last is None:
                raise
            log.error(
                "escalation matrix file refused, version %s used: %s", self._last.version, exc
            )
            return self._last.model_copy(update={"warning": exc.told()})
        self._last = matrix
        return matrix
