"""``import PATH --labels-csv FILE``: per-annotator labels of the imported images.

A labels CSV has a header naming an image column, a label column and optionally
an annotator column (candidate names in ``columns.toml``). A row names an image by
its path relative to ``PATH``, or by its file name where that is unique in
``PATH``. Every row becomes a vote of annotator ``<source>:<annotator>`` (or
``<source>:row<N>``) on the image, and a label event on each of its faces, so the
agreement statistics, the disputed filter and the card see who labelled what.
Rows that name no imported image, and labels outside the dataset's label set, are
recorded in ``import_errors``; an unknown label never drops the image.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog.dataset import Catalog
from catalog.db import transaction
from catalog.images import imported_paths
from catalog.labels import LabelError, LabelSet
from catalog.votes import ImageVote, add_image_votes
from importer.columns import column_names, find_column, read_table_text
from importer.errors import ImportRefused
from importer.import_errors import record_import_error
from importer.votes import VoteSummary

MAX_BYTES = 512 << 20  # a labels CSV is text; anything larger is not one


@dataclass(frozen=True)
class LabelRow:
    """One data row of a labels CSV."""

    row: int  # 1-based data row (the header is row 0)
    image: str  # the image as the CSV names it
    label_word: str
    annotator: str | None


def read_labels_csv(path: Path) -> Iterator[LabelRow]:
    """The rows of a labels CSV; ImportRefused (one line) if it is not one."""
    text = read_table_text(path, "labels CSV", MAX_BYTES)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise ImportRefused(f"labels CSV {path.name} is empty")
        names = column_names()["labels_csv"]
        kw = {"file": path.name}
        i_img = find_column(header, names["image"], what="image", required=True, **kw)
        i_lab = find_column(header, names["label"], what="label", required=True, **kw)
        i_ann = find_column(header, names["annotator"], what="annotator", required=False, **kw)
        for number, fields in enumerate(reader, start=1):
            if not any(f.strip() for f in fields):
                continue

            def cell(i: int | None, fields: list[str] = fields) -> str:
                return fields[i].strip() if i is not None and i < len(fields) else ""

            yield LabelRow(number, cell(i_img), cell(i_lab), cell(i_ann) or None)
    except csv.Error as e:
        raise ImportRefused(f"labels CSV {path.name} cannot be read: {e}") from None


def normalise_name(name: str) -> str:
    """A CSV's image reference as a relative POSIX path (``.\\a\\b.jpg`` -> ``a/b.jpg``)."""
    p = PurePosixPath(name.strip().replace("\\", "/"))
    parts = [s for s in p.parts if s not in (".", "/")]
    return "/".join(parts)


class ImageIndex:
    """The images of one import by their path relative to PATH, and by unique file name."""

    def __init__(self, paths: Mapping[str, int]):
        self.by_path = dict(paths)
        # A zip inside the imported folder (an upload of one zip, say): its entries are
        # also named by their path inside the zip, where that is unique.
        inside: dict[str, set[int]] = defaultdict(set)
        for rel, image_id in paths.items():
            first, _, rest = rel.partition("/")
            if rest and first.lower().endswith(".zip"):
                inside[rest].add(image_id)
        for rest, ids in inside.items():
            if len(ids) == 1 and rest not in self.by_path:
                self.by_path[rest] = next(iter(ids))
        names: dict[str, set[int]] = defaultdict(set)
        for rel, image_id in self.by_path.items():
            names[PurePosixPath(rel).name].add(image_id)
        self.by_name = {n: ids.pop() for n, ids in names.items() if len(ids) == 1}
        self.ambiguous = {n for n, ids in names.items() if len(ids) > 1}

    def find(self, name: str) -> int | None:
        """The image a CSV row names, or None."""
        rel = normalise_name(name)
        if rel in self.by_path:
            return self.by_path[rel]
        if "/" not in rel:
            return self.by_name.get(rel)
        return None


def row_vote(
    labels: LabelSet, row: LabelRow, source_name: str, origin: str
) -> tuple[ImageVote | None, str | None]:
    """A row's vote, or the reason it gives none (``unknown_label: contempt``)."""
    try:
        label = labels.resolve(row.label_word)
    except LabelError:
        return None, f"unknown_label: {row.label_word or '(empty)'}"
    who = row.annotator if row.annotator else f"row{row.row}"
    return ImageVote(f"{source_name}:{who}", "label", label=label, origin=origin), None


def apply_labels_csv(
    cat: Catalog, csv_path: Path, source_name: str, *, prefix: str = ""
) -> VoteSummary:
    """Read a labels CSV and store its votes on the images the import ``source_name`` kept.

    ``prefix`` is removed from the stored import paths first (``data.zip/`` for a zip).
    """
    csv_path = Path(csv_path)
    index = ImageIndex(imported_paths(cat.conn, source_name, prefix))
    summary = VoteSummary(csv_path.name)
    per_image: dict[int, list[ImageVote]] = defaultdict(list)
    with transaction(cat.conn):
        for row in read_labels_csv(csv_path):
            summary.rows += 1
            where = f"{csv_path.name}:row{row.row}"
            image_id = index.find(row.image) if row.image else None
            problem = None
            if image_id is None:
                why = (
                    "names the same file name as several images"
                    if (normalise_name(row.image) in index.ambiguous)
                    else "names no imported image"
                )
                problem = f"missing_file: {row.image!r} {why}"
            else:
                vote, problem = row_vote(cat.labels, row, source_name, where)
                if vote is not None:
                    per_image[image_id].append(vote)
            if problem:
                summary.problems[problem.split(":", 1)[0]] += 1
                record_import_error(cat.conn, source_name, where, problem)
        for image_id, votes in per_image.items():
            new = add_image_votes(cat.conn, image_id, votes)
            summary.votes += new
            summary.already += len(votes) - new
        summary.images = len(per_image)
    return summary
