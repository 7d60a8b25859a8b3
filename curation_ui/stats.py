"""Counts for the Stats page: by label and status, per query, per annotator, quality, agreement.

Every count is one GROUP BY in SQL; only the agreement reads events, and only
for the faces that more than one annotator decided.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from catalog.events import face_events, source_label, votes
from curation_ui.queries import NO_LABEL, STATUSES


def label_status_table(conn: sqlite3.Connection, labels: tuple[str, ...]) -> pd.DataFrame:
    """Faces by current label (rows, in label-set order) and status (columns)."""
    table = pd.DataFrame(0, index=[*labels, NO_LABEL], columns=list(STATUSES))
    for label, status, n in conn.execute(
        "SELECT label, status, COUNT(*) FROM face_state GROUP BY label, status"
    ):
        row = label if label in table.index else NO_LABEL
        table.loc[row, status] += n
    table["total"] = table.sum(axis=1)
    return table


def per_query_table(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per search query: results, images, faces and their statuses."""
    rows = conn.execute(
        "SELECT q.id, q.label, q.engine, q.text, "
        "(SELECT COUNT(*) FROM search_results r WHERE r.query_id = q.id) AS results, "
        "COUNT(DISTINCT f.id) AS faces, "
        "COUNT(DISTINCT CASE WHEN s.status = 'accepted' THEN f.id END) AS accepted, "
        "COUNT(DISTINCT CASE WHEN s.status = 'rejected' THEN f.id END) AS rejected, "
        "COUNT(DISTINCT CASE WHEN s.status = 'pending' THEN f.id END) AS pending "
        "FROM queries q LEFT JOIN search_results r ON r.query_id = q.id "
        "LEFT JOIN image_sources i ON i.search_result_id = r.id "
        "LEFT JOIN faces f ON f.image_id = i.image_id "
        "LEFT JOIN face_state s ON s.face_id = f.id GROUP BY q.id ORDER BY q.label, q.text"
    ).fetchall()
    cols = ["id", "label", "engine", "query", "results", "faces", "accepted", "rejected", "pending"]
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def per_annotator_table(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per annotator: events by action, faces touched, first and last event."""
    rows = conn.execute(
        "SELECT annotator, SUM(action = 'label'), SUM(action = 'accept'), "
        "SUM(action = 'reject'), SUM(action = 'undo'), COUNT(DISTINCT face_id), "
        "MIN(created_at), MAX(created_at) FROM label_events GROUP BY annotator ORDER BY annotator"
    ).fetchall()
    cols = ["annotator", "label", "accept", "reject", "undo", "faces", "first", "last"]
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def histogram(conn: sqlite3.Connection, column: str, width: float, top: float) -> pd.DataFrame:
    """Counts of faces per bucket of ``width`` of a quality column (size_px, sharpness, yaw)."""
    if column not in ("size_px", "sharpness", "yaw", "pitch", "roll"):
        raise ValueError(f"no histogram of {column!r}")
    rows = conn.execute(
        f"SELECT MIN(CAST({column} / ? AS INTEGER), CAST(? / ? AS INTEGER)) AS b, COUNT(*) "
        f"FROM faces WHERE {column} IS NOT NULL GROUP BY b ORDER BY b",
        (width, top, width),
    ).fetchall()
    return pd.DataFrame(
        {"from": [b * width for b, _ in rows], "faces": [n for _, n in rows]}
    ).set_index("from")


@dataclass(frozen=True)
class Agreement:
    """How annotators agree on the faces several of them decided."""

    faces: int  # faces with standing votes from two or more annotators
    unanimous: int  # ... on which every vote is the same decision (status and label)
    disputed: int  # faces left pending by a tie
    pairwise: float | None  # share of agreeing annotator pairs over those faces
    kappa: float | None  # Fleiss' kappa over the decisions (reject or a label)


def agreement(conn: sqlite3.Connection, limit: int = 20_000) -> Agreement:
    """Agreement over (at most ``limit``) faces with two or more annotators."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT face_id FROM face_state WHERE annotators >= 2 LIMIT ?", (limit,)
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
