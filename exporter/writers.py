"""The three output formats. Each writer streams rendered faces into a folder.

A writer takes the faces of the export in a fixed order (split, then face id)
and returns, for each face, where it went (a file, or a row of a file) and the
sha256 of its image bytes. Nothing here reads the catalog.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.storage import sha256_hex
from exporter.options import LabelPlan
from exporter.render import fer_pixels
from exporter.select import VALUE_COLUMNS, ExportFace, class_votes

FER_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FER_CSV = "fer2013.csv"
# What a corpus says about a face (ExportFace.corpus_columns), empty where it says nothing.
CORPUS_COLUMNS = ("subject", "source_split", "frame_index", "frame_how", *VALUE_COLUMNS)
METADATA_COLUMNS = (
    "file_name",
    "label",
    "face_id",
    "source_kind",
    "source",
    "size_px",
    "sharpness",
    "yaw",
    "pitch",
    "roll",
    *CORPUS_COLUMNS,
)
PARQUET_ROWS_PER_GROUP = 512
VOTES_PREFIX = "votes_"  # imagefolder metadata.csv: one vote-count column per class


def class_order(plan: LabelPlan) -> list[str]:
    """The exported classes in class index order (the order of every votes column)."""
    return sorted(plan.names, key=lambda n: plan.indices[n])


@dataclass(frozen=True)
class Item:
    """One face ready to write: its split, class index and encoded image.

    ``data`` is PNG bytes, or for the FER2013 CSV the raw 48x48 gray pixels.
    """

    face: ExportFace
    split: str
    index: int
    data: bytes


@dataclass(frozen=True)
class Placed:
    """Where a face was written and the sha256 of its image bytes."""

    face_id: int
    path: str  # relative to the export folder
    row: int | None  # row in ``path`` (CSV data row or parquet row, 0-based) or None
    sha256: str


def primary_source(face: ExportFace) -> tuple[str, str]:
    """(kind, URL or import path) of the face's first provenance, never empty."""
    for s in face.sources:
        if s.kind == "search" and s.url:
            return "search", s.url
    for s in face.sources:
        where = s.import_path or ""
        if s.source_name:
            where = f"{s.source_name}:{where}"
        if s.frame_index is not None:
            where += f"#frame={s.frame_index}"
        return s.kind, where or "unknown"
    return "unknown", "unknown"


def _num(v: object) -> float | str:
    """A quality figure for a CSV cell: rounded, or empty when unknown."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return round(float(v), 4)


def _cells(columns: dict[str, object]) -> list[object]:
    """A face's corpus columns as CSV cells, in CORPUS_COLUMNS order (empty when absent)."""
    cells: list[object] = []
    for c in CORPUS_COLUMNS:
        v = columns[c]
        cells.append(_num(v) if isinstance(v, float) else ("" if v is None else v))
    return cells


def write_imagefolder(root: Path, items: Iterable[Item], plan: LabelPlan) -> list[Placed]:
    """``split/label/face-id.png`` plus a ``metadata.csv`` per split.

    Every class folder exists in every written split (empty or not), so that
    loaders which index classes by folder agree across splits.
    """
    placed: list[Placed] = []
    rows: dict[str, list[list[object]]] = {}
    for it in items:
        if it.split not in rows:
            rows[it.split] = []
            for name in plan.names:
                (root / it.split / name).mkdir(parents=True, exist_ok=True)
        data = it.data
        rel_in_split = f"{it.face.label}/{it.face.id}.png"
        (root / it.split / rel_in_split).write_bytes(data)
        kind, src = primary_source(it.face)
        q = it.face.quality
        rows[it.split].append(
            [
                rel_in_split,
                it.face.label,
                it.face.id,
                kind,
                src,
                *(_num(q.get(k)) for k in ("size_px", "sharpness", "yaw", "pitch", "roll")),
                *_cells(it.face.corpus_columns()),
                *class_votes(it.face, plan),
            ]
        )
        sha = sha256_hex(data)
        placed.append(Placed(it.face.id, f"{it.split}/{rel_in_split}", None, sha))
    header = [*METADATA_COLUMNS, *(VOTES_PREFIX + n for n in class_order(plan))]
    for split, split_rows in rows.items():
        _write_csv(root / split / "metadata.csv", [header, *split_rows])
    return placed


def write_fer2013(root: Path, items: Iterable[Item], plan: LabelPlan) -> list[Placed]:
    """One CSV with exactly FER2013's columns: ``emotion,pixels,Usage``."""
    placed: list[Placed] = []
    with open(root / FER_CSV, "w", encoding="utf-8", newline="") as f:  # streamed: rows are big
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["emotion", "pixels", "Usage"])
        for n, it in enumerate(items):
            out.writerow([it.index, fer_pixels(it.data), FER_USAGE[it.split]])
            placed.append(Placed(it.face.id, FER_CSV, n, sha256_hex(it.data)))
    return placed


def _write_csv(path: Path, rows: list[list[object]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def hf_features(plan: LabelPlan) -> dict:
    """The Hugging Face ``Features`` of the parquet files, as ``datasets`` serialises them."""
    names = class_order(plan)
    return {
        "image": {"_type": "Image"},
        "label": {"names": names, "_type": "ClassLabel"},
        # annotators per class, in the label's class order (soft labels, as FER+ publishes)
        "votes": {"feature": {"dtype": "int64", "_type": "Value"}, "_type": "Sequence"},
        "face_id": {"dtype": "int64", "_type": "Value"},
        "source_kind": {"dtype": "string", "_type": "Value"},
        "source": {"dtype": "string", "_type": "Value"},
        "sha256": {"dtype": "string", "_type": "Value"},
        "size_px": {"dtype": "float64", "_type": "Value"},
        "sharpness": {"dtype": "float64", "_type": "Value"},
        "yaw": {"dtype": "float64", "_type": "Value"},
        "subject": {"dtype": "string", "_type": "Value"},
        "source_split": {"dtype": "string", "_type": "Value"},
        "frame_index": {"dtype": "int64", "_type": "Value"},
        "frame_how": {"dtype": "string", "_type": "Value"},
        **{name: {"dtype": "float64", "_type": "Value"} for name in VALUE_COLUMNS},
    }


def _hf_schema(plan: LabelPlan) -> pa.Schema:
    fields = [
        pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        pa.field("label", pa.int64()),
        pa.field("votes", pa.list_(pa.int64())),
        pa.field("face_id", pa.int64()),
        pa.field("source_kind", pa.string()),
        pa.field("source", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("size_px", pa.float64()),
        pa.field("sharpness", pa.float64()),
        pa.field("yaw", pa.float64()),
        pa.field("subject", pa.string()),
        pa.field("source_split", pa.string()),
        pa.field("frame_index", pa.int64()),
        pa.field("frame_how", pa.string()),
        *(pa.field(name, pa.float64()) for name in VALUE_COLUMNS),
    ]
    meta = {"info": {"features": hf_features(plan)}}
    return pa.schema(fields, metadata={b"huggingface": json.dumps(meta).encode()})


def parquet_name(split: str) -> str:
    """Hugging Face's file naming for a one-shard split."""
    return f"data/{split}-00000-of-00001.parquet"


def write_hf(root: Path, items: Iterable[Item], plan: LabelPlan) -> list[Placed]:
    """One parquet file per split: image bytes, class index (``ClassLabel``), metadata."""
    schema = _hf_schema(plan)
    placed: list[Placed] = []
    (root / "data").mkdir(parents=True, exist_ok=True)
    for split, group in groupby(items, key=lambda it: it.split):
        path = root / parquet_name(split)
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            batch: list[dict] = []
            for n, it in enumerate(group):
                data = it.data
                sha = sha256_hex(data)
                kind, src = primary_source(it.face)
                q = it.face.quality
                batch.append(
                    {
                        "image": {"bytes": data, "path": f"{it.face.id}.png"},
                        "label": it.index,
                        "votes": class_votes(it.face, plan),
                        "face_id": it.face.id,
                        "source_kind": kind,
                        "source": src,
                        "sha256": sha,
                        "size_px": q.get("size_px"),
                        "sharpness": q.get("sharpness"),
                        "yaw": q.get("yaw"),
                        **it.face.corpus_columns(),
                    }
                )
                placed.append(Placed(it.face.id, parquet_name(split), n, sha))
                if len(batch) >= PARQUET_ROWS_PER_GROUP:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return placed


WRITERS = {"imagefolder": write_imagefolder, "fer2013-csv": write_fer2013, "hf": write_hf}
