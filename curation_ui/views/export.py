"""Export: the export command's options as a form (``curation_ui.forms``); the result and card."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import streamlit as st

from catalog.dataset import DatasetPaths
from core.contract import Progress
from curation_ui import actions, forms, roles, session
from curation_ui.jobs import run_as_job
from curation_ui.launch import ENV_EXPORT_ROOT
from exporter.options import ExportOptions
from exporter.stage import ExportResult

# Shorter widget labels than the options' help (which is each widget's tooltip).
LABELS = {
    "out": "Output folder",
    "format": "Format",
    "size": "Image size (px)",
    "color": "Colour (default gray)",
    "splits": "Splits train,val,test",
    "split_from": "Split by (fractions, or the corpus's own)",
    "seed": "Split seed",
    "labels": "Only these labels (L1,L2,…)",
    "map": "Merge labels (FROM=TO,…)",
    "min_size": "Min face size (px)",
    "min_sharpness": "Min sharpness",
    "max_yaw": "Max |yaw| (empty = any)",
    "min_annotators": "Min annotators per face",
    "include_pending": "Include pending faces that carry a label",
    "identity_disjoint": "Keep each person in one split (needs embeddings)",
    "overwrite": "Replace a non-empty output folder",
    "no_baseline": "Skip the baseline model (no baseline.json, confusion matrix or card section)",
    "padding": "Chip padding (empty = the chips' own)",
}
# Drawn in this order, three to a row; the toggles after them; any other option of
# ExportOptions (a new one too) under "More options".
GRID = (
    "out",
    "format",
    "size",
    "splits",
    "split_from",
    "seed",
    "labels",
    "map",
    "min_size",
    "min_sharpness",
    "max_yaw",
    "min_annotators",
)
TOGGLES = ("color", "include_pending", "identity_disjoint", "overwrite", "no_baseline")


def render() -> None:
    """The Export page (destinations below ``facesift review --export-root``, when given)."""
    cat = session.catalog()
    root = os.environ.get(ENV_EXPORT_ROOT) or None
    st.header("Export")
    if root:
        st.caption(f"Exports go below {root}.")
    with st.form("export"):
        form = forms.OptionsForm(
            ExportOptions, "ex", labels=LABELS, initial={"out": str(default_out(cat.paths, root))}
        )
        form.draw(GRID, columns=3)
        form.draw(TOGGLES)
        if form.pending():
            with st.expander("More options"):
                form.draw(columns=3)
        go = st.form_submit_button("Export", type="primary", key="ex_go")
    if not go:
        return
    opts = form.options()
    if opts is None:
        return

    @session.shows_errors
    def run():
        # Refused in one line when it leaves the export root (symlinks and '..' resolved).
        out = roles.export_path_inside(opts.out, root)
        bar = st.progress(0.0, text="Exporting…")

        def report(p: Progress) -> None:
            bar.progress(p.fraction or 0.0, text=f"Exporting: {p.done} of {p.total}")

        # The role is checked again here, whatever the page showed; one export at a time.
        who = session.user()
        export = actions.export_as
        result = run_as_job(
            cat,
            "export",
            who.name,
            "Exporting",
            export,
            who,
            cat,
            replace(opts, out=out),
            on_progress=report,
        )
        bar.empty()
        return result

    result = run()
    if result is not None:
        _show_result(result)


def default_out(paths: DatasetPaths, root: str | None = None) -> Path:
    """``exports/<dataset>`` beside the data root (``./exports/default`` for ``./datasets``),
    or ``<export root>/<dataset>`` with an export root.

    Never inside the data root, whose folders are datasets, and where the README's
    ``facesift export --out exports/...`` examples put exports.
    """
    if root:
        return Path(root) / paths.name
    return paths.root.parent / "exports" / paths.name


def _show_result(result: ExportResult) -> None:
    st.success(result.line())
    st.json(result.counts)
    if result.card.is_file():
        with st.expander("Dataset card", expanded=True):
            st.code(result.card.read_text(encoding="utf-8"), language="markdown", wrap_lines=True)
