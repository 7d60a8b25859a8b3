"""Folders and zip archives: walked safely, each file dispatched by its kind.

Names from a folder or an archive are only ever provenance text: what is kept is
stored by content hash, so no entry can write outside the dataset folder. Still,
symlinks out of an imported folder are not followed, archive symlinks are not
read, and archives are checked for decompression bombs (total size, per-entry
size and compression ratio), counting the bytes actually inflated rather than
trusting the sizes the archive declares.
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from importer.errors import ImportRefused
from importer.fer2013 import read_fer2013
from importer.items import Candidate, Items, Refusal, is_ignored, kind_of
from importer.video import VideoOptions, read_video

MiB = 1 << 20


@dataclass(frozen=True)
class ReadOptions:
    """Limits and choices shared by every reader."""

    folder_labels: bool = False  # take label words from folder names
    csv_labels: bool = True  # take labels from a FER2013 CSV's emotion column
    max_file_bytes: int = 200 * MiB  # an image (or CSV) larger than this is refused
    max_video_bytes: int = 4096 * MiB
    zip_max_total_bytes: int = 4096 * MiB  # all entries of one archive, inflated
    zip_max_ratio: float = 200.0  # inflated / compressed, for entries over 1 MiB
    zip_max_entries: int = 1_000_000
    video: VideoOptions = field(default_factory=VideoOptions)


def _folder_word(relpath: str, opts: ReadOptions) -> str | None:
    """The folders of a file (nearest last) as label candidates, when labels come from folders."""
    if not opts.folder_labels:
        return None
    parent = PurePosixPath(relpath).parent.as_posix()
    return None if parent in ("", ".") else parent


def read_bytes_item(data: bytes, name: str, label_word: str | None, opts: ReadOptions) -> Items:
    """Dispatch one file's bytes (from a folder or an archive) by its kind."""
    kind = kind_of(name)
    if kind == "csv":
        rows = read_fer2013(io.BytesIO(data), name, use_labels=opts.csv_labels)
        yield from _contained(rows, name)
    elif kind == "video":
        yield from read_video(io.BytesIO(data), name, label_word, opts.video)
    elif kind == "zip":
        yield Refusal(name, "nested_archive", "archives inside archives are not opened")
    else:
        yield Candidate(data, name, label_word)


def _contained(items: Items, name: str) -> Items:
    """A CSV inside a folder or an archive: a whole-file refusal is that file's reason.

    Imported on its own, a CSV that is not FER2013-style is a one-line error; inside
    a folder or a zip it must not stop the import (and roll back what it stored).
    """
    try:
        yield from items
    except ImportRefused as e:
        yield Refusal(name, "bad_csv", str(e))


# --- folders -----------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    """Every file under root (no symlinked folders followed), in a stable order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames))
    return found


def read_folder(root: Path, opts: ReadOptions) -> Items:
    """Candidates from every file under a folder."""
    base = root.resolve()
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if is_ignored(rel):
            continue
        if path.is_symlink():
            try:
                target = path.resolve()
            except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a loop
                yield Refusal(rel, "symlink_loop", "the link leads back to itself")
                continue
            if not target.is_relative_to(base):
                yield Refusal(rel, "symlink_outside", "points outside the imported folder")
                continue
        if not path.is_file():
            # A dangling link, a FIFO, a socket: never read (a FIFO would block), but said.
            yield Refusal(rel, "not_a_file", "not a regular file (a broken link, a pipe...)")
            continue
        yield from _contained(read_file(path, rel, _folder_word(rel, opts), opts), rel)


def read_file(path: Path, name: str, label_word: str | None, opts: ReadOptions) -> Items:
    """Candidates from one file on disk, by its kind."""
    kind = kind_of(name)
    try:
        size = path.stat().st_size
    except OSError as e:
        yield Refusal(name, "unreadable", str(e))
        return
    if kind == "video":
        if size > opts.max_video_bytes:
            yield Refusal(name, "too_large", f"{size} bytes")
            return
        yield from read_video(path, name, label_word, opts.video)
    elif kind == "zip":
        yield from read_zip(path, name, opts)
    elif kind == "csv":
        try:
            with path.open("rb") as f:
                yield from read_fer2013(f, name, use_labels=opts.csv_labels)
        except OSError as e:
            yield Refusal(name, "unreadable", str(e))
    else:
        if size > opts.max_file_bytes:
            yield Refusal(name, "too_large", f"{size} bytes is over {opts.max_file_bytes}")
            return
        try:
            data = path.read_bytes()
        except OSError as e:
            yield Refusal(name, "unreadable", str(e))
            return
        yield Candidate(data, name, label_word)


# --- zip archives ----------------------------------------------------------------


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _copy_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, out: BinaryIO) -> int | None:
    """Inflate an entry into ``out``; its size, or None once it yields more than ``cap`` bytes."""
    n = 0
    with zf.open(info) as f:
        while chunk := f.read(min(MiB, cap + 1 - n)):
            n += len(chunk)
            if n > cap:
                return None
            out.write(chunk)
    return n


def read_zip(path: Path | io.BytesIO, name: str, opts: ReadOptions) -> Items:
    """Candidates from a zip archive's entries (an uploaded zip, or one inside a folder)."""
    try:
        zf = zipfile.ZipFile(path)
    # NotImplementedError: a central directory asking for a newer zip version than
    # Python reads ("zip file version 6.4"), found by the hostile-input sweep.
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
        yield Refusal(name, "bad_zip", str(e) or type(e).__name__)
        return
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        declared = sum(i.file_size for i in infos)
        if len(infos) > opts.zip_max_entries:
            yield Refusal(name, "zip_bomb", f"{len(infos)} entries")
            return
        if declared > opts.zip_max_total_bytes:
            yield Refusal(name, "zip_bomb", f"declares {declared} bytes inflated")
            return
        inflated = 0
        for info in infos:
            entry = f"{name}/{info.filename}"
            if is_ignored(info.filename):
                continue
            problem = _entry_problem(info, opts)
            if problem:
                yield Refusal(entry, *problem)
                continue
            cap = min(
                opts.max_video_bytes if kind_of(info.filename) == "video" else opts.max_file_bytes,
                opts.zip_max_total_bytes - inflated,
                info.file_size,  # an entry that inflates past what it declares is lying
            )
            # Videos are inflated to a temporary file (they can be large), the rest in memory.
            with tempfile.SpooledTemporaryFile(max_size=64 * MiB) as buf:
                try:
                    size = _copy_capped(zf, info, cap, buf)
                except (
                    zipfile.BadZipFile,
                    OSError,
                    EOFError,
                    ValueError,
                    NotImplementedError,
                    zlib.error,  # a damaged deflate stream: zipfile lets these through
                    lzma.LZMAError,
                ) as e:
                    yield Refusal(entry, "bad_zip_entry", str(e) or type(e).__name__)
                    continue
                if size is None:
                    yield Refusal(entry, "zip_bomb", f"inflates past {cap} bytes")
                    if inflated + cap >= opts.zip_max_total_bytes:
                        return
                    continue
                inflated += size
                buf.seek(0)
                word = _folder_word(info.filename, opts)
                if kind_of(info.filename) == "video":
                    yield from read_video(buf, entry, word, opts.video)
                else:
                    yield from read_bytes_item(buf.read(), entry, word, opts)


def _entry_problem(info: zipfile.ZipInfo, opts: ReadOptions) -> tuple[str, str] | None:
    if _is_symlink(info):
        return "symlink", "archive symlinks are not followed"
    if info.flag_bits & 0x1:
        return "encrypted", "encrypted entries are not read"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MiB and ratio > opts.zip_max_ratio:
        return "zip_bomb", f"compression ratio {ratio:.0f} is over {opts.zip_max_ratio:.0f}"
    limit = opts.max_video_bytes if kind_of(info.filename) == "video" else opts.max_file_bytes
    if info.file_size > limit:
        return "too_large", f"{info.file_size} bytes"
    return None
