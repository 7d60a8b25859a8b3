"""Content-addressed files and atomic writes.

A stored file's path is built from its sha256 alone
(``<kind>/ab/<sha256>.<ext>``): no name from the web or from an import ever
becomes a path. Writes go to a temporary file in the same folder and are
renamed into place, so a process killed at any instant leaves either the whole
file or none (plus, at worst, a ``.tmp`` that :func:`sweep_temp_files` removes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from pathlib import Path, PurePosixPath

from core.processes import alive
from core.space import disk_full, is_no_space

TMP_SUFFIX = ".facesift-tmp"
_EXT = re.compile(r"^[a-z0-9]{1,5}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def content_relpath(kind: str, sha256: str, ext: str) -> str:
    """``kind/ab/<sha256>.<ext>``: where content with this hash is stored."""
    if not _SHA.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    if not _EXT.match(ext) or not re.match(r"^[a-z_]+$", kind):
        raise ValueError(f"bad kind or extension: {kind!r}, {ext!r}")
    return f"{kind}/{sha256[:2]}/{sha256}.{ext}"


def safe_name(name: str | None, fallback: str) -> str:
    """A plain file name from a name someone else chose (an upload's): no folders, no dot
    first, only word characters, dots and dashes, at most 120 characters; else ``fallback``.
    """
    base = re.sub(r"[^\w.-]", "_", PurePosixPath(name or "").name)[:120].lstrip(".")
    return base or fallback


def write_atomic(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write bytes to ``path`` via a temporary file and a rename (the file synced first).

    ``fsync=False`` skips the sync: a killed process still leaves the whole
    file or none, but a power loss may leave it empty. The temporary file is named
    after the target, this process and this thread (no two writers share one, and
    a random name from tempfile cost twice the write); its folder is made on demand.
    """
    target = os.fspath(path)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}-{threading.get_ident()}{TMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if is_no_space(e):  # one line that says how much was needed and how much is free
            raise disk_full(folder, len(data), f"writing {os.path.basename(target)}") from e
        raise


class NewFiles:
    """The store files a catalog transaction wrote: removed again if it does not commit.

    A file is stored before the row that names it; when the transaction then fails (a
    full disk at its COMMIT), :meth:`discard` takes back the files it created, so the
    store holds no file without a row. Files that were already there are left alone.
    """

    def __init__(self, dataset_dir: Path):
        self.dataset_dir = dataset_dir
        self.created: list[str] = []

    def note(self, rel: str) -> None:
        """Record a relative path this transaction created."""
        self.created.append(rel)

    def committed(self) -> None:
        """The transaction committed: its files are named by rows now."""
        self.created.clear()

    def discard(self, keep=lambda rels: set()) -> int:
        """Remove the files created since the last commit (except those ``keep(rels)``
        returns: named by a row another process committed meanwhile); return how many."""
        rels, self.created = self.created, []
        try:
            kept = keep(rels) if rels else set()
        except Exception:  # cannot tell which are named: keep them all (a rerun adopts them)
            return 0
        n = 0
        for rel in rels:
            if rel not in kept:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.dataset_dir / rel)
                    n += 1
        return n


def store_content(
    dataset_dir: Path, kind: str, data: bytes, ext: str, new_files: NewFiles | None = None
) -> tuple[str, str]:
    """Store bytes by content under the dataset folder; return (sha256, relative path).

    Storing the same bytes twice writes them once. ``new_files`` records the path when
    this call created the file.
    """
    sha = sha256_hex(data)
    rel = content_relpath(kind, sha, ext)
    target = dataset_dir / rel
    if not (target.is_file() and target.stat().st_size == len(data)):
        write_atomic(target, data)
        if new_files is not None:
            new_files.note(rel)
    return sha, rel


def sweep_temp_files(folder: Path) -> int:
    """Remove temporary files that a killed process left under ``folder``; return how many.

    A temporary file names its writer's process id (:func:`write_atomic`): one whose
    writer is still running is another stage's write in progress, and stays.
    """
    n = 0
    for p in folder.rglob(f"*{TMP_SUFFIX}"):
        writer = _TMP_WRITER.search(p.name)
        if writer and int(writer[1]) != os.getpid() and alive(int(writer[1])):
            continue
        p.unlink(missing_ok=True)
        n += 1
    return n


_TMP_WRITER = re.compile(rf"\.(\d+)-\d+{re.escape(TMP_SUFFIX)}$")
