"""Storing chips: content-addressed PNGs under ``chips/``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from catalog.storage import TMP_SUFFIX, content_relpath, sha256_hex


def store_chip(dataset_dir: Path, png: bytes) -> str:
    """Write a chip's PNG at ``chips/ab/<sha256>.png`` (once); return that relative path.

    Like catalog.storage.store_content (temporary file, then rename: a killed
    process leaves the whole file or none), but without an fsync per file: that
    fsync cost more than the rest of a face's processing. As with the catalog's
    ``synchronous = NORMAL``, only a power loss can then drop the newest chips;
    their rows would point at missing or empty files.
    """
    rel = content_relpath("chips", sha256_hex(png), "png")
    target = dataset_dir / rel
    if target.is_file() and target.stat().st_size == len(png):
        return rel
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel
