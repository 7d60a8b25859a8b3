"""Which faces an export takes, with everything the manifest says about them.

Reads the catalog (``face_state``, ``faces``, provenance, label events) and
applies the status rule, the label plan and the quality filters. Every face
left out is counted under a reason, so the card can say what was dropped.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field, replace

from catalog.events import Vote, standing_votes
from catalog.faces import export_rows
from catalog.images import Provenance, provenance
from catalog.takedowns import TAKEN_DOWN
from exporter.options import ExportOptions, LabelPlan

# The manifest's keys of a provenance (a face's ``sources``), written where not empty.
MANIFEST_SOURCE_KEYS = (
    "kind",
    "source_name",
    "url",
    "page",
    "import_path",
    "engine",
    "query",
    "query_label",
    "found_at",
    "frame_index",
)


def source_record(src: Provenance) -> dict:
    """A provenance as the manifest writes it: JSON-ready, without empty fields."""
    return {k: v for k in MANIFEST_SOURCE_KEYS if (v := getattr(src, k)) is not None}


@dataclass(frozen=True)
class ExportFace:
    """One face that goes into the export."""

    id: int
    image_id: int
    label: str  # the exported class (after --map)
    catalog_label: str  # the face's current label in the catalog
    status: str
    chip_path: str
    phash: str | None
    dup_group: int | None
    embedding: bytes | None
    quality: dict
    chip_size: int | None = None
    chip_padding: float | None = None
    sources: tuple[Provenance, ...] = ()
    annotations: tuple[dict, ...] = ()


@dataclass
class Selection:
    """The faces taken, and how many were left out for which reason."""

    faces: list[ExportFace]
    left_out: Counter = field(default_factory=Counter)


_QUALITY = ("size_px", "sharpness", "yaw", "roll", "pitch", "brightness", "contrast", "score")


def select_faces(conn: sqlite3.Connection, opts: ExportOptions, plan: LabelPlan) -> Selection:
    """The faces to export, in face id order, with the reasons the others were left out."""
    statuses = ("accepted", "pending") if opts.include_pending else ("accepted",)
    rows = export_rows(conn, _QUALITY)
    taken: list[ExportFace] = []
    left = Counter()
    for r in rows:
        status, label = r["status"], r["label"]
        if r["taken_down_at"]:  # facesift takedown: never exported again
            left[TAKEN_DOWN] += 1
            continue
        if status == "rejected":
            left["rejected"] += 1
            continue
        if status not in statuses:
            left["pending (no --include-pending)"] += 1
            continue
        if not label:
            left["no label"] += 1
            continue
        if status == "pending" and r["disputed"]:
            # Annotators disagree: the label the source claims is not good enough.
            left["disputed"] += 1
            continue
        if r["annotators"] < opts.min_annotators:
            left[f"fewer than {opts.min_annotators} annotators (--min-annotators)"] += 1
            continue
        if label not in plan.mapping:
            left["label not exported"] += 1
            continue
        reason = _quality_reason(r, opts)
        if reason:
            left[reason] += 1
            continue
        if not r["chip_path"]:
            left["no chip"] += 1
            continue
        taken.append(
            ExportFace(
                id=r["id"],
                image_id=r["image_id"],
                label=plan.mapping[label],
                catalog_label=label,
                status=status,
                chip_path=r["chip_path"],
                chip_size=r["chip_size"],
                chip_padding=r["chip_padding"],
                phash=r["phash"],
                dup_group=r["dup_group"],
                embedding=r["embedding"],
                quality={q: r[q] for q in _QUALITY if r[q] is not None},
            )
        )
    return Selection(taken, left)


def class_votes(face: ExportFace, plan: LabelPlan) -> list[int]:
    """How many annotators gave each exported class, in class index order (after --map).

    Counted from the face's standing votes (its annotations); a reject and a label
    that is not exported count for no class. A user can train on these as soft
    labels, as FER+ recommends.
    """
    order = sorted(plan.names, key=lambda n: plan.indices[n])
    slot = {name: i for i, name in enumerate(order)}
    counts = [0] * len(order)
    for a in face.annotations:
        cls = plan.mapping.get(a.get("label")) if a.get("status") == "accepted" else None
        if cls in slot:
            counts[slot[cls]] += 1
    return counts


def _quality_reason(r: sqlite3.Row, opts: ExportOptions) -> str | None:
    # A face without the measure cannot show it passes: it is left out too.
    if opts.min_size > 0 and (r["size_px"] is None or r["size_px"] < opts.min_size):
        return f"smaller than {opts.min_size:g} px (--min-size)"
    if opts.min_sharpness > 0 and (r["sharpness"] is None or r["sharpness"] < opts.min_sharpness):
        return f"less sharp than {opts.min_sharpness:g} (--min-sharpness)"
    if opts.max_yaw is not None and (r["yaw"] is None or abs(r["yaw"]) > opts.max_yaw):
        return f"turned more than {opts.max_yaw:g} degrees (--max-yaw)"
    return None


def with_provenance(conn: sqlite3.Connection, faces: list[ExportFace]) -> list[ExportFace]:
    """The faces with their sources (URL, page, import path, query) and annotations."""
    by_face = standing_votes(conn, [f.id for f in faces])
    return [
        replace(
            f,
            sources=tuple(provenance(conn, f.image_id)),
            annotations=tuple(_annotations(by_face.get(f.id, {}))),
        )
        for f in faces
    ]


def _annotations(vs: dict[str, Vote]) -> list[dict]:
    """Each annotator's standing vote (after undos), by annotator name."""
    return [
        {
            k: v
            for k, v in {
                "annotator": a,
                "status": vs[a].status,
                "label": vs[a].label,
                "reason": vs[a].reason,
            }.items()
            if v is not None
        }
        for a in sorted(vs)
    ]
