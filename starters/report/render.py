"""The service review as JSON, CSV (one row per incident) or one self-contained HTML file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from starters.report.compute import INCIDENT_COLUMNS, Report
from starters.report.texts import Words
from workflows.limits import DIRECTION_CONTROLS

MAX_BREACHES_SHOWN = 500


def _shown(value: Any) -> Any:
    """Every value the page shows: typed direction controls left out (a U+202E in a title
    would show the rest of its cell backwards), as in mail subjects."""
    if isinstance(value, Markup):  # built by Vigie (the charts), typed text escaped in it
        return Markup(DIRECTION_CONTROLS.sub("", value))
    return DIRECTION_CONTROLS.sub("", value) if isinstance(value, str) else value


_templates = Environment(
    loader=PackageLoader("starters.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_shown,
)


def _local(value: Any, zone: ZoneInfo) -> Any:
    """Instants in the business time zone, ISO 8601 with their offset; dates as ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _local(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [_local(v, zone) for v in value]
    return value


def to_json(report: Report) -> str:
    data = _local(report.model_dump(mode="python"), ZoneInfo(report.timezone))
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def to_csv(rows: Sequence[Any], timezone: str) -> str:
    """One row per incident, every ledger column but its bookkeeping (revision, as of,
    recorded at), instants in the business time zone."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INCIDENT_COLUMNS)
    for row in rows:
        cells = []
        for name in INCIDENT_COLUMNS:
            cell = _local(getattr(row, name), zone)
            cells.append(
                "" if cell is None else str(cell).lower() if isinstance(cell, bool) else cell
            )
        writer.writerow(cells)
    return buffer.getvalue()


def to_html(report: Report, language: str) -> str:
    """One HTML file with its charts inline (SVG): no script, no link, readable offline."""
    from starters.report.charts import all_charts  # matplotlib loads only for HTML

    w = Words(language, report.timezone)
    rows = [
        ("mtta", "mtta", "wall"),
        ("mtta", "mtta_business", "business"),
        ("mttr", "mttr", "wall"),
        ("mttr", "mttr_business", "business"),
    ]
    return _templates.get_template("report.html.j2").render(
        r=report.model_dump(mode="python")
        | {"breaches": report.breaches, "crises": report.crises, "by_class": report.by_class},
        w=w,
        rows=rows,
        customer_name=report.customer or w["all_customers"],
        charts=all_charts(report, w),
        max_breaches=MAX_BREACHES_SHOWN,
    )
