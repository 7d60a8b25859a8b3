"""What kind of page the browser shows: results, consent, blocked, the JavaScript-only shell, none.

The browser takes one snapshot of the page (:data:`scraper.page_scripts.SNAPSHOT`);
:func:`classify` reads it against the engine's ``states`` rules in selectors.toml.
The order matters: a sorry page can carry result-like markup, and a results page
can carry the same ``<noscript>`` refresh as the shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from selenium.webdriver.remote.webdriver import WebDriver

from scraper import page_scripts as js

RESULTS, CONSENT, BLOCKED, JS_SHELL, NO_RESULTS = (
    "results",
    "consent",
    "blocked",
    "js_shell",
    "no_results",
)
STOPPING = (BLOCKED, JS_SHELL)
"""States that pause the engine for the rest of the run."""


@dataclass(frozen=True)
class PageState:
    """A classified page: its kind and the evidence, for the log and the summary."""

    kind: str
    why: str

    @property
    def stops_engine(self) -> bool:
        """True for a sorry/captcha page or the JavaScript-only shell."""
        return self.kind in STOPPING


def snapshot(driver: WebDriver, rules: dict, results: list[str]) -> dict:
    """What :func:`classify` needs from the live page, in one round trip."""
    states = rules.get("states", {})
    return driver.execute_script(
        js.SNAPSHOT,
        {
            "captcha": states.get("captcha_selectors", []),
            "consent": rules.get("consent_buttons", []),
            "results": results,
        },
        int(states.get("short_body_chars", 0)),
    )


def classify(snap: dict, states: dict) -> PageState | None:
    """The page's state from a snapshot, or None while it is still undecided (loading)."""
    url = snap.get("url") or ""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path or "/"
    for h in states.get("sorry_hosts", []):
        if host == h or host.endswith("." + h):
            return PageState(BLOCKED, f"the page went to {url}")
    for p in states.get("sorry_path_prefixes", []):
        if path.startswith(p):
            return PageState(BLOCKED, f"the page went to {url}")
    for p in states.get("url_parts", []):
        if p in url:
            return PageState(BLOCKED, f"the page went to {url}")
    short = snap.get("short_html") or ""
    for c in states.get("short_body_contains", []):
        if short and c in short:
            return PageState(BLOCKED, f"a short page pointing to {c}")
    matched = snap.get("matched") or {}
    if matched.get("captcha"):
        return PageState(BLOCKED, f"a captcha ({matched['captcha']})")
    text = (snap.get("text") or "").lower()
    for t in states.get("blocked_texts", []):
        if t.lower() in text:
            return PageState(BLOCKED, f"the page says '{t}'")
    if matched.get("consent"):
        return PageState(CONSENT, f"a consent button ({matched['consent']})")
    if matched.get("results"):
        return PageState(RESULTS, f"tiles ({matched['results']})")
    for t in states.get("no_results_texts", []):
        if t.lower() in text:
            return PageState(NO_RESULTS, f"the page says '{t}'")
    if snap.get("ready") and len(text.strip()) <= int(states.get("js_shell_max_text", 0)):
        for marker in states.get("js_shell_noscript", []):
            if any(marker in n for n in snap.get("noscripts") or []):
                return PageState(JS_SHELL, f"a JavaScript-only page (noscript refresh to {marker})")
    return None


def read_state(driver: WebDriver, rules: dict, results: list[str]) -> PageState | None:
    """Snapshot and classify the live page."""
    return classify(snapshot(driver, rules, results), rules.get("states", {}))


def stop_reason(driver: WebDriver, rules: dict) -> str | None:
    """Why the engine is refusing us (sorry, captcha, shell), or None; for checks mid-crawl."""
    state = read_state(driver, rules, [])
    if state is not None and state.stops_engine:
        return state.why
    return None
