"""Import: upload files (images, a zip, a FER2013-style CSV, videos) or name a local folder."""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import streamlit as st

from catalog import Catalog
from core.contract import Progress
from core.storage import safe_name
from curation_ui import actions, forms, roles, session
from curation_ui.jobs import AppJob, run_as_job
from curation_ui.launch import ENV_IMPORT_ROOT, ReviewOptions
from curation_ui.queries import latest_import_errors
from curation_ui.upload_widget import file_input
from curation_ui.uploads import ENV_MAX_UPLOAD_MB, IMPORT_EXTS, limit_mb
from faces.options import ExtractOptions
from importer.items import CSV_EXTS
from importer.options import LABELS_FROM, ImportOptions

_FROM_TEXT = {
    "folders": "from subfolder names (folders or zip)",
    "fer2013": "from a FER2013 CSV's emotion column",
}
# The Labels selector sets two options: labels_from (one of its declared choices) or
# label (a label of the dataset, for "one").
LABEL_MODES = {
    "none": "no labels (label them in the queue)",
    **{c: _FROM_TEXT.get(c, f"from {c}") for c in LABELS_FROM},
    "one": "one label for everything",
}
# Filled by the page, not by a widget of the form: the path (the uploads, or a path
# under --import-root), label and labels_from (the Labels selector), the uploaded
# vote files, and no_extract (the "Extract faces after the import" toggle).
IMPORT_HIDDEN = {"path", "label", "labels_from", "labels_csv", "ferplus", "no_extract"}
IMPORT_LABELS = {
    "source": "Source name (optional)",
    "fps": "Video frames per second",
    "whole_image": "The images are face crops (each whole image is one face, as in FER2013)",
    "url_column": "URL column (URL lists)",
    "label_column": "Label column (URL lists; empty: 'label' if present)",
}
# Extraction runs on every image waiting for it; the import's own face-crops toggle
# already marks its images, so extract's whole_image (every image of the dataset) is left out.
EXTRACT_HIDDEN = {"whole_image"}
EXTRACT_LABELS = {
    "detector": "Detector",
    "upsample": "Upsampling",
    "cascade": "Where HOG finds nothing",
    "workers": "Worker processes (empty = one per core)",
    "chip_size": "Chip size (px)",
    "padding": "Chip padding",
    "near_dup_bits": "Near-duplicate distance (bits of 64)",
    "embeddings": "Also compute face descriptors (about 85 ms a face)",
    "retry_errors": "Also retry the images an earlier run could not read",
}


def _extract_with_progress(cat: Catalog, opts: ExtractOptions) -> str:
    """Run extraction in a worker thread on its own connection; show its progress here.

    The extraction is a job of the catalog (kind ``extract``): refused, in one line,
    while another session's runs.
    """
    from faces.stage import extract

    latest: dict[str, object] = {}
    job = AppJob.start(cat, "extract", session.user().name, "Extracting faces")

    def progress(p: Progress) -> None:
        latest["progress"] = p
        job.progress(p)

    def work() -> None:
        try:
            with job, Catalog.open(cat.paths.root, cat.paths.name, create=False) as own:
                latest["summary"] = summary = extract(own, opts, on_progress=progress)
                job.outcome = summary.line()
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


def _run(cat: Catalog, target: Path, opts: ImportOptions, extract: ExtractOptions | None):
    status = st.empty()

    def report(p: Progress) -> None:
        status.text(f"importing… {p.done} items read, {p.detail}")

    @session.shows_errors
    def start():
        # The role is checked again here, whatever the page showed; one import at a time.
        who = session.user()
        return run_as_job(
            cat,
            "import",
            who.name,
            "Importing",
            actions.import_as,
            who,
            cat,
            replace(opts, path=target),
            on_progress=report,
        )

    summary = start()
    if summary is None:
        status.empty()
        return
    status.text(summary.line())
    if extract:
        line = session.shows_errors(_extract_with_progress)(cat, extract)
        if line:
            st.text(line)
    errors = latest_import_errors(cat.conn, summary.source_name)
    if errors:
        st.caption("Refused inputs (latest first)")
        st.dataframe(
            [{"input": p, "reason": r} for p, r in errors], hide_index=True, width="stretch"
        )


def _one(files: list):
    return files[0] if files else None


def render() -> None:
    """The Import page."""
    cat = session.catalog()
    st.header("Import")
    import_root = os.environ.get(ENV_IMPORT_ROOT) or None
    # A path on the server only with `facesift review --import-root DIR`; otherwise uploads.
    modes = ["Upload files"] + (["A folder or file on this machine"] if import_root else [])
    mode = st.radio("From", modes, horizontal=True, key="im_mode")
    upload_mb = limit_mb(ENV_MAX_UPLOAD_MB, ReviewOptions.max_upload_mb)
    files = path = None
    if mode == "Upload files":
        files = file_input(
            "Images, zips, FER2013-style CSVs or videos",
            types=IMPORT_EXTS,
            key="im_files",
            max_mb=upload_mb,
            multiple=True,
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
    form = forms.OptionsForm(ImportOptions, "im", hide=IMPORT_HIDDEN, labels=IMPORT_LABELS)
    form.draw(["source", "fps"], columns=c[2:])
    v = st.columns(2)
    votes_csv = _one(
        file_input(
            "Labels CSV (optional): image, label and annotator columns, a row per vote",
            types=CSV_EXTS,
            key="im_labels_csv",
            max_mb=upload_mb,
            where=v[0],
        )
    )
    ferplus_csv = _one(
        file_input(
            "FER+ votes (optional, with one FER2013 CSV): fer2013new.csv",
            types=CSV_EXTS,
            key="im_ferplus",
            max_mb=upload_mb,
            where=v[1],
        )
    )
    extract = st.toggle(
        "Extract faces after the import",
        value=not forms.default_of(ImportOptions, "no_extract"),
        key="im_extract",
    )
    form.draw(["whole_image"])
    extract_form = forms.OptionsForm(
        ExtractOptions, "ix", hide=EXTRACT_HIDDEN, labels=EXTRACT_LABELS
    )
    with st.expander("Face extraction options"):
        extract_form.draw(columns=4)
    with st.expander("More import options"):
        form.draw(columns=2)
    if not st.button("Import", type="primary", key="im_go"):
        return
    opts = form.options(
        path=Path(),  # replaced by the uploads' folder or the path given, once known
        label=label if label_mode == "one" else None,
        labels_from=label_mode if label_mode in LABELS_FROM else None,
        no_extract=not extract,
    )
    if opts is None:
        return
    extract_opts = extract_form.options() if extract else None
    if extract and extract_opts is None:
        return
    with tempfile.TemporaryDirectory(prefix="facesift-votes-") as votes_dir:
        # Kept apart from the upload folder, where a CSV would be imported as FER2013 rows.
        for key, upload in (("labels_csv", votes_csv), ("ferplus", ferplus_csv)):
            if upload is not None:
                saved = Path(votes_dir) / safe_name(upload.name, "upload")
                saved.write_bytes(upload.getvalue())
                opts = replace(opts, **{key: saved})
        _start(cat, mode, files, path, import_root, opts, extract_opts)


def _start(
    cat: Catalog,
    mode: str,
    files,
    path,
    import_root,
    opts: ImportOptions,
    extract: ExtractOptions | None,
) -> None:
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
            target = single if opts.ferplus and len(files) == 1 else folder
            _run(cat, target, opts, extract)
    else:
        if not path or not path.strip():
            st.warning("Give a path first.")
            return
        target = session.shows_errors(roles.import_path_inside)(path.strip(), import_root)
        if target is not None:
            _run(cat, target, opts, extract)
