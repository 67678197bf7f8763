"""What an incident carries to its next run at continue-as-new, kept under the payload limit.

The server refuses a payload over 2 MB, and the workflow task that tries to continue with one
fails again and again: the incident would be stuck, every operation refused. What travels:

- the state, with the timeline cut to the opening and the latest entries within
  ``TIMELINE_BYTES`` (the others stay in the earlier runs' histories);
- not the first run's input fields the state already holds (description, details);
- every mail and alert change still to send. Only when all that is still over
  ``CARRY_BYTES`` (a burst of long worklogs while the mail server is down) are the texts they
  quote shortened, more and more: every mail still goes out, with the same Message-ID, and
  the whole text stays in the history. Then, if need be, the waiting mails leave behind the
  incident's state at their event (``OutgoingMail.moment``) and show it as it is.

Pure code: the workflow calls it when it continues as new.
"""

from __future__ import annotations

from workflows.limits import clip
from workflows.models import IncidentInput, IncidentState, OutgoingMail
from workflows.timeline import shown_timeline

CARRY_BYTES = 1_500_000
"""At most about this many bytes go to the next run (the server's limit is 2 MB)."""
TIMELINE_BYTES = 512 * 1024
"""Of which the timeline takes at most about this many."""
QUOTE_LIMITS = (2000, 500, 100)
"""How short the texts quoted by waiting mails and alert notes become, step by step."""


def size(model: IncidentInput) -> int:
    return len(model.model_dump_json().encode("utf-8", "surrogatepass"))


def carried_input(input: IncidentInput, state: IncidentState) -> IncidentInput:
    kept = shown_timeline(state.timeline, TIMELINE_BYTES)
    trimmed = state.timeline_trimmed + len(state.timeline) - len(kept)
    carried = state.model_copy(update={"timeline": kept, "timeline_trimmed": trimmed})
    slim = input.model_copy(update={"state": carried, "description": None, "details": {}})
    for limit in QUOTE_LIMITS:
        if size(slim) <= CARRY_BYTES:
            break
        shorter = carried.model_copy(
            update={
                "outbox": [_shortened(mail, limit) for mail in carried.outbox],
                "alert_outbox": [
                    c.model_copy(update={"note": clip(c.note, limit)}) if c.note else c
                    for c in carried.alert_outbox
                ],
            }
        )
        slim = slim.model_copy(update={"state": shorter})
    if size(slim) > CARRY_BYTES and slim.state is not None:
        # Last, the state each waiting mail would show: they then show the incident as it is.
        bare = [mail.model_copy(update={"moment": None}) for mail in slim.state.outbox]
        slim = slim.model_copy(update={"state": slim.state.model_copy(update={"outbox": bare})})
    return slim


def _shortened(mail: OutgoingMail, limit: int) -> OutgoingMail:
    event = mail.event
    fields = {k: clip(v, limit) for k, v in event.fields.items()}
    return mail.model_copy(
        update={
            "event": event.model_copy(update={"text": clip(event.text, limit), "fields": fields})
        }
    )
