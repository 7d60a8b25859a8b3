"""The catalog side of model-assisted curation: which faces a model learns from,
the models trained, their predictions per face, and the suspects ranking.

A face's training label is its current label when accepted (or pending with a
label, if asked), and ``rejected`` (:data:`REJECTED`) when annotators rejected it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.db import rows_where_in, transaction

REJECTED = "rejected"  # the extra class: what annotators throw away


@dataclass(frozen=True)
class FaceRow:
    """One face as the model sees it: its chip, landmarks and (training) label."""

    face_id: int
    label: str | None  # None: unlabelled (predicted, not learnt from)
    chip_path: str | None
    chip_padding: float | None
    landmarks: str | None  # the faces.landmarks JSON


@dataclass(frozen=True)
class ModelRow:
    """One row of ``models``."""

    id: str
    path: str  # relative to the dataset folder
    kind: str
    classes: tuple[str, ...]
    options: dict
    figures: dict
    last_event_id: int | None
    trained_at: str


@dataclass(frozen=True)
class Prediction:
    """One face's prediction by one model."""

    face_id: int
    probs: dict[str, float]
    predicted: str
    label: str | None  # the label the face had when the model was trained
    self_confidence: float | None  # probs[label], None for an unlabelled face
    out_of_fold: bool


@dataclass(frozen=True)
class Suspect:
    """A labelled face ranked by how little the model believes its current label."""

    face_id: int
    label: str
    predicted: str
    self_confidence: float
    probs: dict[str, float]

    def as_dict(self) -> dict:
        """The ``model suspects --json`` record."""
        return {
            "face_id": self.face_id,
            "label": self.label,
            "predicted": self.predicted,
            "self_confidence": self.self_confidence,
            "probs": self.probs,
        }


_CURRENT_LABEL = (
    f"CASE WHEN s.status = 'rejected' THEN '{REJECTED}' "
    "WHEN s.status = 'accepted' OR (s.status = 'pending' AND ?) THEN s.label END"
)


def model_faces(conn: sqlite3.Connection, include_pending: bool) -> list[FaceRow]:
    """Every face with a chip, in id order, with its training label (or None).

    Labelled: accepted faces with a label, rejected faces (as ``rejected``) and,
    with ``include_pending``, pending faces that carry a label (from their query,
    import or votes). Every other face is unlabelled. Taken-down images' faces
    are left out.
    """
    rows = conn.execute(
        f"SELECT f.id, {_CURRENT_LABEL}, f.chip_path, f.chip_padding, f.landmarks "
        "FROM faces f JOIN face_state s ON s.face_id = f.id JOIN images i ON i.id = f.image_id "
        "WHERE f.chip_path IS NOT NULL AND i.taken_down_at IS NULL ORDER BY f.id",
        (int(include_pending),),
    )
    return [FaceRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def faces_by_id(conn: sqlite3.Connection, face_ids: Sequence[int]) -> list[FaceRow]:
    """The chip and landmarks of the given faces (label None), in the order given."""
    found: dict[int, FaceRow] = {}
    ids = list(face_ids)
    sql = "SELECT id, chip_path, chip_padding, landmarks FROM faces WHERE id IN ({marks})"
    for r in rows_where_in(conn, sql, ids):
        found[r[0]] = FaceRow(r[0], None, r[1], r[2], r[3])
    return [found[i] for i in ids if i in found]


def last_event_id(conn: sqlite3.Connection) -> int:
    """The newest label event's id (0 when none): what a model was trained up to."""
    return conn.execute("SELECT IFNULL(MAX(id), 0) FROM label_events").fetchone()[0]


def events_since(conn: sqlite3.Connection, event_id: int | None) -> int:
    """How many label events were recorded after ``event_id``."""
    return conn.execute(
        "SELECT COUNT(*) FROM label_events WHERE id > ?", (event_id or 0,)
    ).fetchone()[0]


def record_model(
    conn: sqlite3.Connection, model: ModelRow, predictions: Iterable[Prediction]
) -> None:
    """Store a trained model and its predictions in one transaction."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO models (id, path, kind, classes, options, figures, last_event_id, "
            "trained_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                model.id,
                model.path,
                model.kind,
                json.dumps(list(model.classes)),
                json.dumps(model.options, sort_keys=True),
                json.dumps(model.figures, sort_keys=True),
                model.last_event_id,
                model.trained_at,
            ),
        )
        store_predictions(conn, model.id, predictions)


def store_predictions(
    conn: sqlite3.Connection, model_id: str, predictions: Iterable[Prediction]
) -> int:
    """Add a model's predictions for faces it has none for yet; return how many were added.

    A face that already has one from this model (e.g. out-of-fold) keeps it.
    """
    with transaction(conn):
        cur = conn.executemany(
            "INSERT OR IGNORE INTO predictions (face_id, model_id, probs, predicted, label, "
            "self_confidence, out_of_fold) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    p.face_id,
                    model_id,
                    json.dumps(p.probs),
                    p.predicted,
                    p.label,
                    p.self_confidence,
                    int(p.out_of_fold),
                )
                for p in predictions
            ),
        )
        return cur.rowcount


def _model_from_row(r: sqlite3.Row) -> ModelRow:
    return ModelRow(
        r["id"],
        r["path"],
        r["kind"],
        tuple(json.loads(r["classes"])),
        json.loads(r["options"]),
        json.loads(r["figures"]),
        r["last_event_id"],
        r["trained_at"],
    )


def latest_model_row(conn: sqlite3.Connection) -> ModelRow | None:
    """The newest model of the dataset, or None when none was trained."""
    r = conn.execute("SELECT * FROM models ORDER BY trained_at DESC, id DESC LIMIT 1").fetchone()
    return None if r is None else _model_from_row(r)


def model_row(conn: sqlite3.Connection, model_id: str) -> ModelRow | None:
    """One model by id, or None."""
    r = conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
    return None if r is None else _model_from_row(r)


def predictions_for(
    conn: sqlite3.Connection, model_id: str, face_ids: Sequence[int]
) -> dict[int, Prediction]:
    """The model's predictions for the given faces (faces without one are absent)."""
    out: dict[int, Prediction] = {}
    sql = (
        "SELECT face_id, probs, predicted, label, self_confidence, out_of_fold "
        "FROM predictions WHERE model_id = ? AND face_id IN ({marks})"
    )
    for r in rows_where_in(conn, sql, face_ids, [model_id]):
        out[r[0]] = Prediction(r[0], json.loads(r[1]), r[2], r[3], r[4], bool(r[5]))
    return out


def suspects(
    conn: sqlite3.Connection,
    model_id: str,
    *,
    label: str | None = None,
    limit: int | None = None,
    include_pending: bool | None = None,
) -> list[Suspect]:
    """Labelled faces, lowest self-confidence of their CURRENT label first.

    Only faces the model predicted out-of-fold (it never saw them) are ranked:
    an in-sample probability would flatter the label it was trained on. A face
    relabelled since training is scored on its new label (the model's
    probability of it; a label the model has no class for leaves the face out);
    ``label`` keeps faces whose current label is that one (``rejected`` for
    rejected faces). Ties break by face id.
    """
    if include_pending is None:
        row = model_row(conn, model_id)
        include_pending = bool(row and row.options.get("include_pending"))
    sql = (
        f"SELECT p.face_id, {_CURRENT_LABEL} AS cur, p.predicted, p.probs, "
        "json_extract(p.probs, '$.\"' || "
        f"({_CURRENT_LABEL}) || '\"') AS sc "
        "FROM predictions p JOIN face_state s ON s.face_id = p.face_id "
        "WHERE p.model_id = ? AND p.out_of_fold = 1 AND cur IS NOT NULL AND sc IS NOT NULL"
    )
    params: list[object] = [int(include_pending), int(include_pending), model_id]
    if label is not None:
        sql += " AND cur = ?"
        params.append(label)
    sql += " ORDER BY sc, p.face_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [
        Suspect(r[0], r[1], r[2], float(r[4] or 0.0), json.loads(r[3]))
        for r in conn.execute(sql, params)
    ]


def model_summary(conn: sqlite3.Connection) -> dict | None:
    """The ``model`` object of ``stats --json`` (id, trained_at, accuracy), or None."""
    row = latest_model_row(conn)
    if row is None:
        return None
    return {
        "id": row.id,
        "trained_at": row.trained_at,
        "accuracy": row.figures.get("accuracy"),
        "macro_f1": row.figures.get("macro_f1"),
        "faces": row.figures.get("faces"),
        "events_since": events_since(conn, row.last_event_id),
    }
