"""Options of the scrape stage, and its data files (default queries, page selectors)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from catalog.labels import LabelSet
from core.contract import option
from core.errors import FacesiftError
from scraper.engines import DEFAULT_BASE_URLS, ENGINES, EngineError, parse_engines, parse_fallback
from scraper.queries import EXPAND_MODES, QueryPlanError, QuerySpec, expand, parse_languages

USER_AGENT_TOKEN = "facesift"
USER_AGENT = f"{USER_AGENT_TOKEN}/0.1 (+https://github.com/facesift/facesift; dataset research)"


class ScrapeError(FacesiftError):
    """A scrape that cannot start as asked (bad options, no browser)."""


@dataclass(frozen=True)
class DownloadOptions:
    """How images are fetched and validated."""

    concurrency: int = option(8, help="parallel downloads", metavar="N", low=1)
    per_host: int = option(4, help="parallel downloads from one host", metavar="N", low=1)
    connect_timeout: float = option(
        10.0, help="seconds to wait for a connection (at most --timeout)", above=0, cli=False
    )
    read_timeout: float = option(
        20.0,
        help="seconds to wait for a server to answer or send more bytes",
        flag="--timeout",
        metavar="S",
        above=0,
    )
    total_timeout: float = option(
        60.0, help="seconds for a whole body (at least the read timeout)", above=0, cli=False
    )
    retries: int = option(
        3,
        help="retries on 429, 5xx and connection errors, with backoff",
        metavar="N",
        low=0,
        high=10,
    )
    backoff: float = option(0.5, help="seconds before a retry, doubled each time", low=0, cli=False)
    max_retry_after: float = option(60.0, help="cap on a server's Retry-After", low=0, cli=False)
    max_bytes: int = option(
        20_000_000,
        help="largest image file kept, enforced while downloading",
        metavar="B",
        low=1,
    )
    max_redirects: int = option(5, help="redirects followed", low=0, cli=False)
    allow_private_hosts: bool = option(
        False, help="allow downloads from loopback and private addresses (tests, demos)"
    )
    max_pixels: int = option(
        40_000_000,
        help="more pixels than this is treated as a decompression bomb",
        metavar="P",
        low=1,
    )
    min_side: int = option(
        32, help="smallest image side kept, in pixels", flag="--min-size", metavar="PX", low=1
    )
    user_agent: str = option(USER_AGENT, help="the User-Agent of downloads", cli=False)

    @property
    def connect_limit(self) -> float:
        """The connect timeout, never longer than the read timeout (``--timeout`` caps both)."""
        return min(self.connect_timeout, self.read_timeout)


@dataclass(frozen=True)
class ScrapeOptions:
    """Everything ``facesift scrape`` can be asked."""

    emotions: str = option(
        "all",
        help="labels to search for, each with its default query",
        metavar="all|E,E,...",
    )
    query: str | None = option(
        None, help="search this text instead (needs --label)", metavar="TEXT"
    )
    label: str | None = option(None, help="the label the --query images are for", metavar="E")
    engine: str = option(
        "google",
        help=f"image search engine, or a list: every query runs on each ({', '.join(ENGINES)})",
        metavar="E[,E...]",
    )
    fallback: str = option(
        "bing",
        help="when an engine blocks (captcha, sorry page), pause it for the rest of the run "
        "and send its remaining queries here",
        metavar="ENGINE|none",
    )
    expand: str = option(
        "none",
        help="none: one query per label; synonyms: every term; full: terms x modifiers x "
        "languages (scraper/queries.toml)",
        choices=EXPAND_MODES,
    )
    languages: str = option(
        "all",
        help="query languages for --expand (all or a list like en,es,de)",
        metavar="all|L,L,...",
    )
    plan: bool = option(
        False,
        help="print the planned queries (label, language, engine, query; tab-separated) and "
        "exit without opening a browser",
    )
    delay: float = option(
        2.0,
        help="seconds between two queries of one engine, jittered by half either way",
        metavar="S",
        low=0,
    )
    profile: Path | None = option(
        None,
        help="browser profile folder kept between runs: consent and cookies (and a captcha "
        "passed by hand with --headful) (default: <data root>/.browser-profile)",
        metavar="DIR",
    )
    limit: int | None = option(
        None,
        help="stop each query after N result links (default: no limit)",
        metavar="N",
        low=1,
    )
    base_url: str | None = option(
        None,
        help="replace the engine's origin, e.g. https://www.google.de or a local test server",
        metavar="URL",
    )
    headful: bool = option(False, help="show the browser window")
    captcha_wait: float = option(
        300.0,
        help="with --headful: seconds to wait for you to pass a captcha in the window "
        "before the engine counts as blocked",
        metavar="S",
        low=0,
    )
    driver: Path | None = option(None, help="chromedriver to use", metavar="PATH")
    browser: Path | None = option(None, help="Chrome/Chromium binary to use", metavar="PATH")
    download: DownloadOptions = DownloadOptions()
    idle_timeout: float = option(
        8.0,
        help="stop a query when no new result appears within S seconds",
        metavar="S",
        above=0,
    )
    preview_timeout: float = option(
        4.0, help="crawl: wait for a preview to switch to the original", above=0, cli=False
    )
    page_timeout: float = option(30.0, help="seconds to load a page", above=0, cli=False)
    selectors_file: Path | None = option(
        None,
        help="page selectors to use instead of scraper/selectors.toml",
        flag="--selectors",
        metavar="FILE",
    )
    queries_file: Path | None = option(
        None, help="default queries to use instead of scraper/queries.toml", cli=False
    )

    @property
    def engines(self) -> list[str]:
        """The --engine list, checked."""
        try:
            return parse_engines(self.engine)
        except EngineError as e:
            raise ScrapeError(str(e)) from None

    @property
    def fallback_engine(self) -> str | None:
        """The --fallback engine, or None."""
        try:
            return parse_fallback(self.fallback)
        except EngineError as e:
            raise ScrapeError(str(e)) from None

    def origin_for(self, engine: str) -> str:
        """An engine's origin: --base-url (one server for every engine) or its own."""
        return (self.base_url or DEFAULT_BASE_URLS[engine]).rstrip("/")

    @property
    def origin(self) -> str:
        """The first engine's origin."""
        return self.origin_for(self.engines[0])


def _load_toml(path: Path | None, default_name: str) -> dict:
    if path is not None:
        try:
            return tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ScrapeError(f"cannot read {path}: {e}") from None
    return tomllib.loads(resources.files("scraper").joinpath(default_name).read_text())


@cache
def _default_table() -> dict:
    return _load_toml(None, "queries.toml")


def load_queries(path: Path | None = None) -> dict:
    """The query data (``queries.toml`` beside this module, or ``path``)."""
    return _default_table() if path is None else _load_toml(path, "")


def load_selectors(path: Path | None = None) -> dict:
    """The selector data (``selectors.toml`` beside this module, or ``path``)."""
    return _load_toml(path, "selectors.toml")


def default_query(label: str, queries_file: Path | None = None) -> str:
    """The search text for a label: its entry in queries.toml, else '<label> human face'."""
    return dict(load_queries(queries_file).get("queries", {})).get(label, f"{label} human face")


def plan_queries(opts: ScrapeOptions, labels: LabelSet) -> list[QuerySpec]:
    """The searches a run makes, from --query/--label or --emotions, --expand and --languages."""
    _ = (opts.engines, opts.fallback_engine)  # engine names are checked first
    table = load_queries(opts.queries_file)
    try:
        languages = parse_languages(opts.languages, table)
    except QueryPlanError as e:
        raise ScrapeError(str(e)) from None
    if opts.query is not None or opts.label is not None:
        if not (opts.query and opts.query.strip()) or not opts.label:
            raise ScrapeError("--query needs --label (and --label needs --query)")
        # One --languages entry names the query's language; else it is taken as English.
        lang = languages[0] if languages and len(languages) == 1 else "en"
        return [QuerySpec(opts.query.strip(), _resolve(labels, opts.label), lang)]
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
    try:
        return expand(table, chosen, opts.expand, languages)
    except QueryPlanError as e:
        raise ScrapeError(str(e)) from None


def _resolve(labels: LabelSet, word: str) -> str:
    if word not in labels:
        raise ScrapeError(
            f"{word.strip()!r} is not a label of this dataset ({','.join(labels.names)})"
        )
    return labels.resolve(word)
