"""The Temporal Web UI (2.54) as an incident manager uses it: its labels, and the moves the
README's steps need (Playwright, sync API). Selectors go by visible text and role; a test id
only where the UI gives a control no name (the raw-query and select buttons)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page, Response

NAMESPACE = "default"

# The labels of UI 2.54, as the README quotes them.
RAW_QUERY_TOGGLE = "toggle-manual-query"  # the </> button; tooltip "View raw query"
QUERY_BOX = "Enter a query"
CONFIGURE_COLUMNS = "Configure Columns"
REQUEST_CANCELLATION = "Request Cancellation"
MORE_ACTIONS = "More Actions"
SEND = {"Signal": "Send a Signal", "Update": "Send an Update"}
SENT_TOAST = {"Signal": "Workflow signaled.", "Update": "Update successful"}
SELECT_BUTTON = {"Signal": "signal-select-button", "Update": "update-select-button"}
METADATA_FRAMES = {
    "Summary": "user-metadata-summary",
    "Details": "user-metadata-details",
    "Current Details": "user-metadata-current-details",
}


def eventually(read: Callable[[], str], wanted: Callable[[str], bool], timeout: float = 20) -> str:
    """What ``read`` returns once ``wanted`` holds; TimeoutError naming the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        seen = read()
        if wanted(seen):
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"not seen within {timeout:.0f} s; last seen: {seen[:300]!r}")
        time.sleep(0.5)


def workflows(page: Page, ui: str) -> None:
    page.goto(f"{ui}/namespaces/{NAMESPACE}/workflows")
    page.get_by_role("button", name=CONFIGURE_COLUMNS).wait_for()


def raw_query(page: Page, query: str) -> None:
    """Types a query in the list's search box (shown by the </> "View raw query" button)."""
    box = page.get_by_placeholder(QUERY_BOX)
    if not box.is_visible():
        page.get_by_test_id(RAW_QUERY_TOGGLE).click()
    box.fill(query)
    box.press("Enter")
    page.wait_for_url(re.compile(r"[?&]query="))


def rows(page: Page) -> list[str]:
    return [" ".join(r.split()) for r in page.locator("table tbody tr").all_inner_texts()]


def headers(page: Page) -> list[str]:
    return [h.strip() for h in page.locator("table thead th").all_inner_texts() if h.strip()]


def configure_columns(page: Page, add: list[str], remove: list[str]) -> list[str]:
    """Adds and removes list columns in the Configure Columns drawer; the header afterwards."""
    page.get_by_role("button", name=CONFIGURE_COLUMNS).click()
    for name in remove:
        page.get_by_role("button", name=f"Remove {name} column").click()
    for name in add:
        page.get_by_role("button", name=f"Add {name} column").click()
    page.get_by_role("button", name="Close").filter(visible=True).last.click()
    page.get_by_text("Configure Workflows Table").wait_for(state="hidden")
    return headers(page)


def workflow(page: Page, ui: str, workflow_id: str) -> None:
    page.goto(f"{ui}/namespaces/{NAMESPACE}/workflows/{workflow_id}")
    page.get_by_role("tab", name="User Metadata").wait_for()


def tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def status_badge(page: Page) -> str:
    return page.get_by_role("status").first.inner_text().strip()


def metadata(page: Page) -> dict[str, str]:
    """The User Metadata tab's three panels, each rendered from Markdown in its own frame."""
    seen = {}
    for label, frame in METADATA_FRAMES.items():
        body = page.frame_locator(f"iframe#{frame}").locator("body")
        text = body.inner_text(timeout=2000) if body.count() else ""
        seen[label] = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return seen


def wait_current_details(page: Page, needle: str, timeout: float = 30) -> dict[str, str]:
    """Opens User Metadata and waits until Current Details contain ``needle``; between
    readings, presses R, which the UI offers to refresh them."""
    tab(page, "User Metadata")
    page.get_by_text("Current Details", exact=True).wait_for()

    readings = 0

    def read() -> str:
        nonlocal readings
        text = metadata(page)["Current Details"]
        readings += 1
        if needle not in text and readings % 6 == 0:
            page.locator("body").press("r")
        return text

    eventually(read, lambda text: needle in text, timeout)
    return metadata(page)


def more_actions(page: Page) -> list[str]:
    page.get_by_role("button", name=MORE_ACTIONS).click()
    page.get_by_role("menuitem", name=SEND["Signal"]).wait_for()
    items = [i.strip() for i in page.get_by_role("menuitem").filter(visible=True).all_inner_texts()]
    page.keyboard.press("Escape")
    return items


@dataclass
class Sent:
    dialog: Locator
    """Still open when an Update is refused."""
    call: Response
    """The UI's call to the server."""
    prefilled: str
    """What the Data box held before ``data`` was typed."""


def send(page: Page, kind: str, name: str, data: str) -> Sent:
    """More Actions → Send a Signal / Send an Update: picks ``name``, types ``data``, submits."""
    page.get_by_role("button", name=MORE_ACTIONS).click()
    page.get_by_role("menuitem", name=SEND[kind]).click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_test_id(SELECT_BUTTON[kind]).click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\b")).first.click()
    editor = dialog.locator(".cm-content[contenteditable=true]").filter(visible=True)
    prefilled = editor.inner_text().strip()
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(data)
    page.keyboard.press("Tab")  # the editor hands its text to the form when it loses focus
    path = "signal" if kind == "Signal" else "update"
    with page.expect_response(lambda r: f"/{path}/{name}" in r.url) as call:
        dialog.get_by_role("button", name="Submit").click()
    return Sent(dialog, call.value, prefilled)


def run_query(page: Page, name: str) -> tuple[str, Any]:
    """Queries tab: picks ``name``, runs it; the text the UI shows and the JSON it received."""
    tab(page, "Queries")
    page.get_by_test_id("query-select-button").click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\b")).first.click()
    with page.expect_response(lambda r: f"/query/{name}" in r.url) as call:
        page.get_by_role("button", name=re.compile(r"(Run|Refresh) Query")).click()
    shown = page.get_by_role("textbox", name="Result").filter(visible=True)
    text = eventually(shown.inner_text, lambda t: '"incident_id"' in t or '"crisis_id"' in t)
    return text, call.value.json()


def history_event(page: Page, title: str) -> str:
    """Event History: opens the newest event called ``title``, scrolling down to it (the list
    shows its rows as they come into view); the text of the page with its details open."""
    tab(page, "Event History")
    page.get_by_text("Event Type").first.wait_for()
    row = page.get_by_text(title).first  # its icon adds a word for screen readers

    def scroll() -> str:
        if not row.count():
            page.mouse.wheel(0, 1500)
        return str(row.count())

    eventually(scroll, lambda count: count != "0")
    row.scroll_into_view_if_needed()
    row.click()
    return page.locator("main").inner_text()
