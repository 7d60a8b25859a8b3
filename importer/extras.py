"""What an import does besides storing images: labels CSVs, FER+ votes, face-crop marks.

Each runs after the images are in the catalog (so a row can name any of them) and
before extract (so the faces it finds get the votes, see :mod:`catalog.votes`).
"""

from __future__ import annotations

from pathlib import Path

from catalog.dataset import Catalog
from importer.errors import ImportRefused
from importer.ferplus import apply_ferplus
from importer.labels_csv import apply_labels_csv, read_labels_csv
from importer.votes import VoteSummary


def check_extras(
    kind: str, labels_csv: Path | None, ferplus: Path | None, labels_from: str | None = None
) -> None:
    """Refuse (one line, before anything is stored) extras that cannot apply to this input."""
    if labels_csv is not None:
        if kind not in ("folder", "zip", "image"):
            raise ImportRefused("--labels-csv needs a folder, a zip or an image file to label")
        next(iter(read_labels_csv(Path(labels_csv))), None)  # header and columns, now
    if ferplus is not None:
        if kind != "csv":
            raise ImportRefused("--ferplus needs the FER2013 CSV it re-labels (fer2013.csv)")
        if not Path(ferplus).is_file():
            raise ImportRefused(f"FER+ file {ferplus} is not a file")


def apply_extras(
    cat: Catalog,
    path: Path,
    kind: str,
    source_name: str,
    labels_csv: Path | None,
    ferplus: Path | None,
) -> list[VoteSummary]:
    """Store a labels CSV's and a FER+ file's votes on the images this import kept."""
    out = []
    if labels_csv is not None:
        prefix = f"{path.name}/" if kind == "zip" else ""
        out.append(apply_labels_csv(cat, Path(labels_csv), source_name, prefix=prefix))
    if ferplus is not None:
        out.append(apply_ferplus(cat, Path(ferplus), source_name, path.name))
    return out
