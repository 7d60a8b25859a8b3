"""Import: upload files (images, a zip, a FER2013-style CSV, videos) or name a local folder."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import streamlit as st

from catalog import Catalog
from core.contract import Progress
from core.storage import safe_name
from curation_ui import actions, roles, session
from curation_ui.launch import ENV_IMPORT_ROOT
from curation_ui.queries import latest_import_errors
from importer.items import CSV_EXTS, IMAGE_EXTS, VIDEO_EXTS, ZIP_EXTS
from importer.options import ImportOptions

UPLOAD_TYPES = sorted(IMAGE_EXTS | VIDEO_EXTS | CSV_EXTS | ZIP_EXTS)
LABEL_MODES = {
    "none": "no labels (label them in the queue)",
    "folders": "from subfolder names (folders or zip)",
    "fer2013": "from a FER2013 CSV's emotion column",
    "one": "one label for everything",
}


def _extract_with_progress(cat: Catalog) -> str:
    """Run extraction in a worker thread on its own connection; show its progress here."""
    from faces.stage import extract

    latest: dict[str, object] = {}

    def work() -> None:
        try:
            with Catalog.open(cat.paths.root, cat.paths.name, create=False) as own:
                latest["summary"] = extract(own, on_progress=lambda p: latest.update(progress=p))
        except Exception as e:  # raised again below, in the page's thread, never lost
            latest["error"] = e

    bar = st.progress(0.0, text="Extracting faces…")
    worker = threading.Thread(target=work, name="facesift-extract", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)  # only this thread may draw: show the callback's latest report
        p = latest.get("progress")
        if isinstance(p, Progress) and p.total:
            text = f"Extracting faces: {p.done} of {p.total} images ({p.detail})"
            bar.progress(p.fraction or 0.0, text=text)
    bar.progress(1.0, text="Extraction finished")
    if "error" in latest:
        raise latest["error"]  # type: ignore[misc]
    s = latest["summary"]
    return s.line() if s.images else "No image waits for face extraction."  # type: ignore[attr-defined]


def _run(
    cat: Catalog,
    target: Path,
    *,
    source: str | None,
    label_mode: str,
    label,
    fps,
    extract,
    whole_image: bool = False,
    labels_csv: Path | None = None,
    ferplus: Path | None = None,
):
    status = st.empty()

    def report(p: Progress) -> None:
        status.text(f"importing… {p.done} items read, {p.detail}")

    @session.shows_errors
    def start():
        opts = ImportOptions(
            target,
            label=label if label_mode == "one" else None,
            labels_from=label_mode if label_mode in ("folders", "fer2013") else None,
            source=source or None,
            fps=fps,
            labels_csv=labels_csv,
            ferplus=ferplus,
            whole_image=whole_image,
        )
        # The role is checked again here, whatever the page showed.
        return actions.import_as(session.user(), cat, opts, on_progress=report)

    summary = start()
    if summary is None:
        status.empty()
        return
    status.text(summary.line())
    if extract:
        line = session.shows_errors(_extract_with_progress)(cat)
        if line:
            st.text(line)
    errors = latest_import_errors(cat.conn, summary.source_name)
    if errors:
        st.caption("Refused inputs (latest first)")
        st.dataframe(
            [{"input": p, "reason": r} for p, r in errors], hide_index=True, width="stretch"
        )


def render() -> None:
    """The Import page."""
    cat = session.catalog()
    st.header("Import")
    import_root = os.environ.get(ENV_IMPORT_ROOT) or None
    # A path on the server only with `facesift review --import-root DIR`; otherwise uploads.
    modes = ["Upload files"] + (["A folder or file on this machine"] if import_root else [])
    mode = st.radio("From", modes, horizontal=True, key="im_mode")
    files = path = None
    if mode == "Upload files":
        files = st.file_uploader(
            "Images, zips, FER2013-style CSVs or videos",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key="im_files",
        )
    else:
        path = st.text_input(
            f"Path of a folder, zip, CSV, video or image under {import_root}", key="im_path"
        )
    c = st.columns(4)
    label_mode = c[0].selectbox(
        "Labels", list(LABEL_MODES), format_func=LABEL_MODES.get, key="im_labels"
    )
    label = c[1].selectbox("Label", cat.labels.names, key="im_label", disabled=label_mode != "one")
    source = c[2].text_input("Source name (optional)", key="im_source", max_chars=64)
    fps = c[3].number_input("Video frames per second", 0.1, 60.0, 1.0, 0.5, key="im_fps")
    v = st.columns(2)
    votes_csv = v[0].file_uploader(
        "Labels CSV (optional): image, label and annotator columns, a row per vote",
        type=["csv"],
        key="im_labels_csv",
    )
    ferplus_csv = v[1].file_uploader(
        "FER+ votes (optional, with one FER2013 CSV): fer2013new.csv",
        type=["csv"],
        key="im_ferplus",
    )
    extract = st.toggle("Extract faces after the import", value=True, key="im_extract")
    whole_image = st.toggle(
        "The images are face crops (each whole image is one face, as in FER2013)",
        key="im_whole_image",
    )
    if not st.button("Import", type="primary", key="im_go"):
        return
    opts = dict(
        source=source.strip(),
        label_mode=label_mode,
        label=label,
        fps=fps,
        extract=extract,
        whole_image=whole_image,
    )
    with tempfile.TemporaryDirectory(prefix="facesift-votes-") as votes_dir:
        # Kept apart from the upload folder, where a CSV would be imported as FER2013 rows.
        for key, upload in (("labels_csv", votes_csv), ("ferplus", ferplus_csv)):
            if upload is not None:
                opts[key] = Path(votes_dir) / safe_name(upload.name, "upload")
                opts[key].write_bytes(upload.getvalue())
        _start(cat, mode, files, path, import_root, opts)


def _start(cat: Catalog, mode: str, files, path, import_root, opts: dict) -> None:
    if mode == "Upload files":
        if not files:
            st.warning("Choose some files first.")
            return
        with tempfile.TemporaryDirectory(prefix="facesift-upload-") as tmp:
            folder = Path(tmp) / "upload"
            folder.mkdir()
            for f in files:
                (folder / safe_name(f.name, "upload")).write_bytes(f.getvalue())
            # FER+ votes re-label one FER2013 CSV: import that file, not the folder.
            single = folder / safe_name(files[0].name, "upload")
            _run(cat, single if opts.get("ferplus") and len(files) == 1 else folder, **opts)
    else:
        if not path or not path.strip():
            st.warning("Give a path first.")
            return
        target = session.shows_errors(roles.import_path_inside)(path.strip(), import_root)
        if target is not None:
            _run(cat, target, **opts)
