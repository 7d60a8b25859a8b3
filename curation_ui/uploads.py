"""What the review app accepts as an upload: which file names, and how many bytes.

The gateway (``curation_ui/gateway.py``) checks both before Streamlit sees a byte
of an upload; the pages check them again for an app served without it. A name a
browser's file picker could not send (``..``, no extension, an extension no page
takes, a folder in it) is refused in one line.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

from importer.items import CSV_EXTS, IMAGE_EXTS, VIDEO_EXTS, ZIP_EXTS, extension

IMPORT_EXTS = IMAGE_EXTS | VIDEO_EXTS | CSV_EXTS | ZIP_EXTS  # the Import page
PHOTO_EXTS = IMAGE_EXTS  # Try it
ENV_MAX_UPLOAD_MB = "FACESIFT_MAX_UPLOAD_MB"  # review --max-upload-mb
ENV_MAX_PHOTO_MB = "FACESIFT_MAX_PHOTO_MB"  # review --max-photo-mb
MB = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name_refusal(name: str | None, allowed: frozenset[str] = IMPORT_EXTS) -> str | None:
    """Why an upload named ``name`` is refused (one line), or None when a page takes it."""
    shown = repr(name)[:80]
    if not name or _CONTROL.search(name) or "/" in name or "\\" in name:
        return f"refused upload {shown}: not a file name a browser sends"
    if name.strip(".") == "" or PurePosixPath(name).name != name:
        return f"refused upload {shown}: not a file name a browser sends"
    ext = extension(name)
    if not ext or ext not in allowed:
        return f"refused upload {shown}: takes only {', '.join(sorted(allowed))}"
    return None


def limit_mb(env: str, default: int) -> int:
    """A size limit in MB passed to the app by ``facesift review`` (``default`` when absent)."""
    try:
        return max(1, int(os.environ.get(env, default)))
    except ValueError:
        return default


def size_refusal(name: str, size: int, limit_bytes: int) -> str | None:
    """Why an upload of ``size`` bytes is too big for ``limit_bytes`` (one line), or None."""
    if size <= limit_bytes:
        return None
    mb = f"{size / MB:.1f} MB"
    return f"refused upload {name!r}: {mb}, this page takes at most {limit_bytes // MB} MB"
