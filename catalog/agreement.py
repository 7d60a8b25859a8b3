"""How annotators agree on the faces two or more of them decided.

The one computation behind the Stats page's agreement figures, the dataset
card's agreement line and the second-opinion stats (:mod:`catalog.annotators`):
each annotator's standing vote (after undos) as one decision
(:func:`catalog.events.decision`: ``reject``, a label, or ``accept``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from catalog.events import decision, standing_votes


@dataclass(frozen=True)
class Agreement:
    """How annotators agree on the faces several of them decided."""

    faces: int  # faces with standing votes from two or more annotators
    unanimous: int  # ... on which every vote is the same decision (reject, or one label)
    disputed: int  # faces left pending by a tie
    pairwise: float | None  # share of agreeing annotator pairs over those faces
    kappa: float | None  # Fleiss' kappa over the decisions (reject or a label)


Decisions = dict[int, dict[str, str]]  # face id -> annotator -> decision


def face_decisions(
    conn: sqlite3.Connection, min_annotators: int = 2, limit: int | None = None
) -> Decisions:
    """Each face's standing decisions by annotator, for (at most ``limit``) faces with
    ``min_annotators`` or more."""
    return {
        fid: {a: decision(v) for a, v in vs.items()}
        for fid, vs in standing_votes(conn, min_annotators=min_annotators, limit=limit).items()
    }


def disputed_count(conn: sqlite3.Connection) -> int:
    """Faces left pending by a tie between annotators."""
    return conn.execute("SELECT COUNT(*) FROM face_state WHERE disputed = 1").fetchone()[0]


def agreement(conn: sqlite3.Connection, limit: int | None = None) -> Agreement:
    """Agreement over the faces with two or more annotators (at most ``limit`` of them)."""
    return agreement_of(face_decisions(conn, 2, limit), disputed_count(conn))


def agreement_of(decisions: Decisions, disputed: int) -> Agreement:
    """Agreement over the faces of ``decisions`` (``disputed``: faces left pending by a tie)."""
    tables = [Counter(d.values()) for d in decisions.values()]
    if not tables:
        return Agreement(0, 0, disputed, None, None)
    unanimous = sum(1 for t in tables if len(t) == 1)
    pairs = agree = 0
    for t in tables:
        n = sum(t.values())
        pairs += n * (n - 1)
        agree += sum(c * (c - 1) for c in t.values())
    return Agreement(len(tables), unanimous, disputed, agree / pairs, fleiss_kappa(tables))


def fleiss_kappa(tables: list[Counter]) -> float | None:
    """Fleiss' kappa over per-face decision counts, allowing a varying number of raters."""
    cats: Counter = Counter()
    p_items = []
    for t in tables:
        n = sum(t.values())
        cats.update(t)
        p_items.append(sum(c * (c - 1) for c in t.values()) / (n * (n - 1)))
    total = sum(cats.values())
    p_bar = sum(p_items) / len(p_items)
    p_e = sum((c / total) ** 2 for c in cats.values())
    return None if p_e >= 1 else (p_bar - p_e) / (1 - p_e)
