"""A full disk as one line: how much a write needed and how much room its filesystem has.

Every stage turns ``ENOSPC`` (and a quota's ``EDQUOT``) into :class:`DiskFull`, a
:class:`~core.errors.FacesiftError`: the command line prints it in one line with exit
status 2 and the app shows it as one ``st.error`` line. The catalog does the same
for SQLite's "database or disk is full" (``catalog.db``).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from core.errors import FacesiftError

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(FacesiftError):
    """A write found no room left on its filesystem (nothing half-written is kept)."""


def is_no_space(e: BaseException) -> bool:
    """Whether an exception is the operating system saying the disk (or quota) is full."""
    return isinstance(e, OSError) and e.errno in NO_SPACE


def free_bytes(path: Path | str) -> int | None:
    """Free bytes on the filesystem holding ``path`` (its nearest existing folder), or None."""
    p = Path(path).absolute()
    for folder in (p, *p.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def size_text(n: int | None) -> str:
    """``1.2 MB``, ``512 bytes`` (decimal units, as ``df -H`` shows them)."""
    if n is None:
        return "an unknown amount"
    if n < 1000:
        return f"{n} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def disk_full(where: Path | str, needed: int | None, what: str, *, about: bool = False) -> DiskFull:
    """The one-line error for ``what`` needing ``needed`` bytes under ``where`` (``about``:
    an estimate)."""
    need = ("about " if about else "") + size_text(needed)
    return DiskFull(
        f"disk full: {what} needs {need}, and {size_text(free_bytes(where))} is free on the "
        f"filesystem of {where}; free some space (or use another --root) and run it again "
        "(nothing already stored is lost)"
    )


def tree_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under a folder: what a half-written export or model has used so far."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
            except OSError:
                continue
    return total, files
