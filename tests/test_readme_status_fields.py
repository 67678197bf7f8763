"""README's list of the fields the incident's ``status`` query returns is the model's."""

from __future__ import annotations

import re
from pathlib import Path

from workflows.models import IncidentView

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_status_fields_listed_are_the_ones_returned() -> None:
    text = README.read_text(encoding="utf-8")
    paragraph = text.split("The query **`status`** returns the incident as JSON:", 1)[1]
    paragraph = paragraph.split("Every time is ISO", 1)[0]
    listed = set(re.findall(r"`([a-z0-9_]+)`", paragraph))
    assert listed == set(IncidentView.model_fields), (
        f"not in README: {sorted(set(IncidentView.model_fields) - listed)}; "
        f"not returned: {sorted(listed - set(IncidentView.model_fields))}"
    )
