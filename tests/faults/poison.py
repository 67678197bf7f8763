"""Values that break naive code: line breaks and other controls, NUL, huge sizes, and unicode
that looks like something else. Used at every entrance, and in every field that reaches a
mail header (Subject, To, From, Message-ID, X-Vigie-*)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from workflows.limits import MAX_TEXT, MAX_TITLE

POISON: dict[str, str] = {
    "crlf_header": "Checkout\r\nBcc: victim@evil.test",
    "lf_header": "Checkout\nX-Injected: yes",
    "cr": "Checkout\rdown",
    "nul": "Checkout\x00down",
    "escape": "\x1b[31mCheckout",
    "delete": "Check\x7fout",
    "next_line": "Check\x85out",
    "line_separator": "Check\u2028out",
    "paragraph_separator": "Check\u2029out",
    "lone_surrogate": "Check\ud800out",
    "right_to_left_override": "invoice\u202egnp.exe",
    "zero_width_joiner": "ad\u200dmin",
    "byte_order_mark": "\ufeffCheckout",
    "homoglyph": "\u0430dmin",  # Cyrillic a
    "combining_pile": "e" + "\u0301" * 200,
    "encoded_word": "=?utf-8?q?hi=0D=0ABcc:_victim@evil.test?=",
    "long_word": "x" * 998,
    "huge": "y" * 100_000,
    "emoji": "\U0001f525" * 50,
    "tab": "Check\tout",
    "only_spaces": "   ",
    "empty": "",
}
"""Named poison values, one of each trick."""


def encodable(text: str) -> bool:
    """Whether UTF-8 can carry it: a lone surrogate cannot, so a Temporal client sends it only
    as a JSON escape, which the worker refuses (tests/test_not_json_inputs.py); the webhook
    and the CLI can receive one, and are tested with it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Characters that break headers, JSON, terminals or encodings, and some that merely look odd.
TRICKY_CHARS = "\r\n\x00\x1b\x7f\x85\u2028\u2029\u202e\u200d\ufeff\u0430\t <>@,;:\"'\\=?"

CHARACTERS = st.characters(codec="utf-8")
"""Any character UTF-8 can carry."""

# Any text, weighted towards the tricky characters and the named values.
SMALL_POISON = [v for v in POISON.values() if encodable(v) and len(v) < 300]
tricky_text = st.one_of(
    st.sampled_from(SMALL_POISON),
    st.integers(MAX_TEXT - 10, 3 * MAX_TEXT).map(lambda n: "y" * n),  # around the limits
    st.integers(MAX_TITLE - 2, 1000).map(lambda n: "x" * n),
    st.text(alphabet=st.sampled_from(TRICKY_CHARS) | CHARACTERS, max_size=60),
    st.text(CHARACTERS, max_size=30).map(lambda t: t + "\r\nBcc: victim@evil.test"),
)

# Any JSON value, small.
KEYS = st.text(CHARACTERS, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


VALID: dict[str, dict[str, Any]] = {
    # incident
    "acknowledge": {"by": "alice", "note": "on it"},
    "add_worklog": {"by": "alice", "text": "restarted the pods"},
    "set_pending": {"by": "alice", "waiting_on": "customer", "reason": "logs asked"},
    "resume": {"by": "alice"},
    "recategorize": {"by": "alice", "priority": "P2", "reason": "wider impact"},
    "qualify_p1": {"by": "im", "verdict": "confirmed"},
    "resolve": {"by": "alice", "resolution": "rolled back"},
    "close": {"by": "alice"},
    "reopen": {"by": "bob", "reason": "back again"},
    "record_event": {"by": "opsgenie", "text": "escalated"},
    "request_urgent_change": {"by": "alice", "what": "open the firewall", "why": "site B"},
    "complete_urgent_change": {"by": "cm", "change_id": "INC-UC-1", "outcome": "done"},
    # crisis
    "post_update": {"by": "im", "progress": "failover running"},
    "decide_drp": {"by": "im", "activate": True, "reason": "site B"},
    "escalate": {"by": "im", "reason": "no news"},
    "add_member": {"by": "im", "name": "NOC", "email": "noc@partner.example.net", "kind": "expert"},
    "service_restored": {"by": "im"},
    "validate_crisis": {"by": "n1@client.example.org", "party": "client", "decision": "validated"},
    "confirm_nominal": {"by": "dnum@client.example.org"},
    "close_crisis": {"by": "dm", "summary": "back", "without_client_confirmation": "unreachable"},
    "submit_rex": {"by": "im", "link": "https://wiki.example.org/rex"},
    "incident_changed": {"by": "vigie", "event": "resolved", "at": "2026-11-29T10:00:00+00:00"},
}
"""A valid payload of every operation (the crisis's complete_urgent_change uses UC-1)."""


def operation_payloads(name: str, model: type[Any]) -> st.SearchStrategy[Any]:
    """Payloads for an operation: valid ones (the workflows move on and mail), valid ones
    with one field poisoned or of another type, unknown fields, and not an object at all."""
    valid = dict(VALID[name])
    names = list(model.model_fields)
    poisoned = st.dictionaries(
        st.sampled_from(names), tricky_text | json_values, min_size=1, max_size=2
    ).map(lambda extra: {**valid, **extra})
    unknown = st.dictionaries(
        st.text(CHARACTERS, max_size=10), json_values, min_size=1, max_size=2
    ).map(lambda extra: {**valid, **extra})
    return st.one_of(st.just(valid), poisoned, poisoned, unknown, json_values)
