"""Options of the scrape stage, and its data files (default queries, page selectors)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from catalog.errors import FacesiftError
from catalog.labels import LabelSet

ENGINES = ("google", "bing")
DEFAULT_BASE_URLS = {"google": "https://www.google.com", "bing": "https://www.bing.com"}
USER_AGENT_TOKEN = "facesift"
USER_AGENT = f"{USER_AGENT_TOKEN}/0.1 (+https://github.com/facesift/facesift; dataset research)"


class ScrapeError(FacesiftError):
    """A scrape that cannot start as asked (bad options, no browser)."""


@dataclass(frozen=True)
class DownloadOptions:
    """How images are fetched and validated."""

    concurrency: int = 8
    per_host: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # a whole body (at least read_timeout), so a slow drip ends
    retries: int = 3  # extra attempts after the first, on 429, 5xx and connection errors
    backoff: float = 0.5  # seconds, doubled each retry
    max_retry_after: float = 60.0  # cap on a server's Retry-After
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    allow_private_hosts: bool = False
    max_pixels: int = 40_000_000
    min_side: int = 32
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class ScrapeOptions:
    """Everything ``facesift scrape`` can be asked."""

    emotions: str = "all"  # "all" or "happy,sad"
    query: str | None = None
    label: str | None = None
    engine: str = "google"
    limit: int | None = None  # result links per query
    base_url: str | None = None
    headful: bool = False
    driver: Path | None = None
    browser: Path | None = None
    download: DownloadOptions = DownloadOptions()
    idle_timeout: float = 8.0  # crawl: stop when no new tile appears within this
    preview_timeout: float = 4.0  # crawl: wait for a preview to switch to the original
    page_timeout: float = 30.0
    selectors_file: Path | None = None
    queries_file: Path | None = None
    progress: bool = True

    @property
    def origin(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS[self.engine]).rstrip("/")


@dataclass(frozen=True)
class QuerySpec:
    """One search to run: its text and the label its results claim."""

    text: str
    label: str


def _load_toml(path: Path | None, default_name: str) -> dict:
    if path is not None:
        try:
            return tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ScrapeError(f"cannot read {path}: {e}") from None
    return tomllib.loads(resources.files("scraper").joinpath(default_name).read_text())


@cache
def _default_queries() -> dict[str, str]:
    return dict(_load_toml(None, "queries.toml")["queries"])


def load_selectors(path: Path | None = None) -> dict:
    """The selector data (``selectors.toml`` beside this module, or ``path``)."""
    return _load_toml(path, "selectors.toml")


def default_query(label: str, queries_file: Path | None = None) -> str:
    """The search text for a label: its entry in queries.toml, else '<label> human face'."""
    table = (
        _default_queries()
        if queries_file is None
        else dict(_load_toml(queries_file, "").get("queries", {}))
    )
    return table.get(label, f"{label} human face")


def plan_queries(opts: ScrapeOptions, labels: LabelSet) -> list[QuerySpec]:
    """The searches a run makes, from --query/--label or --emotions."""
    if opts.engine not in ENGINES:
        raise ScrapeError(f"unknown engine {opts.engine!r}: use google or bing")
    if opts.query is not None or opts.label is not None:
        if not (opts.query and opts.query.strip()) or not opts.label:
            raise ScrapeError("--query needs --label (and --label needs --query)")
        return [QuerySpec(opts.query.strip(), _resolve(labels, opts.label))]
    text = opts.emotions.strip()
    if text == "all":
        chosen = list(labels.names)
    else:
        chosen = []
        for word in text.split(","):
            if word.strip() and (name := _resolve(labels, word)) not in chosen:
                chosen.append(name)
        if not chosen:
            raise ScrapeError("--emotions is empty: give all or a list like happy,sad")
    return [QuerySpec(default_query(name, opts.queries_file), name) for name in chosen]


def _resolve(labels: LabelSet, word: str) -> str:
    if word not in labels:
        raise ScrapeError(
            f"{word.strip()!r} is not a label of this dataset ({','.join(labels.names)})"
        )
    return labels.resolve(word)
