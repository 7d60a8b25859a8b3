"""``facesift import``: ingest local images, zips, FER2013-style CSVs, videos and corpora.

Ingest only: every kept image is stored by content, recorded with its
provenance and the label its source claims (a hint to re-check, never a label
event), and left for ``faces.stage.extract``. Every input that cannot become an
image is recorded in ``import_errors`` with its reason; nothing stops the import.

An expression corpus (MMI, CK+, RAF-DB, AffectNet, JAFFE; :mod:`importer.corpora`)
is recognised from its layout or named by ``--format``. Its label is no hint but a
vote of the corpus (annotator ``rafdb``...), which becomes a label event on every
face of the image (:mod:`catalog.votes`); a code outside the dataset's label set keeps
the image unlabelled and is recorded. The subject, the corpus's split, how a frame
was chosen, a given face box and per-image values are recorded with the image.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from catalog.dataset import Catalog
from catalog.db import WriteBatches
from catalog.images import (
    ImageSource,
    StoredImage,
    add_image,
    add_source,
    mark_face_crops,
    named_store_paths,
    source_image_ids,
)
from catalog.labels import LabelError, LabelSet
from catalog.takedowns import blocked
from core.contract import Progress, ProgressFn, StageSummary, check_options, report
from core.decode import ImageRejected, decode_image
from core.report import counts_text
from core.storage import NewFiles, sha256_hex, store_content, sweep_temp_files
from importer.corpora import CorpusFormat, CorpusOptions
from importer.corpus_ingest import CorpusSummary, choose_corpus, store_corpus_facts
from importer.errors import ImportRefused
from importer.extras import apply_extras, check_extras
from importer.import_errors import as_text, record_import_error
from importer.items import Candidate, Item, Refusal, kind_of
from importer.options import ImportOptions
from importer.readers import ReadOptions, read_file, read_folder
from importer.url_list import UrlListSummary, import_url_list, is_url_list
from importer.votes import VoteSummary

BATCH = 200  # items per catalog transaction: fewer fsyncs, short write locks


@dataclass
class ImportSummary(StageSummary):
    """What an import did."""

    source_name: str
    items: int = 0  # candidates and refusals seen
    images_new: int = 0  # images stored for the first time
    images_known: int = 0  # images already in the dataset (a new or known provenance)
    sources_new: int = 0  # provenances recorded
    frames: int = 0  # of which video frames
    labelled: int = 0  # kept images whose source claims a label
    refused: int = 0
    reasons: Counter = field(default_factory=Counter)
    votes: list[VoteSummary] = field(default_factory=list)  # --labels-csv, --ferplus
    urls: UrlListSummary | None = None  # a URL list's own account
    face_crops: int = 0  # images marked as face crops (--whole-image, FER2013 CSVs)
    corpus: CorpusSummary | None = None  # what a corpus (MMI, CK+...) gave

    @property
    def kept(self) -> int:
        return self.images_new + self.images_known

    def line(self) -> str:
        """A one-line account for the command line and the app."""
        if self.urls is not None:
            text = self.urls.line()
        else:
            text = (
                f"import {self.source_name}: {self.kept} images kept ({self.images_new} new, "
                f"{self.images_known} already stored, {self.frames} video frames, "
                f"{self.labelled} with a label), {self.refused} refused"
            )
            if self.reasons:
                text += f" ({counts_text(self.reasons)})"
        if self.face_crops:
            text += f"; {self.face_crops} images are face crops (the face box is the whole image)"
        if self.corpus is not None:
            text += "; " + self.corpus.line()
        return "; ".join([text, *(v.line() for v in self.votes)])


def resolve_label_word(labels: LabelSet, word: str | None) -> str | None:
    """A source's label word in the dataset's spelling (a folder path: nearest folder first).

    Raises LabelError when no part of the word is a label of the set.
    """
    if word is None:
        return None
    parts = list(reversed(PurePosixPath(word).parts)) or [word]
    for part in parts:
        if part in labels:
            return labels.resolve(part)
    raise LabelError(f"{parts[0]!r} is not a label of this dataset ({','.join(labels.names)})")


# --format's plain names -> the kind of input each reads
_PLAIN_KINDS = {
    "folder": "folder",
    "zip": "zip",
    "fer2013-csv": "csv",
    "video": "video",
    "image": "image",
    "url-list": "url_list",
}


def _kind(opts: ImportOptions) -> str:
    """What PATH is read as: its kind from its name and content, or as --format says."""
    path, fmt = opts.path, opts.format
    kind = "folder" if path.is_dir() else kind_of(path.name)
    if path.is_file() and is_url_list(path):
        kind = "url_list"
    wanted = _PLAIN_KINDS.get(fmt)
    if wanted is None or wanted == kind:
        return kind
    if wanted in ("csv", "url_list") and path.is_file() and kind in ("csv", "url_list"):
        return wanted  # a CSV can be either; --format decides
    raise ImportRefused(f"--format {fmt} does not fit {path.name}: it reads as a {kind}")


def _plan(opts: ImportOptions) -> tuple[str, str, CorpusFormat | None]:
    path, label, labels_from, source = opts.path, opts.label, opts.labels_from, opts.source
    if not path.exists():
        raise ImportRefused(f"{path} does not exist")
    if not (path.is_dir() or path.is_file()):
        # /dev/zero would be read for ever, a FIFO would block: neither is a dataset.
        raise ImportRefused(f"{path} is neither a folder nor a regular file")
    if label is not None and labels_from is not None:
        raise ImportRefused("give --label or --labels-from, not both")
    try:
        check_options(opts)
    except ValueError as e:
        raise ImportRefused(str(e)) from None
    kind = _kind(opts)
    corpus = choose_corpus(opts, kind)
    if kind == "url_list" and labels_from is not None:
        raise ImportRefused("a URL list takes labels from --label or --label-column")
    if labels_from == "folders" and kind not in ("folder", "zip"):
        raise ImportRefused("--labels-from folders needs a folder or a zip")
    if labels_from == "fer2013" and kind not in ("folder", "zip", "csv"):
        raise ImportRefused("--labels-from fer2013 needs a FER2013-style CSV")
    check_extras(kind, opts.labels_csv, opts.ferplus)
    default_name = "fer2013" if kind == "csv" else (path.stem if kind != "folder" else path.name)
    if kind == "url_list":
        default_name = path.name  # its provenance names the file and row
    if corpus is not None:
        default_name = corpus.name  # the source filter then lists the corpora by name
    return kind, as_text((source or default_name or "import").strip()), corpus


def import_path(
    cat: Catalog, opts: ImportOptions, *, on_progress: ProgressFn | None = None
) -> ImportSummary:
    """Import a folder, zip, FER2013-style CSV, video or image file into the dataset.

    ``opts.label`` (any alias) labels every image; ``opts.labels_from`` takes labels
    from subfolder names (``folders``) or a CSV's emotion column (``fer2013``, also
    the default for a CSV). ``on_progress`` gets the items read so far (their number
    is not known ahead). Returns counts; refusals are in ``import_errors``.
    """
    opts = replace(opts, path=Path(opts.path))
    kind, source_name, corpus = _plan(opts)
    label = opts.label
    fixed = cat.labels.resolve(label) if label is not None else None  # LabelError: one line
    # What a killed run was writing when it died (only images/: a walk of a big dataset's
    # chips/ too would slow every start).
    sweep_temp_files(cat.paths.dir / "images")
    if kind == "url_list":
        return _import_url_list(cat, opts, source_name, on_progress)
    read = replace(
        opts.limits or ReadOptions(),
        folder_labels=opts.labels_from == "folders",
        csv_labels=label is None,  # a CSV keeps its emotion column unless --label overrides it
        video=replace((opts.limits or ReadOptions()).video, fps=opts.fps),
    )
    path = opts.path
    items: Iterator[Item]
    if corpus is not None:
        corpus_opts = CorpusOptions(
            read=read,
            frames=opts.frames,
            apex_frames=opts.apex_frames,
            fps=opts.fps,
            neutral_first="neutral" in cat.labels,
        )
        items = corpus.read(path, corpus_opts)
    elif kind == "folder":
        items = read_folder(path, read)
    else:
        items = read_file(path, path.name, None, read)
    summary = ImportSummary(source_name, corpus=CorpusSummary(corpus.name) if corpus else None)

    def tick(final: bool = False) -> None:
        detail = f"{summary.kept} kept, {summary.refused} refused"
        total = summary.items if final else None
        report(on_progress, Progress("import", summary.items, total, "item", detail))

    # Files stored for a batch that never commits (a full disk) are taken back.
    new_files = NewFiles(cat.paths.dir)
    try:
        with WriteBatches(cat.conn, BATCH, on_commit=new_files.committed) as batches:
            for item in items:
                batches.begin()
                _ingest(cat, item, source_name, fixed, summary, new_files)
                batches.step_done()
                tick()
    except BaseException:
        new_files.discard(keep=lambda rels: named_store_paths(cat.conn, rels))
        raise
    summary.votes = apply_extras(cat, path, kind, source_name, opts.labels_csv, opts.ferplus)
    if opts.whole_image or kind == "csv":  # FER2013 rows are registered face crops
        summary.face_crops = _mark_face_crops(cat, "import", source_name)
    tick(final=True)
    return summary


def _mark_face_crops(cat: Catalog, kind: str, source_name: str) -> int:
    """Mark a source's images as face crops (extract takes the whole image as the face box)."""
    image_ids = source_image_ids(cat.conn, kind, source_name)
    mark_face_crops(cat.conn, image_ids)
    return len(image_ids)


def _import_url_list(
    cat: Catalog, opts: ImportOptions, source_name: str, on_progress: ProgressFn | None
) -> ImportSummary:
    urls = import_url_list(
        cat,
        opts.path,
        download=opts.download,
        url_column=opts.url_column,
        label_column=opts.label_column,
        label=opts.label,
        on_progress=on_progress,
    )
    summary = ImportSummary(
        source_name,
        items=urls.rows,
        images_new=urls.images_new,
        images_known=urls.images_known,
        sources_new=urls.sources_new,
        labelled=urls.labelled,
        refused=urls.rows - urls.kept,
        reasons=urls.failed + urls.skipped + urls.refused,
        urls=urls,
    )
    if opts.whole_image:
        summary.face_crops = _mark_face_crops(cat, "url_list", opts.path.name)
    return summary


def _ingest(
    cat: Catalog,
    item: Item,
    source_name: str,
    fixed: str | None,
    summary: ImportSummary,
    new_files: NewFiles | None = None,
) -> None:
    summary.items += 1
    if isinstance(item, Refusal):
        _refuse(cat.conn, source_name, item, summary)
        return
    try:
        label = None if item.annotator else fixed or resolve_label_word(cat.labels, item.label_word)
    except LabelError as e:
        _refuse(cat.conn, source_name, Refusal(item.import_path, "unknown_label", str(e)), summary)
        return
    if blocked(cat.conn, sha256=sha256_hex(item.data)):  # facesift takedown
        _refuse(cat.conn, source_name, Refusal(item.import_path, "taken_down"), summary)
        return
    try:
        decoded = decode_image(item.data)
    except ImageRejected as e:
        _refuse(cat.conn, source_name, Refusal(item.import_path, e.reason, e.detail), summary)
        return
    _keep(
        cat,
        item,
        decoded.width,
        decoded.height,
        decoded.format,
        decoded.ext,
        source_name,
        label,
        summary,
        new_files,
    )


def _keep(
    cat: Catalog,
    item: Candidate,
    width: int,
    height: int,
    fmt: str,
    ext: str,
    source_name: str,
    label: str | None,
    summary: ImportSummary,
    new_files: NewFiles | None = None,
) -> None:
    sha, rel = store_content(cat.paths.dir, "images", item.data, ext, new_files)
    image_id, new = add_image(cat.conn, StoredImage(sha, rel, width, height, fmt, len(item.data)))
    is_frame = item.frame_index is not None
    src = ImageSource(
        "video_frame" if is_frame else "import",
        source_name=source_name,
        import_path=as_text(item.import_path),
        frame_index=item.frame_index,
        frame_time=item.frame_time,
        source_label=label,
        subject=item.subject,
        source_split=item.source_split,
        frame_how=item.frame_how,
    )
    if add_source(cat.conn, image_id, src):
        summary.sources_new += 1
    if new:
        summary.images_new += 1
    else:
        summary.images_known += 1
    summary.frames += is_frame
    summary.labelled += label is not None
    if item.annotator is not None and summary.corpus is not None:
        labelled, crops = store_corpus_facts(cat, image_id, item, source_name, summary.corpus)
        summary.labelled += labelled
        summary.face_crops += crops


def _refuse(
    conn: sqlite3.Connection, source_name: str, refusal: Refusal, summary: ImportSummary
) -> None:
    summary.refused += 1
    summary.reasons[refusal.reason] += 1
    record_import_error(conn, source_name, refusal.import_path, refusal.text)
