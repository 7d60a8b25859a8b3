"""Which column of a table is which: the candidate names live in ``columns.toml``."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from importer.errors import ImportRefused


@cache
def column_names() -> dict:
    """The ``columns.toml`` tables (labels_csv, url_list, ferplus)."""
    return tomllib.loads(resources.files("importer").joinpath("columns.toml").read_text())


def find_column(
    header: Sequence[str], candidates: Sequence[str], *, what: str, file: str, required: bool
) -> int | None:
    """Index of the first candidate present in ``header`` (case-insensitive), or None.

    Raises ImportRefused when ``required`` and none is present.
    """
    lowered = [h.strip().lower() for h in header]
    for name in candidates:
        if name.lower() in lowered:
            return lowered.index(name.lower())
    if required:
        raise ImportRefused(
            f"{file} has no {what} column (looked for {', '.join(candidates)}; "
            f"its header is {', '.join(h.strip() for h in header)[:200]})"
        )
    return None


def named_column(header: Sequence[str], name: str, *, what: str, file: str) -> int:
    """Index of a column the user named (``--url-column url``); ImportRefused if absent."""
    return find_column(header, [name], what=what, file=file, required=True)  # type: ignore[return-value]


def read_table_text(path: Path, what: str, max_bytes: int) -> str:
    """The whole text of a table file (a BOM dropped); ImportRefused (one line) if it is not one.

    ``what`` names the file in the message ("labels CSV"); ``max_bytes`` caps its size.
    """
    if not path.is_file():
        raise ImportRefused(f"{what} {path} is not a file")
    if path.stat().st_size > max_bytes:
        raise ImportRefused(f"{what} {path.name} is larger than {max_bytes >> 20} MiB")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ImportRefused(f"{what} {path.name} cannot be read as UTF-8 text: {e}") from None
