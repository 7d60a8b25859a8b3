"""Counts for the Stats page: by label and status, per query, per annotator, quality.

Every count is one GROUP BY in SQL (in :mod:`curation_ui.queries`). Agreement is
:mod:`catalog.agreement` (the dataset card shows it too).
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from catalog.corpus_votes import CorpusAgreement
from curation_ui.queries import (
    NO_LABEL,
    STATUSES,
    histogram_counts,
    label_status_counts,
    per_annotator_counts,
    per_query_counts,
)


def label_status_table(conn: sqlite3.Connection, labels: tuple[str, ...]) -> pd.DataFrame:
    """Faces by current label (rows, in label-set order) and status (columns)."""
    table = pd.DataFrame(0, index=[*labels, NO_LABEL], columns=list(STATUSES))
    for label, status, n in label_status_counts(conn):
        row = label if label in table.index else NO_LABEL
        table.loc[row, status] += n
    table["total"] = table.sum(axis=1)
    return table


def per_query_table(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per search query: results, images, faces and their statuses."""
    cols = ["id", "label", "engine", "query", "results", "faces", "accepted", "rejected", "pending"]
    return pd.DataFrame(per_query_counts(conn), columns=cols)


def per_annotator_table(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per annotator: events by action, faces touched, first and last event."""
    cols = ["annotator", "label", "accept", "reject", "undo", "faces", "first", "last"]
    return pd.DataFrame(per_annotator_counts(conn), columns=cols)


def histogram(conn: sqlite3.Connection, column: str, width: float, top: float) -> pd.DataFrame:
    """Counts of faces per bucket of ``width`` of a quality column (size_px, sharpness, yaw)."""
    rows = histogram_counts(conn, column, width, top)
    return pd.DataFrame(
        {"from": [b * width for b, _ in rows], "faces": [n for _, n in rows]}
    ).set_index("from")


def corpus_table(ag: CorpusAgreement, labels: tuple[str, ...]) -> pd.DataFrame:
    """A corpus's label (rows) x people's final label (columns), in faces."""
    rows, cols = ag.rows(labels)
    return pd.DataFrame(
        [[ag.table[r][c] for c in cols] for r in rows],
        index=pd.Index(rows, name="corpus label"),
        columns=cols,
    )
