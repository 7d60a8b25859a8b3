"""``import fer2013.csv --ferplus fer2013new.csv``: FER+'s ten votes per FER2013 face.

FER+ (Microsoft's re-labelling of FER2013) has one row per FER2013 row, in the
same order, with vote counts in the columns ``neutral, happiness, surprise,
sadness, anger, disgust, fear, contempt, unknown, NF``. Each vote becomes a vote of
annotator ``ferplus:1``..``ferplus:N`` on the image of that FER2013 row: a label
(through the label aliases), a reject ``unknown`` or a reject ``not_a_face``. A
vote for a label outside the dataset's set (``contempt`` in FER2013's seven) is
counted as dropped. The face's state then follows the usual majority rules.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.dataset import Catalog
from catalog.db import transaction
from catalog.images import imported_paths
from catalog.labels import LabelSet
from catalog.votes import ImageVote, add_image_votes
from importer.columns import column_names, find_column, read_table_text
from importer.errors import ImportRefused
from importer.import_errors import record_import_error
from importer.votes import VoteSummary

ANNOTATOR = "ferplus"
MAX_BYTES = 256 << 20
MAX_VOTES = 100  # per row: FER+ has 10 (12 for a few); more is not a vote count


@dataclass(frozen=True)
class FerPlusRow:
    """One FER+ row: its 0-based data row (= the FER2013 row) and vote counts by column."""

    row: int
    counts: tuple[tuple[str, int], ...]  # (column, votes) in FER+ column order


def read_ferplus(path: Path) -> Iterator[FerPlusRow | tuple[int, str]]:
    """FER+ rows, or ``(row, problem)`` for a row whose counts cannot be read."""
    text = read_table_text(path, "FER+ file", MAX_BYTES)
    names = column_names()["ferplus"]
    wanted = [*names["label"], *names["reject"]]
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise ImportRefused(f"FER+ file {path.name} is empty")
        cols = [
            (name, find_column(header, [name], what=name, file=path.name, required=True))
            for name in wanted
        ]
        for row, fields in enumerate(reader):
            if not any(f.strip() for f in fields):
                continue
            counts: list[tuple[str, int]] = []
            for name, i in cols:
                text_value = fields[i].strip() if i is not None and i < len(fields) else ""
                if not (text_value.isascii() and text_value.isdigit()):
                    yield row, f"bad_row: {name} count {text_value!r} is not a whole number"
                    break
                counts.append((name, int(text_value)))
            else:
                if sum(n for _, n in counts) > MAX_VOTES:
                    yield row, f"bad_row: more than {MAX_VOTES} votes"
                    continue
                yield FerPlusRow(row, tuple(counts))
    except csv.Error as e:
        raise ImportRefused(f"FER+ file {path.name} cannot be read: {e}") from None


def row_votes(labels: LabelSet, r: FerPlusRow, origin: str) -> tuple[list[ImageVote], list[str]]:
    """A row's votes (``ferplus:1``.. in column order) and the labels of dropped votes."""
    rejects = column_names()["ferplus"]["reject"]
    votes: list[ImageVote] = []
    dropped: list[str] = []
    n = 0
    for column, count in r.counts:
        for _ in range(count):
            if column in rejects:
                n += 1
                votes.append(
                    ImageVote(f"{ANNOTATOR}:{n}", "reject", reason=rejects[column], origin=origin)
                )
            elif column in labels:
                n += 1
                label = labels.resolve(column)
                votes.append(ImageVote(f"{ANNOTATOR}:{n}", "label", label=label, origin=origin))
            else:
                dropped.append(column)
    return votes, dropped


def fer2013_rows(cat: Catalog, source_name: str, csv_name: str) -> dict[int, int]:
    """FER2013 data row -> image id, for the rows an import of ``csv_name`` kept."""
    out: dict[int, int] = {}
    for rest, image_id in imported_paths(cat.conn, source_name, f"{csv_name}:").items():
        row = rest.split(":", 1)[0]
        if row.isascii() and row.isdigit():
            out[int(row)] = image_id
    return out


def apply_ferplus(cat: Catalog, ferplus_path: Path, source_name: str, csv_name: str) -> VoteSummary:
    """Store FER+'s votes on the images an import of the FER2013 CSV ``csv_name`` kept."""
    ferplus_path = Path(ferplus_path)
    images = fer2013_rows(cat, source_name, csv_name)
    summary = VoteSummary(ferplus_path.name)
    touched: set[int] = set()
    with transaction(cat.conn):
        for item in read_ferplus(ferplus_path):
            summary.rows += 1
            if isinstance(item, tuple):
                row, problem = item
            else:
                row, problem = item.row, None
                image_id = images.get(row)
                if image_id is None:
                    problem = f"missing_file: FER2013 row {row} was not imported"
                else:
                    votes, dropped = row_votes(cat.labels, item, f"{ferplus_path.name}:{row}")
                    summary.dropped.update(dropped)
                    new = add_image_votes(cat.conn, image_id, votes)
                    summary.votes += new
                    summary.already += len(votes) - new
                    touched.add(image_id)
            if problem:
                summary.problems[problem.split(":", 1)[0]] += 1
                record_import_error(cat.conn, source_name, f"{ferplus_path.name}:{row}", problem)
    summary.images = len(touched)
    return summary
