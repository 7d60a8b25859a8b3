"""Counts over a catalog, for `facesift stats` and the review app."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.dataset import Catalog
from catalog.faces import DETECTOR_STEPS
from catalog.predictions import model_summary
from catalog.takedowns import takedown_counts

STATUSES = ("pending", "accepted", "rejected")


def _count(cat: Catalog, sql: str, params: tuple = ()) -> int:
    return cat.conn.execute(sql, params).fetchone()[0]


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Faces by status (pending, accepted, rejected; 0 where none)."""
    status = dict.fromkeys(STATUSES, 0)
    for st, n in conn.execute("SELECT status, COUNT(*) FROM face_state GROUP BY status"):
        status[st] = n
    return status


def near_duplicate_group_count(conn: sqlite3.Connection) -> int:
    """Groups of two or more near-duplicate faces (``faces.dup_group``)."""
    return conn.execute(
        "SELECT COUNT(*) FROM (SELECT dup_group FROM faces WHERE dup_group IS NOT NULL "
        "GROUP BY dup_group HAVING COUNT(*) > 1)"
    ).fetchone()[0]


def summary(cat: Catalog) -> dict:
    """The ``facesift stats --json`` object.

    ``by_label`` counts faces by current label among accepted faces and pending
    faces that carry a label; ``status`` counts every face.
    """
    status = status_counts(cat.conn)
    by_label = dict.fromkeys(cat.labels.names, 0)
    for label, n in cat.conn.execute(
        "SELECT label, COUNT(*) FROM face_state "
        "WHERE status IN ('accepted', 'pending') AND label IS NOT NULL GROUP BY label"
    ):
        if label in by_label:
            by_label[label] = n
    extract = dict.fromkeys(("pending", "done", "no_face", "error"), 0)
    for st, n in cat.conn.execute(
        "SELECT IFNULL(extract_status, 'pending'), COUNT(*) FROM images GROUP BY 1"
    ):
        extract[st] = n
    extract["by_detector"] = faces_by_detector(cat)
    out = {
        "dataset": cat.paths.name,
        "labels": list(cat.labels.names),
        "queries": _count(cat, "SELECT COUNT(*) FROM queries"),
        "results": _count(cat, "SELECT COUNT(*) FROM search_results"),
        "downloads": {
            st: _count(cat, "SELECT COUNT(*) FROM downloads WHERE status = ?", (st,))
            for st in ("pending", "ok", "failed", "skipped")
        },
        "images": {
            "ok": _count(cat, "SELECT COUNT(*) FROM images"),
            "failed": _count(cat, "SELECT COUNT(*) FROM downloads WHERE status = 'failed'")
            + _count(cat, "SELECT COUNT(*) FROM import_errors"),
        },
        "extract": extract,
        "faces": _count(cat, "SELECT COUNT(*) FROM faces"),
        "near_duplicate_groups": near_duplicate_group_count(cat.conn),
        "status": status,
        "by_label": by_label,
        "label_events": _count(cat, "SELECT COUNT(*) FROM label_events"),
        "exports": _count(cat, "SELECT COUNT(*) FROM exports"),
        "takedowns": takedown_counts(cat.conn),
        "by_language": search_breakdown(cat.conn, "language"),
        "by_engine": search_breakdown(cat.conn, "engine"),
    }
    model = model_summary(cat.conn)
    if model is not None:  # the newest model: id, trained_at, accuracy (cross-validated)
        out["model"] = model
    return out


_SEARCH_COLUMNS = ("language", "engine")  # the queries columns a breakdown may group by


def search_breakdown(conn: sqlite3.Connection, column: str) -> dict[str, dict[str, int]]:
    """What each query language (or engine) brought: queries, result links, stored
    images and faces on them. An image found by queries of two languages counts for both."""
    if column not in _SEARCH_COLUMNS:
        raise ValueError(f"no breakdown by {column!r}")
    out: dict[str, dict[str, int]] = {}
    for key, queries, results in conn.execute(
        f"SELECT q.{column}, COUNT(DISTINCT q.id), COUNT(r.id) FROM queries q "
        "LEFT JOIN search_results r ON r.query_id = q.id GROUP BY 1 ORDER BY 1"
    ):
        out[key] = {"queries": queries, "results": results, "images": 0, "faces": 0}
    for key, images, faces in conn.execute(
        f"SELECT q.{column}, COUNT(DISTINCT s.image_id), COUNT(DISTINCT f.id) "
        "FROM queries q JOIN search_results r ON r.query_id = q.id "
        "JOIN image_sources s ON s.search_result_id = r.id "
        "LEFT JOIN faces f ON f.image_id = s.image_id GROUP BY 1"
    ):
        out[key].update(images=images, faces=faces)
    return out


def faces_by_detector(cat: Catalog) -> dict[str, int]:
    """Faces by the step that found them (``hog``, ``hog+frame``, ``cnn``, ``whole``; 0 if none)."""
    counts = dict.fromkeys(DETECTOR_STEPS, 0)
    for detector, n in cat.conn.execute("SELECT detector, COUNT(*) FROM faces GROUP BY detector"):
        counts[detector] = n
    return counts


@dataclass(frozen=True)
class EmotionCounts:
    """What the dataset holds for one label: from the search links to the faces."""

    label: str
    links: int  # search results of this label's queries
    images: int  # stored images with a source of this label (search or import)
    faces: int  # faces found in those images
    near_duplicates: int  # ... of which have a near-duplicate elsewhere in the dataset
    no_face: int  # images in which no face was found
    failures: dict[str, int]  # reason -> count: downloads not kept, images extract could not read


def by_emotion(cat: Catalog, labels: Sequence[str] | None = None) -> list[EmotionCounts]:
    """Per-label counts for `facesift run`'s summary, in label-set order."""
    out = []
    for label in labels or cat.labels.names:
        images = "SELECT DISTINCT image_id FROM image_sources WHERE source_label = ?"
        failures: dict[str, int] = {}
        for reason, n in cat.conn.execute(
            "SELECT IFNULL(d.reason, d.status), COUNT(DISTINCT d.url) FROM downloads d "
            "JOIN search_results r ON r.url = d.url JOIN queries q ON q.id = r.query_id "
            "WHERE q.label = ? AND d.status IN ('failed', 'skipped') GROUP BY 1",
            (label,),
        ):
            failures[reason] = failures.get(reason, 0) + n
        for (text,) in cat.conn.execute(
            f"SELECT extract_reason FROM images WHERE extract_status = 'error' "
            f"AND id IN ({images})",
            (label,),
        ):
            reason = (text or "error").split(":", 1)[0]  # "truncated: <details>"
            failures[reason] = failures.get(reason, 0) + 1
        out.append(
            EmotionCounts(
                label=label,
                links=_count(
                    cat,
                    "SELECT COUNT(*) FROM search_results r JOIN queries q ON q.id = r.query_id "
                    "WHERE q.label = ?",
                    (label,),
                ),
                images=_count(cat, f"SELECT COUNT(*) FROM ({images})", (label,)),
                faces=_count(
                    cat, f"SELECT COUNT(*) FROM faces WHERE image_id IN ({images})", (label,)
                ),
                near_duplicates=_count(
                    cat,
                    f"SELECT COUNT(*) FROM faces WHERE image_id IN ({images}) AND dup_group IN "
                    "(SELECT dup_group FROM faces WHERE dup_group IS NOT NULL "
                    "GROUP BY dup_group HAVING COUNT(*) > 1)",
                    (label,),
                ),
                no_face=_count(
                    cat,
                    f"SELECT COUNT(*) FROM images WHERE extract_status = 'no_face' "
                    f"AND id IN ({images})",
                    (label,),
                ),
                failures=dict(sorted(failures.items())),
            )
        )
    return out


# The dataset card's figures (exporter.card.gather): what was searched, imported,
# detected and decided over the whole catalog.


def query_result_counts(conn: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
    """(engine, text, label, result links) of every search query, by engine, label, text."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT q.engine, q.text, q.label, COUNT(r.id) FROM queries q "
            "LEFT JOIN search_results r ON r.query_id = q.id "
            "GROUP BY q.id ORDER BY q.engine, q.label, q.text"
        )
    ]


def searches_by_language(conn: sqlite3.Connection) -> list[tuple[str, str, int, int]]:
    """(language, engine, queries, result links), by language and engine."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT q.language, q.engine, COUNT(DISTINCT q.id), COUNT(r.id) FROM queries q "
            "LEFT JOIN search_results r ON r.query_id = q.id GROUP BY 1, 2 ORDER BY 1, 2"
        )
    ]


def search_dates(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """When the first search run started and the last one ended (None, None without runs)."""
    row = conn.execute(
        "SELECT MIN(started_at), MAX(IFNULL(finished_at, started_at)) FROM search_runs"
    ).fetchone()
    return (row[0], row[1])


def import_counts(conn: sqlite3.Connection) -> list[tuple[str, int, str, str]]:
    """(source name or kind, images, first added, last added) of each import, by name."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT IFNULL(source_name, kind), COUNT(DISTINCT image_id), MIN(added_at), "
            "MAX(added_at) FROM image_sources WHERE kind <> 'search' GROUP BY 1 ORDER BY 1"
        )
    ]


def detector_settings_counts(
    conn: sqlite3.Connection,
) -> list[tuple[str, int | None, float | None, int]]:
    """(detector, chip size, chip padding, faces) for each combination the faces have."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT detector, chip_size, chip_padding, COUNT(*) FROM faces "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    ]


def face_count(conn: sqlite3.Connection) -> int:
    """How many faces the catalog holds."""
    return conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]


def rejected_by_reason(conn: sqlite3.Connection) -> list[tuple[str | None, int]]:
    """(reason, faces) of the rejected faces, by reason (None: no reason given)."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT reason, COUNT(*) FROM face_state WHERE status = 'rejected' "
            "GROUP BY reason ORDER BY reason"
        )
    ]
