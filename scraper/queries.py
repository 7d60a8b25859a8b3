"""Query expansion: from labels to the searches a run makes (pure, data in queries.toml).

``none`` is one query per label ([queries]); ``synonyms`` every term of every
chosen language through its ``synonym`` template; ``full`` adds every term x
modifier through the ``full`` template. Texts are deduplicated (case and spacing
aside) across the whole plan, first label wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import FacesiftError

EXPAND_MODES = ("none", "synonyms", "full")
DEFAULT_LANGUAGE = "en"


class QueryPlanError(FacesiftError, ValueError):
    """A plan that cannot be made as asked (unknown language, bad expand mode, bad table)."""


@dataclass(frozen=True)
class QuerySpec:
    """One search to run: its text, the label its results claim and the text's language."""

    text: str
    label: str
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class PlannedSearch:
    """A query on one engine: one line of ``facesift scrape --plan``."""

    spec: QuerySpec
    engine: str

    def line(self) -> str:
        """``label<TAB>language<TAB>engine<TAB>query``."""
        s = self.spec
        return f"{s.label}\t{s.language}\t{self.engine}\t{s.text}"


def known_languages(table: dict) -> list[str]:
    """The languages queries.toml describes, in file order."""
    return list(table.get("languages", {}))


def parse_languages(text: str | None, table: dict) -> list[str] | None:
    """``en,es`` -> [en, es] (checked against the table); None or ``all`` -> None (all)."""
    if text is None or text.strip().lower() in ("", "all"):
        return None
    known = known_languages(table)
    out: list[str] = []
    for word in text.split(","):
        code = word.strip().lower()
        if not code:
            continue
        if code not in known:
            raise QueryPlanError(
                f"--languages: {code!r} is not in queries.toml (known: {','.join(known)})"
            )
        if code not in out:
            out.append(code)
    if not out:
        raise QueryPlanError("--languages is empty: give all or a list like en,es")
    return out


def expand(
    table: dict,
    labels: Sequence[str],
    mode: str = "none",
    languages: Sequence[str] | None = None,
) -> list[QuerySpec]:
    """The queries for ``labels`` under an expansion ``mode``, deduplicated, in label order."""
    if mode not in EXPAND_MODES:
        raise QueryPlanError(f"--expand {mode!r}: use one of {', '.join(EXPAND_MODES)}")
    if mode == "none":
        fixed = table.get("queries", {})
        return _dedupe(
            QuerySpec(fixed.get(label, f"{label} human face"), label) for label in labels
        )
    langs = list(languages) if languages is not None else known_languages(table)
    return _dedupe(
        spec
        for label in labels
        for lang in langs
        for spec in _label_queries(table, label, lang, mode)
    )


def _label_queries(table: dict, label: str, lang: str, mode: str) -> list[QuerySpec]:
    entry = table.get("labels", {}).get(label, {})
    terms = entry.get("terms", []) if lang == DEFAULT_LANGUAGE else []
    terms = terms or entry.get("translations", {}).get(lang, [])
    if lang == DEFAULT_LANGUAGE and not terms:
        terms = [label]  # a label queries.toml does not know is still searched
    rules = table.get("languages", {}).get(lang)
    if rules is None or not terms:
        return []
    modifiers = entry.get("modifiers", {}).get(lang, rules.get("modifiers", []))
    out = [_fill(rules["synonym"], term=t) for t in terms]
    if mode == "full":
        out += [_fill(rules["full"], term=t, modifier=m) for t in terms for m in modifiers]
    return [QuerySpec(text, label, lang) for text in out]


def _fill(template: str, **words: str) -> str:
    try:
        return " ".join(template.format(**words).split())
    except (KeyError, IndexError) as e:
        raise QueryPlanError(f"queries.toml: template {template!r} names {e}") from None


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _dedupe(specs: Iterable[QuerySpec]) -> list[QuerySpec]:
    seen: set[str] = set()
    out = []
    for s in specs:
        if (k := _key(s.text)) and k not in seen:
            seen.add(k)
            out.append(s)
    return out


def plan_searches(specs: Sequence[QuerySpec], engines: Sequence[str]) -> list[PlannedSearch]:
    """Every query on every engine, query by query (so one label's results come first)."""
    return [PlannedSearch(s, e) for s in specs for e in engines]


def plan_sizes(specs: Sequence[QuerySpec]) -> dict[str, dict[str, int]]:
    """Queries per label and language: {label: {language: n}}."""
    out: dict[str, dict[str, int]] = {}
    for s in specs:
        per = out.setdefault(s.label, {})
        per[s.language] = per.get(s.language, 0) + 1
    return out
