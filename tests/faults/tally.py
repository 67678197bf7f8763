"""The figures of a fault run: faults survived, bad inputs tried, mails checked and lost.

Tests add to one ``Tally`` as they go; ``tests/faults/conftest.py`` prints it at the end of
the run and, when ``VIGIE_FAULTS_REPORT`` names a file, writes it there as JSON.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FULL = os.environ.get("VIGIE_FAULTS") == "full"
"""``make faults`` sets VIGIE_FAULTS=full: many more generated inputs per case."""


def examples(quick: int, full: int) -> int:
    """Generated examples per case: a few in ``make test``, many in ``make faults``."""
    return full if FULL else quick


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    bad_inputs: Counter[str] = field(default_factory=Counter)
    mails_checked: int = 0
    mails_lost: int = 0
    mails_delivered_twice: int = 0
    exits_checked: int = 0

    def fault(self, kind: str, count: int = 1) -> None:
        self.faults[kind] += count

    def bad_input(self, entrance: str, count: int = 1) -> None:
        self.bad_inputs[entrance] += count

    def as_dict(self) -> dict[str, Any]:
        return {
            "faults_survived": sum(self.faults.values()),
            "faults": dict(sorted(self.faults.items())),
            "bad_inputs_tried": sum(self.bad_inputs.values()),
            "bad_inputs": dict(sorted(self.bad_inputs.items())),
            "mails_checked": self.mails_checked,
            "mails_lost": self.mails_lost,
            "mails_delivered_twice": self.mails_delivered_twice,
            "exit_statuses_checked": self.exits_checked,
        }

    def empty(self) -> bool:
        return not (self.faults or self.bad_inputs or self.mails_checked or self.exits_checked)

    def write(self, path: Path, passed: bool) -> None:
        """The figures, and whether every case of the run passed (only then do they count)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        figures = {"run_passed": passed, **self.as_dict()}
        path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")

    def lines(self) -> list[str]:
        d = self.as_dict()
        return [
            f"faults survived: {d['faults_survived']} ({_each(d['faults'])})",
            f"bad inputs tried: {d['bad_inputs_tried']} ({_each(d['bad_inputs'])})",
            f"mails checked by Message-ID: {d['mails_checked']}, lost: {d['mails_lost']}, "
            f"delivered twice (same Message-ID): {d['mails_delivered_twice']}",
            f"exit statuses checked (all 0 after success): {d['exit_statuses_checked']}",
        ]


def _each(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


TALLY = Tally()
