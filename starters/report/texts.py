"""What the service review says, in French (the default) or English: one language per report."""

from __future__ import annotations

from datetime import date, datetime

from workflows.crisis_rules import CrisisKind, shown_step
from workflows.texts import value, when

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Revue de service", "period": "Période", "customer": "Client",
        "all_customers": "tous les clients", "generated": "Établie le",
        "summary": "Synthèse", "incidents": "Incidents", "cancelled": "annulés, non comptés",
        "mtta": "Délai moyen de prise en compte (MTTA)",
        "mttr": "Délai moyen de résolution (MTTR)",
        "mean": "moyenne", "median": "médiane", "p90": "90e centile",
        "business": "en heures ouvrées", "wall": "en temps calendaire",
        "ack_compliance": "Prises en compte dans les délais",
        "resolution_compliance": "Résolutions dans les délais",
        "reopened": "Incidents réouverts", "pending": "Temps en attente (cumul)",
        "by_class": "Par priorité et niveau de service", "class": "Classe",
        "breaches": "Dépassements de délai", "deadline": "Délai", "due": "Échéance",
        "done": "Réalisé", "late_by": "Retard", "not_done": "pas encore",
        "crises": "Crises", "crisis": "Crise", "chronogram": "Chronogramme respecté",
        "rex": "REX", "rex_due": "REX attendu", "rex_on_time": "REX remis à temps",
        "yes": "oui", "no": "non", "pending_decision": "en cours", "none": "aucun",
        "none_f": "aucune",
        "ack": "prise en compte", "resolution": "résolution", "acknowledgement": "prise en compte",
        "met": "tenu", "missed": "manqué", "late": "en retard",
        "charts": "Graphiques", "no_data": "pas de données sur la période",
        "chart_compliance": "Délais tenus par classe (%)",
        "chart_mtta": "MTTA par semaine (min)", "chart_mttr": "MTTR par semaine (h)",
        "chart_breaches": "Dépassements par semaine",
        "chart_chronogram": "Étapes du chronogramme des crises",
        "minutes": "min", "decided": "décidés",
    },
    "en": {
        "title": "Service review", "period": "Period", "customer": "Customer",
        "all_customers": "all customers", "generated": "Generated",
        "summary": "Summary", "incidents": "Incidents", "cancelled": "cancelled, not counted",
        "mtta": "Mean time to acknowledge (MTTA)", "mttr": "Mean time to resolve (MTTR)",
        "mean": "mean", "median": "median", "p90": "90th percentile",
        "business": "in business hours", "wall": "wall clock",
        "ack_compliance": "Acknowledged on time", "resolution_compliance": "Resolved on time",
        "reopened": "Incidents reopened", "pending": "Time pending (total)",
        "by_class": "By priority and service level", "class": "Class",
        "breaches": "Deadlines missed", "deadline": "Deadline", "due": "Due",
        "done": "Done", "late_by": "Late by", "not_done": "not yet",
        "crises": "Crises", "crisis": "Crisis", "chronogram": "Chronogram kept",
        "rex": "REX", "rex_due": "REX due", "rex_on_time": "REX on time",
        "yes": "yes", "no": "no", "pending_decision": "open", "none": "none",
        "none_f": "none",
        "ack": "acknowledgement", "resolution": "resolution", "acknowledgement": "acknowledgement",
        "met": "met", "missed": "missed", "late": "late",
        "charts": "Charts", "no_data": "no data for the period",
        "chart_compliance": "Deadlines kept per class (%)",
        "chart_mtta": "MTTA per week (min)", "chart_mttr": "MTTR per week (h)",
        "chart_breaches": "Deadlines missed per week",
        "chart_chronogram": "Crisis chronogram steps",
        "minutes": "min", "decided": "decided",
    },
}  # fmt: skip


class Words:
    """The report's wording in one language, times in the business time zone to the minute."""

    def __init__(self, language: str, timezone: str) -> None:
        self.language = language if language in WORDS else "fr"
        self.timezone = timezone
        self._words = WORDS[self.language]

    def __getitem__(self, key: str) -> str:
        return self._words[key]

    def when(self, at: datetime | None) -> str:
        return "—" if at is None else when(at, self.language, self.timezone)

    def day(self, day: date) -> str:
        return f"{day:%d/%m/%Y}" if self.language == "fr" else day.isoformat()

    def share(self, fraction: float | None) -> str:
        if fraction is None:
            return "—"
        text = f"{100 * fraction:.1f} %"
        return text.replace(".", ",") if self.language == "fr" else text.replace(" %", "%")

    def minutes(self, amount: float | None) -> str:
        if amount is None:
            return "—"
        text = f"{amount:,.1f} min"
        if self.language == "fr":
            text = text.replace(",", " ").replace(".", ",")
        return text

    def flag(self, kept: bool | None) -> str:
        return (
            self._words["pending_decision"]
            if kept is None
            else self._words["yes" if kept else "no"]
        )

    def step(self, name: str, crisis: CrisisKind | None = None) -> str:
        """A chronogram step; of ``crisis``, T0+30 tells DNUM of a P1 or of a crisis event."""
        return value("step", shown_step(name, crisis) if crisis else name, self.language)

    def milestone(self, status: str) -> str:
        return value("milestone_status", status, self.language)

    def criterion(self, name: str) -> str:
        return value("criterion", name, self.language)
