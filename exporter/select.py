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
from catalog.exports import image_values_of
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
    "frame_how",
    "subject",
    "source_split",
)
# Per-image numbers a corpus gives (AffectNet), each a column of the per-face tables
# (empty where a face's image has none).
VALUE_COLUMNS = ("valence", "arousal")


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
    values: dict[str, float] = field(default_factory=dict)  # image_values by name

    def _first(self, attr: str) -> object | None:
        return next((v for s in self.sources if (v := getattr(s, attr)) is not None), None)

    @property
    def subject(self) -> str | None:
        """The person shown, as the first source naming one gives it (MMI, CK+, JAFFE)."""
        return self._first("subject")  # type: ignore[return-value]

    @property
    def subject_key(self) -> tuple[str, str] | None:
        """(source, subject): the person, told apart from another corpus's same name."""
        src = next((s for s in self.sources if s.subject is not None), None)
        return None if src is None else (src.source_name or "", src.subject)

    @property
    def source_split(self) -> str | None:
        """The corpus's own split of the face's image (RAF-DB train/test, ...), if any."""
        return self._first("source_split")  # type: ignore[return-value]

    @property
    def frame_index(self) -> int | None:
        """The frame of a video or sequence the image is."""
        return self._first("frame_index")  # type: ignore[return-value]

    @property
    def frame_how(self) -> str | None:
        """How that frame was chosen (``apex:markers``, ``apex:prior``, ``first``)."""
        return self._first("frame_how")  # type: ignore[return-value]

    def corpus_columns(self) -> dict[str, object]:
        """The per-face table's corpus columns: subject, source split, frame, values."""
        return {
            "subject": self.subject,
            "source_split": self.source_split,
            "frame_index": self.frame_index,
            "frame_how": self.frame_how,
            **{name: self.values.get(name) for name in VALUE_COLUMNS},
        }


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
    """The faces with their sources (URL, page, import path, query, subject, corpus split),
    annotations and the numbers a corpus gives for their image."""
    by_face = standing_votes(conn, [f.id for f in faces])
    values = image_values_of(conn, [f.image_id for f in faces])
    return [
        replace(
            f,
            sources=tuple(provenance(conn, f.image_id)),
            annotations=tuple(_annotations(by_face.get(f.id, {}))),
            values=values.get(f.image_id, {}),
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
