"""Walks the README's Temporal Web UI steps on the local dev stack in Chromium, as a new
incident manager would: a screenshot per step and one line each, PASS or FAIL with what was
seen, then NOTE lines for what misleads a reader. Optional, not part of `make test`:

    apt-get install chromium                          # Debian's; no browser is downloaded
    .venv/bin/pip install -c requirements.lock -e '.[dev,browser]'
    .venv/bin/python -m tests.browser.ui_walk [--out DIR] [--chromium PATH]

It starts its own `vigie dev` on free ports in DIR/stack, opens incidents with the `vigie`
CLI, and drives the UI with the browser's time zone and language set to the business ones.
Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from tests.browser import temporal_ui as ui
from tests.browser.dev_stack import DevStack
from workers.policy_file import load_policy
from workers.settings import DEFAULT_CONFIG_DIR

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
COLUMNS = [
    "IncidentStatus",
    "IncidentPriority",
    "ServiceLevel",
    "NextDue",
    "SlaBreached",
    "CrisisStatus",
    "CrisisLevel",
]


OPENED = {  # with the `vigie` CLI: title, service level, priority, requester
    "p1": ("Checkout down", "gold", "P1", "client@example.org"),
    "p2": ("Disk full on db-3", "silver", "P2", "ann@example.org"),
    "throwaway": ("Opened by mistake", "bronze", "P3", "ann@example.org"),
    "terminated": ("Stuck for good", "bronze", "P3", "ann@example.org"),
}


class Failed(AssertionError):
    """A step saw something other than what the README says."""


def check(condition: bool, seen: str) -> None:
    if not condition:
        raise Failed(seen)


def decoded(answer: Any) -> Any:
    """The first payload in a UI API answer, decoded from its JSON (payloads are base64)."""
    if isinstance(answer, dict):
        if answer.get("payloads"):
            return json.loads(base64.b64decode(answer["payloads"][0]["data"]))
        for value in answer.values():
            if (found := decoded(value)) is not None:
                return found
    return None


def one_line(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Walk:
    page: Page
    stack: DevStack
    out: Path
    ids: dict[str, str] = field(default_factory=dict)
    manager: list[str] = field(default_factory=list)
    results: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step(self, name: str, action: Callable[[Walk], str]) -> None:
        number = len(self.results) + 1
        shot = self.out / f"{number:02d}-{name}.png"
        try:
            seen, verdict = action(self), "PASS"
        except Exception as exc:  # a step that breaks is reported, and the walk goes on
            seen, verdict = f"{type(exc).__name__}: {exc}", "FAIL"
            if not isinstance(exc, Failed | TimeoutError):
                traceback.print_exc(file=sys.stderr)
        try:
            self.page.screenshot(path=shot, full_page=True)
        except Exception as exc:
            seen += f" (no screenshot: {exc})"
        self.results.append((verdict, name, seen))
        print(f"{verdict} {number:02d} {name}: {one_line(seen, 600)} [{shot.name}]", flush=True)

    def shot(self, label: str) -> None:
        """A screenshot within the step under way."""
        number = len(self.results) + 1
        self.page.screenshot(path=self.out / f"{number:02d}{label}.png", full_page=True)

    def note(self, text: str) -> None:
        self.notes.append(text)


# ------------------------------------------------------------------ the steps


def list_page(w: Walk) -> str:
    ui.workflows(w.page, w.stack.ui_url)
    found = ui.eventually(lambda: " ".join(ui.rows(w.page)), lambda t: w.ids["p2"] in t)
    check(w.ids["p1"] in found, f"P1 missing from the list: {found}")
    title_shown = w.page.get_by_text("Checkout down").count() > 0
    if not title_shown:
        w.note(
            "Workflows list: an incident's title (its Summary) is not shown in the list, "
            "and no column offers it; only the workflow id says which incident it is."
        )
    return f"columns {ui.headers(w.page)}; title in the list: {'yes' if title_shown else 'no'}"


def query_p1(w: Walk) -> str:
    query = 'IncidentStatus="open" AND IncidentPriority="P1"'
    ui.raw_query(w.page, query)
    found = ui.eventually(lambda: " ".join(ui.rows(w.page)), lambda t: w.ids["p1"] in t)
    check(w.ids["p2"] not in found, f"P2 listed for {query}: {found}")
    chips = [
        " ".join(c.split())
        for c in w.page.get_by_role("button")
        .filter(has_text=re.compile(r"Incident(Status|Priority)\s*="))
        .all_inner_texts()
    ]
    return f"{query} → {len(ui.rows(w.page))} row ({w.ids['p1']}); filter chips {chips}"


def columns(w: Walk) -> str:
    ui.workflows(w.page, w.stack.ui_url)
    header = ui.configure_columns(w.page, add=COLUMNS, remove=["Run ID", "Type", "End"])
    check(all(c in header for c in COLUMNS), f"columns after adding: {header}")
    row = ui.eventually(
        lambda: next((r for r in ui.rows(w.page) if w.ids["p1"] in r), ""), lambda r: "P1" in r
    )
    check(" open P1 gold " in f" {row} ", f"P1 row: {row}")
    w.page.reload()
    kept = ui.eventually(lambda: str(ui.headers(w.page)), lambda h: "NextDue" in h, timeout=10)
    return f"header {header}, still there after a reload {kept}; P1 row: {row}"


def incident_page(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    tabs = [" ".join(t.split()) for t in w.page.get_by_role("tab").all_inner_texts()]
    cancel = w.page.get_by_role("button", name=ui.REQUEST_CANCELLATION).is_visible()
    menu = ui.more_actions(w.page)
    check(cancel and {"Send a Signal", "Send an Update"} <= set(menu), f"menu {menu}")
    # The README: a P1 incident's task queue key shows in the header as "Priority 2".
    header = w.page.locator("main").inner_text()
    key = re.search(r"Priority\s+(\d)", header)
    check(key is not None and key.group(1) == "2", f"no 'Priority 2' in the header {header!r}")
    return (
        f"button '{ui.REQUEST_CANCELLATION}', '{ui.MORE_ACTIONS}' menu {menu}; tabs {tabs}; "
        f"header shows the task queue key as 'Priority 2'"
    )


def current_details(w: Walk) -> str:
    seen = ui.wait_current_details(w.page, "P1 · Gold · Checkout down")
    details = seen["Current Details"]
    check(seen["Summary"].strip() == "Checkout down", f"Summary: {seen['Summary']!r}")
    due = r"\d\d/\d\d/\d{4} \d\d:\d\d CES?T"
    check(
        re.search(rf"prise en compte avant : {due} \(reste .+ au {due}\)", details) is not None,
        f"no acknowledgement deadline and time left in the business time zone: {details!r}",
    )
    check(details.splitlines()[-1].startswith("dernier événement:"), "no last event")
    return (
        f"User Metadata tab: Summary {seen['Summary']!r}; Details {seen['Details']!r}; "
        f"Current Details {details!r}"
    )


def status_query(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    _shown, answer = ui.run_query(w.page, "status")
    status = decoded(answer)
    check(status is not None and status["incident_id"] == w.ids["p1"], f"answer {answer}")
    check(
        len(status["timeline"]) > 0 and '"timeline"' in w.page.locator("main").inner_text(),
        "no timeline in the status shown",
    )
    opened = status["opened_at"]
    if opened.endswith("+00:00"):
        w.note(
            f"Queries → status: every time is ISO 8601 in UTC ({opened}); only the "
            "timeline's `text` is in the business time zone."
        )
    return (
        f"Query Type 'status' → Run Query shows JSON: status {status['status']!r}, "
        f"opened_at {opened}, {len(status['timeline'])} timeline entries"
    )


def signal_refused(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    call = ui.send(w.page, "Signal", "close", '{"by": "alice"}').call
    check(call.ok, f"signal call answered {call.status}")
    w.page.get_by_text(ui.SENT_TOAST["Signal"]).first.wait_for()
    w.shot("a-signal-toast")
    seen = ui.wait_current_details(w.page, "Signal close")
    refusal = next(
        (line for line in seen["Current Details"].splitlines() if "dernier refus" in line), ""
    )
    check(bool(refusal), f"no refusal in Current Details: {seen['Current Details']!r}")
    status = json.loads(w.stack.vigie("status", w.ids["p1"], "--json"))
    kinds = [entry["kind"] for entry in status["timeline"]]
    check(kinds[-1] == "refused", f"the incident's timeline ends with {kinds[-1]!r}")
    if re.search(r"\b(cannot|the incident is|allowed when)\b", refusal):
        w.note(
            f"Current Details: the refusal mixes French and English in one sentence: "
            f"{refusal.strip()!r}"
        )
    return (
        f"toast {ui.SENT_TOAST['Signal']!r} (whatever the outcome); Current Details: "
        f"{refusal.strip()!r}; the status timeline ends with kind 'refused'"
    )


def signal_in_history(w: Walk) -> str:
    text = ui.history_event(w.page, "Workflow Execution Signaled")
    check('"by": "alice"' in text, "the signal's input is not shown")
    refused_here = "refus" in text.lower()
    check(not refused_here, "the refusal shows in Event History")
    return (
        "Event History: 'Workflow Execution Signaled' close with its input only; "
        "nothing there says it was refused"
    )


def update_refused(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    dialog = ui.send(w.page, "Update", "add_worklog", '{"by": "alice"}').dialog
    error = ui.eventually(dialog.inner_text, lambda t: "Field required" in t)
    message = next((line for line in error.splitlines() if "add_worklog:" in line), "")
    check(message.strip() == "add_worklog: text: Field required", f"dialog said {error!r}")
    check('File "' not in error, f"a stack trace under the refusal: {error!r}")
    w.shot("a-update-refused-dialog")
    dialog.locator("button", has_text="Cancel").click()
    updates = [e for e in w.stack.event_types(w.ids["p1"]) if "UPDATE" in e]
    check(not updates, f"the refused Update left {updates} in the history")
    ui.tab(w.page, "Event History")
    return f"dialog stays open with {message.strip()!r}, no stack trace; no event in the history"


def update_answer(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    data = '{"by": "alice", "text": "restarted the pods"}'
    sent = ui.send(w.page, "Update", "add_worklog", data)
    dialog, call = sent.dialog, sent.call
    answer = decoded(call.json())
    check(answer is not None and answer.get("incident_id") == w.ids["p1"], f"answer {answer}")
    w.page.get_by_text(ui.SENT_TOAST["Update"]).first.wait_for()
    check(not dialog.is_visible(), "the dialog stayed open")
    w.note(
        "Send an Update, accepted: the dialog closes on a toast 'Update successful'; the "
        "answer is only in Event History (Workflow Execution Update Completed → Outcome)."
    )
    text = ui.history_event(w.page, "Workflow Execution Update Completed")
    check("Outcome" in text and '"incident_id"' in text, "no outcome shown")
    outcome = w.page.get_by_text("Outcome", exact=True).last
    outcome.evaluate("e => e.scrollIntoView({block: 'center', inline: 'nearest'})")
    return (
        f"toast {ui.SENT_TOAST['Update']!r}, dialog closed; the answer "
        f"(status {answer['status']!r}, timeline {answer.get('timeline')!r}) shows under "
        "Event History → 'Workflow Execution Update Completed' → Outcome"
    )


def p2_details(w: Walk) -> str:
    """Current Details follow the incident; Details stay as at opening."""
    ui.workflow(w.page, w.stack.ui_url, w.ids["p2"])
    for name, data in (
        ("recategorize", '{"by": "im", "priority": "P3", "reason": "one user only"}'),
        ("acknowledge", '{"by": "alice"}'),
        ("set_pending", '{"by": "alice", "waiting_on": "customer", "reason": "need logs"}'),
    ):
        sent = ui.send(w.page, "Update", name, data)
        check(decoded(sent.call.json()) is not None, f"{name}: {sent.call.json()}")
        if name == "acknowledge" and "one user only" in sent.prefilled:
            w.note(
                "Send an Update: the Data box still holds the previous input sent from this "
                f"page ({' '.join(sent.prefilled.split())!r}); it has to be cleared first."
            )
        w.page.get_by_text(ui.SENT_TOAST["Update"]).first.wait_for()
    seen = ui.wait_current_details(w.page, "need logs")
    details = seen["Current Details"]
    lines = details.splitlines()
    check(lines[0] == "en attente · P3 · Silver · Disk full on db-3", f"first line {lines[0]!r}")
    check(any(line.startswith("pris en compte : ") for line in lines), f"{details!r}")
    check(any(line.startswith("en attente du client") for line in lines), f"{details!r}")
    if "P2" in seen["Details"]:
        w.note(
            f"User Metadata → Details keeps the class at opening ({seen['Details']!r}) "
            "after a recategorize, next to Current Details that say P3."
        )
    return (
        f"after recategorize, acknowledge, set_pending: Current Details {details!r}; "
        f"Details {seen['Details']!r}"
    )


def key_follows_class(w: Walk) -> str:
    """Made a P1, the incident moves to task queue key 2: the header says 'Priority 2', the
    Event History row reads as a versioning change until expanded (README)."""
    ui.workflow(w.page, w.stack.ui_url, w.ids["p2"])
    data = '{"by": "im", "priority": "P1", "reason": "every user now"}'
    sent = ui.send(w.page, "Update", "recategorize", data)
    check(decoded(sent.call.json()) is not None, f"recategorize: {sent.call.json()}")

    def moved() -> str:
        w.page.reload()
        return w.page.locator("main").inner_text()

    header = ui.eventually(moved, lambda text: re.search(r"Priority\s+2", text) is not None)
    text = ui.history_event(w.page, "Workflow Execution Options Updated")
    check("Unset Versioning Override" in text, "the row does not read as a versioning change")
    check(re.search(r'priorityKey"?\s*:?\s*2', text) is not None, "no key 2 once expanded")
    activity = "set_task_priority" in text or "task queue priority key 2" in text
    return (
        f"header {'Priority 2' if 'Priority' in header else header!r}; Event History: "
        f"'Workflow Execution Options Updated' reads 'Unset Versioning Override', key 2 when "
        f"expanded; the activity named there: {activity}"
    )


def crisis(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])
    call = ui.send(w.page, "Update", "qualify_p1", '{"by": "im", "verdict": "major"}').call
    answer = decoded(call.json())
    check(answer is not None and answer.get("crisis_id"), f"answer {answer}")
    w.ids["crisis"] = answer["crisis_id"]
    incident = ui.wait_current_details(w.page, w.ids["crisis"])["Current Details"]
    ui.workflows(w.page, w.stack.ui_url)
    ui.raw_query(w.page, 'CrisisStatus="active"')
    listed = ui.eventually(lambda: " ".join(ui.rows(w.page)), lambda t: w.ids["crisis"] in t)
    ui.workflow(w.page, w.stack.ui_url, w.ids["crisis"])
    seen = ui.wait_current_details(w.page, "escalade")
    header = w.page.locator("main").inner_text()
    check(re.search(r"Parent Workflow\s+incident-", header) is not None, "no Parent Workflow")
    details = seen["Current Details"]
    check("prochaine étape" in details and "PRA" in details, f"crisis details {details!r}")
    crisis_line = next(line for line in incident.splitlines() if w.ids["crisis"] in line)
    return (
        f"incident Current Details: {crisis_line.strip()!r}; Parent Workflow shown; "
        f'CrisisStatus="active" '
        f"lists {listed!r}; crisis Summary {seen['Summary']!r}, Current Details "
        f"{details!r}"
    )


def cancellation(w: Walk) -> str:
    wid = w.ids["throwaway"]
    ui.workflow(w.page, w.stack.ui_url, wid)
    w.page.get_by_role("button", name=ui.REQUEST_CANCELLATION).click()
    dialog = w.page.locator("dialog[open]")
    asked = " ".join(dialog.inner_text().split())
    w.shot("a-cancel-dialog")
    dialog.get_by_role("button", name="Confirm").click()
    badge = ui.eventually(lambda: ui.status_badge(w.page), lambda b: b.upper() == "CANCELED")
    reset_offered = w.page.get_by_role("button", name="Reset", exact=True).is_visible()
    seen = ui.wait_current_details(w.page, "annulé")
    w.shot("b-cancelled-incident")
    ui.workflows(w.page, w.stack.ui_url)
    ui.raw_query(w.page, 'IncidentStatus="cancelled"')
    ui.eventually(lambda: " ".join(ui.rows(w.page)), lambda t: wid in t)

    def cancelled_mail() -> str:
        found = [f"{subject} → {to}" for subject, to in w.stack.mails() if f"[{wid}]" in subject]
        return next((m for m in found if "Annulé" in m), "")

    mail = ui.eventually(cancelled_mail, bool)
    told = [a for a in ("ann@example.org", *w.manager) if a in mail]
    check(len(told) == 1 + len(w.manager), f"the cancellation mail went to {mail!r}")
    alert = ui.eventually(lambda: json.dumps(w.stack.alert(wid)), lambda a: '"closed"' in a)
    check('"status": "closed"' in alert, f"alert {alert}")
    if reset_offered:
        w.note(
            "After Request Cancellation, the button in its place is Reset, which the README "
            "says to avoid."
        )
    return (
        f"dialog {asked!r}; badge {badge!r}; Reset button: {reset_offered}; Current Details "
        f'{seen["Current Details"].splitlines()[0]!r}; listed by IncidentStatus="cancelled"; '
        f"mail {mail!r}; alert closed"
    )


def termination(w: Walk) -> str:
    wid = w.ids["terminated"]
    ui.workflow(w.page, w.stack.ui_url, wid)
    w.page.get_by_role("button", name=ui.MORE_ACTIONS).click()
    w.page.get_by_role("menuitem", name="Terminate").click()
    dialog = w.page.locator("dialog[open]")
    dialog.get_by_placeholder("Enter a reason").fill("browser check")
    asked = " ".join(dialog.inner_text().split())
    dialog.get_by_role("button", name="Terminate").click()
    badge = ui.eventually(lambda: ui.status_badge(w.page), lambda b: b.upper() == "TERMINATED")
    events = w.stack.event_types(wid)
    check(events[-1].endswith("TERMINATED"), f"history ends with {events[-1]}")
    check(w.stack.alert(wid)["status"] == "open", "the alert was closed")
    ui.workflows(w.page, w.stack.ui_url)
    ui.raw_query(w.page, 'IncidentStatus="open"')
    row = ui.eventually(
        lambda: next((r for r in ui.rows(w.page) if wid in r), ""), lambda r: bool(r)
    )
    check("TERMINATED" in row.upper(), f"row {row}")
    return (
        f"dialog {asked!r}; badge {badge!r}; the history ends on the termination; the alert "
        f'stays open; IncidentStatus="open" still lists it: {row!r}'
    )


def time_zone(w: Walk) -> str:
    ui.workflow(w.page, w.stack.ui_url, w.ids["p1"])

    def start() -> str:
        header = w.page.locator("main").inner_text()
        return next(iter(re.findall(r"Start\s+(.+)", header)), "")

    shown = start()
    menu = w.page.get_by_role("button", name=re.compile(r"^Timezone"))
    label = menu.inner_text().strip()
    check(label == "local", f"time zone menu says {label!r}")
    menu.click()
    w.page.get_by_placeholder("Search").filter(visible=True).fill("Paris")
    options = [
        " ".join(o.split())
        for o in w.page.get_by_role("menuitem").filter(visible=True).all_inner_texts()
    ]
    w.shot("a-time-zone-menu")
    w.page.get_by_role("button", name="Short", exact=True).click()
    w.page.get_by_role("button", name="24-hour", exact=True).click()
    w.page.keyboard.press("Escape")
    short = ui.eventually(start, lambda now: now != shown, timeout=5)
    w.note(
        f"The UI shows its own times in the browser's zone and language (here {shown!r}), "
        "to the hundredth of a second; the clock menu (top right, 'local') picks another "
        f"zone, e.g. {options[:1]}, and a shorter format ({short!r})."
    )
    return (
        f"time zone menu {label!r}; Start shown as {shown!r}; searching Paris offers "
        f"{options}; with Timestamp Format 'Short' and Hour Format '24-hour': {short!r}"
    )


STEPS: list[tuple[str, Callable[[Walk], str]]] = [
    ("workflows-list", list_page),
    ("query-open-p1", query_p1),
    ("list-columns", columns),
    ("incident-page", incident_page),
    ("current-details", current_details),
    ("status-query", status_query),
    ("signal-refused", signal_refused),
    ("signal-in-event-history", signal_in_history),
    ("update-refused", update_refused),
    ("update-answer", update_answer),
    ("p2-current-details", p2_details),
    ("key-follows-class", key_follows_class),
    ("crisis", crisis),
    ("request-cancellation", cancellation),
    ("terminate", termination),
    ("time-zone", time_zone),
]


def walk(out: Path, chromium: str, locale: str) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9]*.png"):
        old.unlink()
    policy = load_policy(DEFAULT_CONFIG_DIR)
    zone = policy.business_hours.timezone
    stack = DevStack(out / "stack")
    w: Walk | None = None
    print(f"starting vigie dev in {stack.folder} ...", flush=True)
    try:
        stack.start()
        ids = {
            key: stack.open_incident(
                "--title", title, "--service-level", level, "--priority", priority,
                "--requester", requester,
            )
            for key, (title, level, priority, requester) in OPENED.items()
        }  # fmt: skip
        print(f"Web UI {stack.ui_url}; incidents {ids}; browser in {zone}, {locale}", flush=True)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1600, "height": 1000},
                timezone_id=zone,
                locale=locale,
            )
            context.set_default_timeout(20_000)
            page = context.pages[0] if context.pages else context.new_page()
            w = Walk(page, stack, out, ids, policy.notifications.incident_manager)
            for name, action in STEPS:
                w.step(name, action)
            context.close()
    finally:
        code = stack.stop()
        print(f"vigie dev stopped (exit status {code})", flush=True)
    if w is None:
        return 1
    lines = [f"{verdict} {name}: {seen}" for verdict, name, seen in w.results]
    lines += [f"NOTE {text}" for text in w.notes]
    (out / "walk.txt").write_text("\n".join(lines) + "\n")
    for text in w.notes:
        print(f"NOTE {text}")
    failed = [name for verdict, name, _ in w.results if verdict == "FAIL"]
    passed = len(w.results) - len(failed)
    print(f"{passed}/{len(w.results)} steps passed; screenshots and walk.txt in {out}")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(".vigie/ui-walk"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--locale", default="fr-FR", help="the browser's language")
    args = parser.parse_args()
    sys.exit(walk(args.out.resolve(), args.chromium, args.locale))


if __name__ == "__main__":
    main()
