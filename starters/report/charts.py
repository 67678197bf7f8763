"""The service review's charts, drawn with matplotlib as SVG to inline in the HTML report.

Text stays text in the SVG (the reader's sans-serif font draws it), ids are stable, and no
date is written in the file, so the same figures give the same bytes.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from starters.report.compute import Report
from starters.report.texts import Words

BLUE, ORANGE, RED, GREEN, GREY = "#1f5fa8", "#e08a1e", "#c0392b", "#2e8b57", "#8a8f98"
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "vigie",
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    # Inline in HTML: no XML prologue or DOCTYPE, and a width that follows the page.
    text = text[text.index("<svg") :]
    return re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        r'<svg\1 style="max-width:100%;height:auto"',
        text,
        count=1,
    )


def _empty(ax: plt.Axes, w: Words) -> None:
    ax.text(0.5, 0.5, w["no_data"], ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def compliance_per_class(report: Report, w: Words) -> str:
    figure, ax = plt.subplots(figsize=(7.5, 3.2))
    classes = report.by_class
    if not classes:
        _empty(ax, w)
    else:
        labels = [f"{c.priority} {c.service_level}" for c in classes]
        x = range(len(classes))
        ack = [100 * (c.ack_compliance or 0) for c in classes]
        fix = [100 * (c.resolution_compliance or 0) for c in classes]
        ax.bar([i - 0.2 for i in x], ack, width=0.4, color=BLUE, label=w["ack"])
        ax.bar([i + 0.2 for i in x], fix, width=0.4, color=ORANGE, label=w["resolution"])
        ax.set_xticks(list(x), labels)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(w["chart_compliance"], loc="left")
    return _svg(figure)


def times_over_weeks(report: Report, w: Words) -> str:
    figure, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.0))
    weeks = [f"{x.week:%d/%m}" for x in report.weekly]
    mtta = [x.mtta_minutes for x in report.weekly]
    mttr = [None if x.mttr_minutes is None else x.mttr_minutes / 60 for x in report.weekly]
    for ax, values, color, title, unit in (
        (left, mtta, BLUE, w["chart_mtta"], "min"),
        (right, mttr, ORANGE, w["chart_mttr"], "h"),
    ):
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if not points:
            _empty(ax, w)
        else:
            ax.plot([i for i, _ in points], [v for _, v in points], marker="o", color=color)
            ax.set_xticks(range(len(weeks)), weeks, rotation=45, ha="right")
            ax.set_ylim(bottom=0)
            ax.set_ylabel(unit)
        ax.set_title(title, loc="left")
    figure.tight_layout()
    return _svg(figure)


def breaches_per_week(report: Report, w: Words) -> str:
    figure, ax = plt.subplots(figsize=(7.5, 2.8))
    weeks = [f"{x.week:%d/%m}" for x in report.weekly]
    ack = [x.ack_breaches for x in report.weekly]
    fix = [x.resolution_breaches for x in report.weekly]
    if not any(ack) and not any(fix):
        _empty(ax, w)
    else:
        x = range(len(weeks))
        ax.bar(x, ack, color=BLUE, label=w["ack"])
        ax.bar(x, fix, bottom=ack, color=RED, label=w["resolution"])
        ax.set_xticks(list(x), weeks, rotation=45, ha="right")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(w["chart_breaches"], loc="left")
    return _svg(figure)


def chronogram(report: Report, w: Words) -> str:
    """Per chronogram step, over the period's crises: met, late and missed."""
    steps: dict[str, dict[str, int]] = {}
    for crisis in report.crises:
        for m in crisis.milestones:
            if m.status in ("met", "late", "missed"):
                steps.setdefault(m.step, {"met": 0, "late": 0, "missed": 0})[m.status] += 1
    figure, ax = plt.subplots(figsize=(7.5, 0.5 + 0.4 * max(len(steps), 3)))
    if not steps:
        _empty(ax, w)
    else:
        names = list(steps)
        left = [0] * len(names)
        for status, color in (("met", GREEN), ("late", ORANGE), ("missed", RED)):
            counts = [steps[n][status] for n in names]
            ax.barh(names, counts, left=left, color=color, label=w[status])
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.set_yticks(range(len(names)), [w.step(n) for n in names])
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(w["chart_chronogram"], loc="left")
    return _svg(figure)


def all_charts(report: Report, w: Words) -> list[str]:
    return [
        compliance_per_class(report, w),
        times_over_weeks(report, w),
        breaches_per_week(report, w),
        chronogram(report, w),
    ]
