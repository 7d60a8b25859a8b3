"""How annotators agree on the faces two or more of them decided.

The one computation behind the Stats page's agreement figures and the dataset
card's agreement line: each annotator's standing vote (after undos) as one
decision, ``reject`` or a label (``accept`` for an accept without one).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from catalog.events import face_events, source_label, votes


@dataclass(frozen=True)
class Agreement:
    """How annotators agree on the faces several of them decided."""

    faces: int  # faces with standing votes from two or more annotators
    unanimous: int  # ... on which every vote is the same decision (reject, or one label)
    disputed: int  # faces left pending by a tie
    pairwise: float | None  # share of agreeing annotator pairs over those faces
    kappa: float | None  # Fleiss' kappa over the decisions (reject or a label)


def agreement(conn: sqlite3.Connection, limit: int | None = None) -> Agreement:
    """Agreement over the faces with two or more annotators (at most ``limit`` of them)."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT face_id FROM face_state WHERE annotators >= 2 ORDER BY face_id LIMIT ?",
            (-1 if limit is None else limit,),
        )
    ]
    disputed = conn.execute("SELECT COUNT(*) FROM face_state WHERE disputed = 1").fetchone()[0]
    tables: list[Counter] = []
    for fid in ids:
        vs = votes(face_events(conn, fid), source_label(conn, fid))
        decisions = Counter(
            "reject" if v.status == "rejected" else (v.label or "accept") for v in vs.values()
        )
        if sum(decisions.values()) >= 2:
            tables.append(decisions)
    if not tables:
        return Agreement(0, 0, disputed, None, None)
    unanimous = sum(1 for t in tables if len(t) == 1)
    pairs = agree = 0
    for t in tables:
        n = sum(t.values())
        pairs += n * (n - 1)
        agree += sum(c * (c - 1) for c in t.values())
    return Agreement(len(tables), unanimous, disputed, agree / pairs, _fleiss(tables))


def _fleiss(tables: list[Counter]) -> float | None:
    """Fleiss' kappa, allowing a varying number of raters per face."""
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
