"""Counts for the Stats page: by label and status, per query, per annotator, quality.

Every count is one GROUP BY in SQL. Agreement is :mod:`catalog.agreement` (the
dataset card shows it too).
"""

from __future__ import annotations

import sqlite3

import pandas as pd

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
