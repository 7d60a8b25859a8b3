"""Per-annotator agreement for second opinions: faces decided, agreement with the
others' majority, Fleiss' kappa at K decisions, and which labels people swap.

Everything works on one value, ``decisions``: face id -> annotator -> decision
(``reject``, a label, or ``accept`` for an accept without a label), each
annotator's standing vote after undos, as :func:`catalog.events.decision` names it.
Only :func:`catalog.agreement.face_decisions` reads the catalog; the rest is pure.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass

from catalog.agreement import Decisions, fleiss_kappa
from catalog.events import FINAL_REJECT, STANDING_SQL, unique_top


def decided_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Per annotator, the faces on which they have a standing decision (one not undone),
    in annotator order.

    A takedown's rejects (annotator ``takedown:<id>``) are a removal, not anyone's
    judgement of the face: they are counted as takedowns, never as an annotator.
    """
    rows = conn.execute(
        "SELECT annotator, COUNT(DISTINCT face_id) FROM label_events e "
        f"WHERE {STANDING_SQL} AND NOT (e.action = 'reject' AND e.reason = ? "
        "AND e.annotator LIKE 'takedown:%') GROUP BY annotator ORDER BY annotator",
        (FINAL_REJECT,),
    )
    return {a: n for a, n in rows}


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's share of the work and how often they side with the others."""

    annotator: str
    faces: int  # faces this annotator decided
    compared: int  # ... on which the other annotators have a unique majority
    agreed: int  # ... and this annotator's decision is that majority

    @property
    def agreement(self) -> float | None:
        """Share of compared faces on which the annotator agreed with the others' majority."""
        return self.agreed / self.compared if self.compared else None


def per_annotator(
    decisions: Decisions, decided: dict[str, int] | None = None
) -> list[AnnotatorAgreement]:
    """Per annotator: faces decided, and agreement with the majority of the *other* decisions.

    ``decided`` (:func:`decided_counts`) gives the faces decided in the whole
    dataset; without it, those in ``decisions`` are counted. Leaving the
    annotator's own vote out keeps the agreement meaningful at K = 2, where a
    majority including oneself would only ever agree.
    """
    faces: Counter = Counter(decided or {})
    compared: Counter = Counter()
    agreed: Counter = Counter()
    for by_annotator in decisions.values():
        for a, d in by_annotator.items():
            if decided is None:
                faces[a] += 1
            others = Counter(v for b, v in by_annotator.items() if b != a)
            top = unique_top(others)
            if top is not None:
                compared[a] += 1
                agreed[a] += d == top
    return [AnnotatorAgreement(a, faces[a], compared[a], agreed[a]) for a in sorted(faces)]


def fleiss_kappa_at(decisions: Decisions, k: int) -> tuple[int, float | None]:
    """(faces, Fleiss' kappa) over the faces with at least ``k`` (>= 2) decisions."""
    tables = [Counter(d.values()) for d in decisions.values() if len(d) >= max(k, 2)]
    return len(tables), (fleiss_kappa(tables) if tables else None)


def confusion(decisions: Decisions, order: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
    """How often one annotator's decision meets another's on the same face (all pairs).

    Symmetric: ``m[x][y]`` counts ordered pairs of different annotators of one face
    deciding x and y; the diagonal is agreement, the rest is which labels people
    swap. Rows and columns follow ``order`` (e.g. the label set, then ``reject``),
    then any other decision seen.
    """
    seen = {d for by_annotator in decisions.values() for d in by_annotator.values()}
    cats = [*order, *sorted(seen - set(order))]
    m: dict[str, dict[str, int]] = {c: dict.fromkeys(cats, 0) for c in cats}
    pairs: defaultdict[tuple[str, str], int] = defaultdict(int)
    for by_annotator in decisions.values():
        ds = list(by_annotator.values())
        for i, x in enumerate(ds):
            for j, y in enumerate(ds):
                if i != j:
                    pairs[x, y] += 1
    for (x, y), n in pairs.items():
        m[x][y] = n
    return m
