"""Counts over a catalog, for `facesift stats` and the review app."""

from __future__ import annotations

from catalog.dataset import Catalog

STATUSES = ("pending", "accepted", "rejected")


def _count(cat: Catalog, sql: str, params: tuple = ()) -> int:
    return cat.conn.execute(sql, params).fetchone()[0]


def summary(cat: Catalog) -> dict:
    """The ``facesift stats --json`` object.

    ``by_label`` counts faces by current label among accepted faces and pending
    faces that carry a label; ``status`` counts every face.
    """
    status = dict.fromkeys(STATUSES, 0)
    for st, n in cat.conn.execute("SELECT status, COUNT(*) FROM face_state GROUP BY status"):
        status[st] = n
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
    return {
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
        "near_duplicate_groups": _count(
            cat,
            "SELECT COUNT(*) FROM (SELECT dup_group FROM faces WHERE dup_group IS NOT NULL "
            "GROUP BY dup_group HAVING COUNT(*) > 1)",
        ),
        "status": status,
        "by_label": by_label,
        "label_events": _count(cat, "SELECT COUNT(*) FROM label_events"),
        "exports": _count(cat, "SELECT COUNT(*) FROM exports"),
    }
