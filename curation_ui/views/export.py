"""Export: the export command's options as a form; the result's path and card when done."""

from __future__ import annotations

import argparse
from pathlib import Path

import streamlit as st

from catalog.dataset import DatasetPaths
from core.contract import Progress
from curation_ui import actions, session
from exporter.options import FORMATS, ExportError, ExportOptions, split_fractions
from exporter.stage import ExportResult


def render() -> None:
    """The Export page."""
    cat = session.catalog()
    st.header("Export")
    with st.form("export"):
        c = st.columns(3)
        out = c[0].text_input("Output folder", value=str(default_out(cat.paths)), key="ex_out")
        fmt = c[1].selectbox("Format", FORMATS, key="ex_format")
        size = c[2].number_input("Image size (px)", 8, 1024, 48, key="ex_size")
        c = st.columns(3)
        color = c[0].toggle("Colour (default gray)", key="ex_color")
        splits = c[1].text_input("Splits train,val,test", "0.8,0.1,0.1", key="ex_splits")
        seed = c[2].number_input("Split seed", 0, 2**31 - 1, 0, key="ex_seed")
        c = st.columns(3)
        labels = c[0].text_input("Only these labels (L1,L2,…)", key="ex_labels")
        mapping = c[1].text_input("Merge labels (FROM=TO,…)", key="ex_map")
        min_size = c[2].number_input("Min face size (px)", 0.0, 10000.0, 0.0, key="ex_min_size")
        c = st.columns(3)
        min_sharp = c[0].number_input("Min sharpness", 0.0, 1e6, 0.0, key="ex_min_sharp")
        max_yaw = c[1].number_input("Max |yaw| (0 = any)", 0.0, 90.0, 0.0, key="ex_max_yaw")
        min_annotators = c[2].number_input(
            "Min annotators per face", 0, 1000, 0, key="ex_min_annotators"
        )
        include_pending = st.toggle("Include pending faces that carry a label", key="ex_pending")
        identity = st.toggle("Keep each person in one split (needs embeddings)", key="ex_ident")
        overwrite = st.toggle("Replace a non-empty output folder", key="ex_overwrite")
        no_baseline = st.toggle(
            "Skip the baseline model (no baseline.json, confusion matrix or card section)",
            key="ex_no_baseline",
        )
        go = st.form_submit_button("Export", type="primary", key="ex_go")
    if not go:
        return

    @session.shows_errors
    def run():
        opts = ExportOptions(
            out=Path(out).expanduser(),
            format=fmt,
            size=int(size),
            color=color,
            splits=_fractions(splits),
            labels=labels.strip() or None,
            map=mapping.strip() or None,
            min_size=min_size,
            min_sharpness=min_sharp,
            max_yaw=max_yaw or None,
            include_pending=include_pending,
            min_annotators=int(min_annotators),
            identity_disjoint=identity,
            seed=int(seed),
            overwrite=overwrite,
            no_baseline=no_baseline,
        )
        bar = st.progress(0.0, text="Exporting…")

        def report(p: Progress) -> None:
            bar.progress(p.fraction or 0.0, text=f"Exporting: {p.done} of {p.total}")

        # The role is checked again here, whatever the page showed.
        result = actions.export_as(session.user(), cat, opts, on_progress=report)
        bar.empty()
        return result

    result = run()
    if result is not None:
        _show_result(result)


def default_out(paths: DatasetPaths) -> Path:
    """``exports/<dataset>`` beside the data root (``./exports/default`` for ``./datasets``).

    Never inside the data root, whose folders are datasets, and where the README's
    ``facesift export --out exports/...`` examples put exports.
    """
    return paths.root.parent / "exports" / paths.name


def _show_result(result: ExportResult) -> None:
    st.success(result.line())
    st.json(result.counts)
    if result.card.is_file():
        with st.expander("Dataset card", expanded=True):
            st.code(result.card.read_text(encoding="utf-8"), language="markdown", wrap_lines=True)


def _fractions(text: str) -> tuple[float, float, float]:
    """The form's ``train,val,test`` text as fractions (the ``--splits`` parser, one-line error)."""
    try:
        return split_fractions(text)
    except argparse.ArgumentTypeError as e:
        raise ExportError(f"splits {e}") from None
