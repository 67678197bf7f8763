"""The ledger in production: the compose file's PostgreSQL database, the Grafana dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.test_deployment import compose
from workers.ledger import GAUGES
from workflows.metrics import COUNTERS

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "vigie-dashboard.json"


def test_the_worker_keeps_its_ledger_in_the_compose_postgresql() -> None:
    services = compose()["services"]
    url = make_url(services["vigie-worker"]["environment"]["VIGIE_DATABASE_URL"])
    assert (url.get_backend_name(), url.host, url.port, url.database) == (
        "postgresql", "postgresql", 5432, "vigie"
    )  # fmt: skip
    assert "temporal_visibility vigie; do" in services["temporal-schema"]["command"][0]
    assert "VIGIE_DATABASE_URL" not in services["vigie-webhook"]["environment"]


def test_grafana_dashboard_uses_only_metrics_vigie_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exported = set(COUNTERS) | set(GAUGES)
    titles = [p["title"] for p in dashboard["panels"]]
    assert len(titles) == len(set(titles)) >= 8
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            used = set(re.findall(r"\b(vigie_[a-z_]+)\b", target["expr"]))
            assert used and used <= exported, (panel["title"], used - exported)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "customer"}
