"""What the expression corpora voted, beside what people decided.

A corpus's label (MMI, CK+, RAF-DB, AffectNet, JAFFE) is a label event of the annotator
named after it (:mod:`importer.corpora`). This module reads those votes back: the one a
face shows in the review app ("MMI: happy"), and per corpus the table a researcher
reports after relabelling: the corpus's label against the label people gave, their
final decision folded from every other annotator's vote (the corpus's own is left out,
else it would vote for itself).
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from catalog.events import LabelEvent, Vote, decision, fold, standing_votes
from catalog.settings import labels_per_face

REJECTED = "rejected"  # a row or column: the corpus or the people rejected the face
UNDECIDED = "undecided"  # a column: people's votes tie (or wait for more opinions)


@cache
def corpus_names() -> dict[str, str]:
    """Corpus annotator -> the name people know it by (``corpus_names.toml``), in order."""
    with open(Path(__file__).with_name("corpus_names.toml"), "rb") as f:
        return dict(tomllib.load(f))


def display_name(corpus: str) -> str:
    """How the app and the card name a corpus (its annotator name when not listed)."""
    return corpus_names().get(corpus, corpus)


@dataclass(frozen=True)
class CorpusVote:
    """A corpus's standing vote on a face."""

    corpus: str
    label: str | None  # None: the corpus rejected the face (AffectNet's no-face)

    @property
    def text(self) -> str:
        """``MMI: happy`` (``AffectNet: not a face`` for a reject)."""
        return f"{display_name(self.corpus)}: {self.label or 'not a face'}"


def corpus_votes(conn: sqlite3.Connection, face_id: int) -> list[CorpusVote]:
    """The corpora's standing votes on one face, in the order of ``corpus_names.toml``."""
    votes = standing_votes(conn, [face_id]).get(face_id, {})
    return [
        CorpusVote(c, votes[c].label if votes[c].status == "accepted" else None)
        for c in corpus_names()
        if c in votes
    ]


def corpora_present(conn: sqlite3.Connection) -> list[str]:
    """The corpora with a vote in the dataset (image votes: one row per image), in order."""
    names = list(corpus_names())
    rows = conn.execute(
        "SELECT DISTINCT annotator FROM image_votes WHERE annotator IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(names),),
    )
    present = {r[0] for r in rows}
    return [c for c in names if c in present]


@dataclass
class CorpusAgreement:
    """One corpus's labels against people's final labels, over the faces people decided."""

    corpus: str
    table: dict[str, Counter] = field(default_factory=dict)  # corpus label -> final -> faces

    @property
    def faces(self) -> int:
        """Faces the corpus labelled and people decided (ties included)."""
        return sum(sum(c.values()) for c in self.table.values())

    @property
    def agreed(self) -> int:
        """Faces whose final label is the corpus's (a reject of both counts too)."""
        return sum(c[lab] for lab, c in self.table.items())

    @property
    def decided(self) -> int:
        """Faces people decided (not tied)."""
        return self.faces - sum(c[UNDECIDED] for c in self.table.values())

    @property
    def rate(self) -> float | None:
        """Share of the decided faces on which people agree with the corpus."""
        return self.agreed / self.decided if self.decided else None

    def rows(self, labels: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """(row keys, column keys) of the table: ``labels`` first, then others that occur."""
        seen_rows = set(self.table)
        seen_cols = {k for c in self.table.values() for k in c}
        rows = [x for x in (*labels, REJECTED) if x in seen_rows]
        rows += sorted(seen_rows - set(rows))
        cols = [*labels, REJECTED, UNDECIDED]
        cols += sorted(seen_cols - set(cols))
        return rows, cols


def corpus_agreement(conn: sqlite3.Connection, limit: int | None = None) -> list[CorpusAgreement]:
    """Per corpus: its label x people's final label, over the faces it labelled that
    someone else decided too (at most ``limit`` faces, in face id order).

    People's final label is the face's state folded from every standing vote but the
    corpora's (:func:`catalog.events.fold`, with the dataset's labels per face), so it
    is the label the face would have had without any corpus.
    """
    names = list(corpus_names())
    face_ids = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT e.face_id FROM label_events e JOIN face_state s "
            "ON s.face_id = e.face_id WHERE s.annotators >= 2 AND e.annotator IN "
            "(SELECT value FROM json_each(?)) ORDER BY e.face_id LIMIT ?",
            (json.dumps(names), -1 if limit is None else limit),
        )
    ]
    k = labels_per_face(conn)
    out = {c: CorpusAgreement(c) for c in names}
    for votes in standing_votes(conn, face_ids, min_annotators=2).values():
        people = {a: v for a, v in votes.items() if a not in out}
        if not people:
            continue
        final = people_final(people, k)
        for c in names:
            if c in votes:
                row = REJECTED if votes[c].status == "rejected" else decision(votes[c])
                out[c].table.setdefault(row, Counter())[final] += 1
    return [a for a in out.values() if a.table]


def people_final(votes: dict[str, Vote], k: int = 1) -> str:
    """The final decision of these votes: a label, ``rejected`` or ``undecided``."""
    events = [
        LabelEvent(
            i, 0, v.annotator, "reject" if v.status == "rejected" else "label", v.label, v.reason
        )
        for i, v in enumerate(votes.values(), 1)
    ]
    state = fold(events, None, k)
    if state.status == "rejected":
        return REJECTED
    if state.status == "accepted" and state.label:
        return state.label
    return UNDECIDED
