"""A dataset: its folder under the data root, its catalog and its label set."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from catalog.db import as_disk_full, connect, transaction, utc_now
from catalog.events import dataset_labels
from catalog.labels import LabelError, LabelSet
from catalog.schema import migrate
from core.errors import FacesiftError

DEFAULT_ROOT = Path("datasets")
DEFAULT_DATASET = "default"
CATALOG_FILE = "catalog.sqlite"
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class DatasetError(FacesiftError, ValueError):
    """A dataset that cannot be opened or created as asked."""


@dataclass(frozen=True)
class DatasetPaths:
    """Where a dataset's files live."""

    root: Path
    name: str

    def __post_init__(self) -> None:
        if not _DATASET_NAME.match(self.name) or ".." in self.name:
            raise DatasetError(
                f"bad dataset name {self.name!r}: use letters, digits, '.', '-' or '_'"
            )

    @property
    def dir(self) -> Path:
        return self.root / self.name

    @property
    def catalog(self) -> Path:
        return self.dir / CATALOG_FILE

    def resolve(self, relpath: str) -> Path:
        """The absolute path of a path stored in the catalog; refuses one that leaves the folder."""
        base = self.dir.resolve()
        p = (base / relpath).resolve()
        if not p.is_relative_to(base):
            raise DatasetError(f"stored path {relpath!r} leaves the dataset folder")
        return p


class Catalog:
    """An open dataset: its paths, its catalog connection and its label set.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, paths: DatasetPaths, conn: sqlite3.Connection, labels: LabelSet):
        self.paths = paths
        self.conn = conn
        self.labels = labels

    @classmethod
    def open(
        cls,
        root: Path | str = DEFAULT_ROOT,
        name: str = DEFAULT_DATASET,
        *,
        labels: LabelSet | None = None,
        create: bool = True,
    ) -> Catalog:
        """Open a dataset, creating it (with ``labels`` or the default set) if ``create``.

        Passing ``labels`` for an existing dataset with another set is an error.
        """
        paths = DatasetPaths(Path(root), name)
        if not paths.catalog.exists():
            if not create:
                raise DatasetError(f"no dataset {name!r} under {root}")
            try:
                paths.dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # --root is a file, or a folder we may not write
                raise DatasetError(f"cannot create dataset {name!r} under {root}: {e}") from None
        try:
            conn = connect(paths.catalog)
        except (OSError, sqlite3.Error) as e:
            full = as_disk_full(e, paths.dir)  # WAL's files cannot be made on a full disk
            raise full or DatasetError(f"cannot open {paths.catalog}: {e}") from None
        try:
            migrate(conn)
            stored = _ensure_labels(conn, labels)
        except BaseException as e:
            conn.close()
            if full := as_disk_full(e, paths.dir):
                raise full from None
            if isinstance(e, sqlite3.DatabaseError):  # another program's database, say
                raise DatasetError(f"cannot use {paths.catalog}: {e}") from None
            raise
        return cls(paths, conn, stored)

    def close(self) -> None:
        """Close the catalog connection."""
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def planned_labels(root: Path | str = DEFAULT_ROOT, name: str = DEFAULT_DATASET) -> LabelSet:
    """The label set a dataset has, or would get if created, without creating anything.

    For listings (``facesift scrape --plan``) that must leave no folder or catalog behind.
    """
    paths = DatasetPaths(Path(root), name)
    if not paths.catalog.exists():
        return LabelSet.default()
    with Catalog.open(root, name, create=False) as cat:
        return cat.labels


def _ensure_labels(conn: sqlite3.Connection, wanted: LabelSet | None) -> LabelSet:
    """Store the label set on first open; check it on later ones."""
    with transaction(conn):
        names = dataset_labels(conn)
        if not names:
            chosen = wanted or LabelSet.default()
            conn.executemany(
                "INSERT INTO labels (idx, name) VALUES (?, ?)", enumerate(chosen.names)
            )
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (utc_now(),)
            )
            return chosen
    stored = LabelSet(names)
    if wanted is not None and wanted != stored:
        raise LabelError(
            f"this dataset's labels are {','.join(stored.names)}, not {','.join(wanted.names)}"
        )
    return stored
