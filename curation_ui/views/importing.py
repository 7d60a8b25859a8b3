"""Import: upload files (images, a zip, a FER2013-style CSV, videos) or name a local folder."""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

import streamlit as st

from catalog import Catalog
from curation_ui import session
from importer.errors import ImportRefused
from importer.items import CSV_EXTS, IMAGE_EXTS, VIDEO_EXTS, ZIP_EXTS
from importer.stage import ImportSummary, import_path
from importer.video import VideoOptions

UPLOAD_TYPES = sorted(IMAGE_EXTS | VIDEO_EXTS | CSV_EXTS | ZIP_EXTS)
LABEL_MODES = {
    "none": "no labels (label them in the queue)",
    "folders": "from subfolder names (folders or zip)",
    "fer2013": "from a FER2013 CSV's emotion column",
    "one": "one label for everything",
}


def _safe_name(name: str) -> str:
    """A plain file name for an upload (kept only for its extension and as provenance)."""
    base = re.sub(r"[^\w.-]", "_", Path(name).name)[:120].lstrip(".")
    return base or "upload"


def _extract_with_progress(cat: Catalog) -> str:
    """Run extraction in a worker thread on its own connection; show its progress here."""
    try:
        from faces.stage import extract
    except ImportError:
        return "Face extraction is not available yet; run `facesift extract` later."
    pending = cat.conn.execute(
        "SELECT COUNT(*) FROM images WHERE extract_status IS NULL"
    ).fetchone()[0]
    if not pending:
        return "No image waits for face extraction."
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            with Catalog.open(cat.paths.root, cat.paths.name, create=False) as own:
                outcome["summary"] = extract(own, progress=False)
        except Exception as e:  # shown to the user below, never lost in a thread
            outcome["error"] = e

    bar = st.progress(0.0, text=f"Extracting faces from {pending} images…")
    worker = threading.Thread(target=work, name="facesift-extract", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)  # wait on the worker, re-checking progress twice a second
        left = cat.conn.execute(
            "SELECT COUNT(*) FROM images WHERE extract_status IS NULL"
        ).fetchone()[0]
        done = max(pending - left, 0)
        bar.progress(min(done / pending, 1.0), text=f"Extracting faces: {done} of {pending}")
    bar.progress(1.0, text="Extraction finished")
    if "error" in outcome:
        return f"Extraction failed: {outcome['error']}"
    s = outcome["summary"]
    return (
        f"extract: {s.images} images ({s.done} with faces, {s.no_face} without, "
        f"{s.errors} unreadable), {s.faces} faces added"
    )


def _run(cat: Catalog, target: Path, *, source: str | None, label_mode: str, label, fps, extract):
    status = st.empty()

    def report(s: ImportSummary) -> None:
        status.text(f"importing… {s.items} items read, {s.kept} images kept, {s.refused} refused")

    try:
        summary = import_path(
            cat,
            target,
            label=label if label_mode == "one" else None,
            labels_from=label_mode if label_mode in ("folders", "fer2013") else None,
            source=source or None,
            progress=False,
            video=VideoOptions(fps=fps),
            on_progress=report,
        )
    except (ImportRefused, ValueError) as e:
        status.empty()
        st.error(str(e))
        return
    status.text(summary.line())
    if extract:
        st.text(_extract_with_progress(cat))
    errors = cat.conn.execute(
        "SELECT import_path, reason FROM import_errors WHERE source_name = ? ORDER BY id DESC "
        "LIMIT 200",
        (summary.source_name,),
    ).fetchall()
    if errors:
        st.caption("Refused inputs (latest first)")
        st.dataframe(
            [{"input": p, "reason": r} for p, r in errors], hide_index=True, width="stretch"
        )


def render() -> None:
    """The Import page."""
    cat = session.catalog()
    st.header("Import")
    mode = st.radio(
        "From", ["Upload files", "A folder or file on this machine"], horizontal=True, key="im_mode"
    )
    files = path = None
    if mode == "Upload files":
        files = st.file_uploader(
            "Images, zips, FER2013-style CSVs or videos",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key="im_files",
        )
    else:
        path = st.text_input("Path of a folder, zip, CSV, video or image", key="im_path")
    c = st.columns(4)
    label_mode = c[0].selectbox(
        "Labels", list(LABEL_MODES), format_func=LABEL_MODES.get, key="im_labels"
    )
    label = c[1].selectbox("Label", cat.labels.names, key="im_label", disabled=label_mode != "one")
    source = c[2].text_input("Source name (optional)", key="im_source", max_chars=64)
    fps = c[3].number_input("Video frames per second", 0.1, 60.0, 1.0, 0.5, key="im_fps")
    extract = st.toggle("Extract faces after the import", value=True, key="im_extract")
    if not st.button("Import", type="primary", key="im_go"):
        return
    opts = dict(source=source.strip(), label_mode=label_mode, label=label, fps=fps, extract=extract)
    if mode == "Upload files":
        if not files:
            st.warning("Choose some files first.")
            return
        with tempfile.TemporaryDirectory(prefix="facesift-upload-") as tmp:
            folder = Path(tmp) / "upload"
            folder.mkdir()
            for f in files:
                (folder / _safe_name(f.name)).write_bytes(f.getvalue())
            _run(cat, folder, **opts)
    else:
        if not path or not path.strip():
            st.warning("Give a path first.")
            return
        _run(cat, Path(path.strip()).expanduser(), **opts)
