"""The lessons-learned (REX) draft, written from what the crisis workflow recorded (§4.8).

It fills the technical-facts sheet (FFT) from the record, lists the follow-up actions
(urgent changes) and prepares the analysis of how the crisis was run from the chronogram:
steps kept are strengths, steps late or missed are weaknesses. In the crisis's language.
"""

from __future__ import annotations

from datetime import datetime

from workflows.crisis_models import CrisisState, Milestone
from workflows.crisis_rules import is_incident, shown_step
from workflows.texts import value, when

RACI = {
    "fr": (
        ("Pilotage de l'escalade managériale (périmètre infogérant)", "A, R", "", "C"),
        ("Validation de la situation de crise", "A, R", "R", "R"),
        ("Pilotage de la cellule de crise (périmètre infogérant)", "A, R", "I", "I"),
        ("Pilotage de la cellule de crise (périmètre client)", "C", "I", "A, R"),
        ("Communication opérationnelle", "A, R", "I", "I"),
        ("Communication clients finaux / hiérarchie", "I, C", "I", "A, R"),
        ("Mobilisation des équipes techniques infogérant", "A, R", "R", "I"),
        ("Mobilisation des équipes client", "I", "I", "A, R"),
        ("Validation solution acceptable ou retour au nominal", "R", "I", "A, R"),
        ("Clôture de l'escalade ou de la crise (périmètre infogérant)", "A, R", "I", "I"),
        ("Clôture de l'escalade ou de la crise (périmètre client)", "I", "I", "A, R"),
    ),
    "en": (
        ("Steer managerial escalation (provider scope)", "A, R", "", "C"),
        ("Validate the crisis situation", "A, R", "R", "R"),
        ("Steer the crisis cell (provider scope)", "A, R", "I", "I"),
        ("Steer the crisis cell (client scope)", "C", "I", "A, R"),
        ("Operational communication", "A, R", "I", "I"),
        ("Communication to end users / hierarchy", "I, C", "I", "A, R"),
        ("Mobilise provider technical teams", "A, R", "R", "I"),
        ("Mobilise client teams", "I", "I", "A, R"),
        ("Validate acceptable solution or return to nominal", "R", "I", "A, R"),
        ("Close escalation or crisis (provider scope)", "A, R", "I", "I"),
        ("Close escalation or crisis (client scope)", "I", "I", "A, R"),
    ),
}

WORDS = {
    "fr": {
        "title": "REX", "crisis": "Crise", "incident": "incident", "criterion":
        "Critère d'activation", "triggered": "déclenchée par", "provider": "l'infogérant",
        "client": "le client", "matrix": "Matrice d'escalade version", "level":
        "niveau le plus haut atteint", "due": "Rapport attendu avant le", "summary": "Synthèse",
        "to_write": "(à rédiger)", "fft": "Fiche de faits techniques (FFT)", "fact": "fait",
        "when": "quand", "who": "qui", "t0": "T0 (début de la coupure)",
        "t0_event": "T0 (début de l'événement)", "ticket":
        "Ouverture du ticket", "ack": "Prise en compte", "escalation": "Escalade niveau",
        "cell": "Ouverture de la cellule de crise", "drp": "Décision PRA", "restored":
        "Service rétabli", "nominal": "Retour au nominal confirmé (client)", "closed":
        "Crise clôturée", "conference": "Conférence", "chronogram":
        "Respect du chronogramme", "step": "étape", "target": "cible", "done": "fait",
        "status": "statut", "decisions": "Décisions", "no_drp": "PRA : aucune décision",
        "updates": "Points de situation", "none": "aucun", "followup":
        "Actions de suivi (gestion des changements)", "urgent": "Changement urgent",
        "open": "en cours", "conduct": "Conduite de la crise", "strengths": "Points forts",
        "weaknesses": "Points faibles", "plan": "Plan d'action (comité de production)",
        "improve": "Plan d'amélioration du processus", "cell_members": "Cellule de crise",
        "member": "membre", "role": "rôle", "permanent": "permanent", "took_part": "a participé",
        "yes": "oui", "no": "non", "none_f": "aucune",
        "validated": "validée", "declined": "non validée", "raci": "RACI (procédure §4.7)",
        "activity": "activité",
        "pm": "manager infogérant", "pa": "admin infogérant", "timeline": "Chronologie",
        "validations": "Validation de la situation de crise", "unconfirmed":
        "Clôturée sans confirmation du client", "trimmed": "{n} événements intermédiaires "
        "sont dans l'historique Temporal des exécutions précédentes de la crise "
        "(`temporal workflow show` sur chaque exécution).",
    },
    "en": {
        "title": "REX", "crisis": "Crisis", "incident": "incident", "criterion":
        "Activation criterion", "triggered": "triggered by", "provider": "the provider",
        "client": "the client", "matrix": "Escalation matrix version", "level":
        "highest level reached", "due": "Report due", "summary": "Summary", "to_write":
        "(to write)", "fft": "Technical facts sheet (FFT)", "fact": "fact", "when": "when",
        "who": "who", "t0": "T0 (outage began)", "t0_event": "T0 (event began)",
        "ticket": "Ticket opened", "ack":
        "Acknowledged", "escalation": "Escalation level", "cell": "Crisis cell opened",
        "drp": "DRP decision", "restored": "Service restored", "nominal":
        "Return to nominal confirmed (client)", "closed": "Crisis closed", "conference":
        "Conference", "chronogram": "Chronogram compliance", "step": "step", "target":
        "target", "done": "done", "status": "status", "decisions": "Decisions", "no_drp":
        "DRP (PRA): no decision recorded", "updates": "Status updates", "none": "none",
        "followup": "Follow-up actions (change management)", "urgent": "Urgent change",
        "open": "open", "conduct": "How the crisis was run", "strengths": "Strengths",
        "weaknesses": "Weaknesses", "plan": "Action plan (production committee)",
        "improve": "Process improvement plan", "cell_members": "Crisis cell", "member":
        "member", "role": "role", "permanent": "permanent", "took_part": "took part", "yes":
        "yes", "no": "no", "none_f": "none",
        "validated": "validated", "declined": "declined", "raci": "RACI (procedure §4.7)",
        "activity": "activity", "pm":
        "provider manager", "pa": "provider admin", "timeline": "Timeline", "validations":
        "Validation of the crisis situation", "unconfirmed":
        "Closed without the client's confirmation", "trimmed": "{n} intermediate events are "
        "in the Temporal history of the crisis's earlier runs (`temporal workflow show` on "
        "each run).",
    },
}  # fmt: skip


def rex_draft(state: CrisisState) -> str:
    lang, zone = state.language, state.policy.business_hours.timezone
    w = WORDS[lang]
    # French typography: a space before the colon and the semicolon.
    c, semi = (" :", " ;") if lang == "fr" else (":", ";")

    def at(moment: datetime | None) -> str:
        return when(moment, lang, zone) if moment else "—"

    def step(name: str) -> str:
        return value("step", shown_step(name, state), lang)

    by_step: dict[str, Milestone] = {m.step: m for m in state.milestones}
    lines = [
        f"# {w['title']} — {state.title}",
        "",
        f"- {w['crisis']}{c} `{state.crisis_id}`"
        + (f" ({w['incident']} `{state.incident_id}`)" if state.incident_id else ""),
        f"- {w['criterion']}{c} {value('criterion', state.criterion, lang)}{semi} "
        f"{w['triggered']} {w[state.triggered_by]}",
        f"- {w['matrix']} {state.matrix.version}{semi} {w['level']}{c} {state.level}",
        f"- {w['due']} {at(state.rex_due_at)}",
        "",
        f"## {w['summary']}",
        "",
        state.summary or w["to_write"],
        "",
        f"## {w['fft']}",
        "",
        f"| {w['fact']} | {w['when']} | {w['who']} |",
        "|---|---|---|",
        f"| {w['t0'] if is_incident(state) else w['t0_event']} | {at(state.t0)} | |",
    ]
    for name, label in (("ticket_opened", "ticket"), ("acknowledgement", "ack")):
        m = by_step.get(name)
        if m is not None and m.status != "not_applicable":
            # Settled by what the incident reported: its ticket names who.
            who = state.incident_id if m.by == "incident" and state.incident_id else m.by
            lines.append(f"| {w[label]} | {at(m.done_at)} | {who or ''} |")
    for e in state.timeline:
        if e.kind == "escalation" and "to" in e.fields:
            lines.append(f"| {w['escalation']} {e.fields.get('level', '')} | {at(e.at)} | {e.by} |")
    cell = by_step.get("cell_opening")
    if cell is not None and cell.done_at is not None:
        lines.append(f"| {w['cell']} | {at(cell.done_at)} | |")
    if state.drp is not None:
        drp = "activated" if state.drp.activate else "not_activated"
        lines.append(
            f"| {w['drp']}{c} {value('drp', drp, lang)} ({state.drp.reason}) | "
            f"{at(state.drp.at)} | {state.drp.by} |"
        )
    for key, acted in (
        ("restored", state.restored),
        ("nominal", state.nominal_confirmed),
        ("closed", state.closed),
    ):
        if acted is not None:
            role = f" ({value('role', acted.role, lang)})" if acted.role else ""
            lines.append(f"| {w[key]} | {at(acted.at)} | {acted.by}{role} |")
    if state.conference is not None:
        lines.append(
            f"| {w['conference']} ({state.conference.provider}) | | {state.conference.url} |"
        )
    if state.closed is not None and state.nominal_confirmed is None and state.closed.note:
        lines += ["", f"{w['unconfirmed']}{c} {state.closed.note}"]

    lines += [
        "",
        f"## {w['chronogram']}",
        "",
        f"| {w['step']} | {w['target']} | {w['done']} | {w['status']} |",
        "|---|---|---|---|",
    ]
    for m in state.milestones:
        status = value("milestone_status", m.status, lang)
        lines.append(f"| {step(m.step)} | {at(m.due_at)} | {at(m.done_at)} | {status} |")

    lines += ["", f"## {w['decisions']}", ""]
    if state.drp is None:
        lines.append(f"- {w['no_drp']}")
    else:
        drp = "activated" if state.drp.activate else "not_activated"
        lines.append(
            f"- {w['drp']}{c} {value('drp', drp, lang)} — {state.drp.by}, {at(state.drp.at)}{c} "
            f"{state.drp.reason}"
        )
    if state.validations:
        lines += ["", f"### {w['validations']}", ""]
        for v in state.validations:
            role = f" ({value('role', v.role, lang)})" if v.role else ""
            party = value("party", v.party, lang)
            party = party[:1].upper() + party[1:]
            decision = w[v.decision]
            lines.append(f"- {party}{c} {decision} — {v.by}{role}, {at(v.at)}")

    lines += ["", f"## {w['followup']}", ""]
    for change in state.urgent_changes:
        done = f"{at(change.done_at)}{c} {change.outcome}" if change.done_at else w["open"]
        lines.append(f"- {w['urgent']} {change.id} — {change.what} ({change.why}) — {done}")
    if not state.urgent_changes:
        lines.append(f"- {w['none_f']}")  # actions

    lines += ["", f"## {w['updates']}", ""]
    for u in state.updates:
        lines.append(f"- {at(u.at)} ({u.by}){c} {u.progress}")
    if not state.updates:
        lines.append(f"- {w['none']}")

    kept = [m for m in state.milestones if m.status == "met"]
    slipped = [m for m in state.milestones if m.status in ("late", "missed")]
    lines += ["", f"## {w['conduct']}", "", f"### {w['strengths']}", ""]
    lines += [f"- {step(m.step)}{c} {value('milestone_status', 'met', lang)}" for m in kept]
    lines += ["", f"### {w['weaknesses']}", ""]
    lines += [
        f"- {step(m.step)}{c} {value('milestone_status', m.status, lang)}" for m in slipped
    ] or [f"- {w['none']}"]
    lines += ["", f"### {w['plan']}", "", w["to_write"], "", f"### {w['improve']}", ""]
    lines += [w["to_write"], ""]

    lines += [
        f"## {w['cell_members']}",
        "",
        f"| {w['member']} | {w['role']} | {w['permanent']} | {w['took_part']} |",
        "|---|---|---|---|",
    ]
    for member in state.members:
        lines.append(
            f"| {member.name} <{member.email}> | {value('role', member.role, lang)} | "
            f"{w['yes'] if member.permanent else w['no']} | "
            f"{w['yes'] if member.participating else w['no']} |"
        )
    lines += [
        "",
        f"## {w['raci']}",
        "",
        f"| {w['activity']} | {w['pm']} | {w['pa']} | {w['client']} |",
        "|---|---|---|---|",
        *(f"| {a} | {m} | {ad} | {c} |" for a, m, ad, c in RACI[lang]),
        "",
        f"## {w['timeline']}",
        "",
        *(f"- {at(e.at)} — {e.by}{c} {e.text}" for e in state.timeline),
        "",
    ]
    if state.timeline_trimmed:
        lines += [w["trimmed"].format(n=state.timeline_trimmed), ""]
    return "\n".join(lines)
