"""What an import does with an expression corpus's items besides storing the image.

Which corpus (named by ``--format`` or recognised from the folder's layout), and,
per kept image, what the corpus says of it: its label becomes a **vote** of the
corpus (annotator ``mmi``, ``rafdb``...) through the dataset's aliases, a label
event on every face of the image (:mod:`catalog.votes`); a code outside the label
set keeps the image unlabelled and is recorded in ``import_errors``; a no-face code
is a reject vote; the given face box, the values and the face-crop mark are stored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from catalog.corpora import add_image_values, set_given_box
from catalog.dataset import Catalog
from catalog.images import mark_face_crops
from catalog.labels import LabelSet
from catalog.votes import ImageVote, add_image_votes
from core.contract import StageSummary
from core.report import counts_text
from importer.corpora import CorpusFormat
from importer.corpora.registry import corpus_format, detect_corpus
from importer.defaults import CORPORA
from importer.errors import ImportRefused
from importer.import_errors import record_import_error
from importer.items import Candidate
from importer.options import ImportOptions


@dataclass
class CorpusSummary(StageSummary):
    """What a corpus gave in one import: votes, what stayed unlabelled, subjects, splits."""

    name: str
    labelled: int = 0  # kept images with the corpus's label vote
    votes_new: int = 0  # label and reject votes stored by this run
    rejects: int = 0  # images the corpus says show no face (a reject vote)
    outside: Counter = field(default_factory=Counter)  # the corpus's words outside the set
    subjects: set[str] = field(default_factory=set)
    splits: Counter = field(default_factory=Counter)  # kept images per corpus split
    frame_how: Counter = field(default_factory=Counter)  # kept frames per way chosen

    def line(self) -> str:
        """``affectnet: 2 labelled (3 new votes), 1 not a face, unlabelled (...): ...``."""
        text = f"{self.name}: {self.labelled} labelled ({self.votes_new} new votes)"
        if self.rejects:
            text += f", {self.rejects} not a face"
        if self.outside:
            text += f", unlabelled (outside the label set): {counts_text(self.outside)}"
        if self.subjects:
            text += f", {len(self.subjects)} subjects"
        if self.splits:
            text += f", splits: {counts_text(self.splits)}"
        if self.frame_how:
            text += f", frames: {counts_text(self.frame_how)}"
        return text


def choose_corpus(opts: ImportOptions, kind: str) -> CorpusFormat | None:
    """The corpus to read: named by --format, or recognised from a folder's layout.

    Raises ImportRefused (one line, before anything is stored) for a corpus named on
    something that is not a folder, and for --label or --labels-from with a corpus.
    """
    corpus = None
    if opts.format in CORPORA:
        if kind != "folder":
            raise ImportRefused(f"--format {opts.format} needs the corpus's folder (unpacked)")
        try:
            corpus = corpus_format(opts.format)
        except KeyError:
            raise ImportRefused(f"no reader for {opts.format} in this version") from None
    elif opts.format == "auto" and kind == "folder":
        corpus = detect_corpus(opts.path)
    given = [
        flag
        for flag, value in (("--label", opts.label), ("--labels-from", opts.labels_from))
        if value is not None
    ]
    if corpus is not None and given:
        raise ImportRefused(
            f"{opts.path.name} is read as {corpus.name}, which gives its own labels: "
            f"drop {' and '.join(given)} (or give --format folder)"
        )
    return corpus


def vote_origin(item: Candidate) -> str:
    """Where a corpus's vote was read: the image's path, and the frame of a clip (once:
    a clip's frame path already names it, ``S001-001.avi#frame=37``)."""
    if item.frame_index is None or "#frame" in item.import_path:
        return item.import_path
    return f"{item.import_path}#frame={item.frame_index}"


def corpus_vote(labels: LabelSet, item: Candidate) -> tuple[ImageVote | None, str | None]:
    """A corpus item's vote, or why it gives none (``label_outside_set: contempt (affectnet 7)``).

    Both None for an item the corpus gives no label (an MMI video without an emotion).
    """
    annotator = item.annotator or ""
    origin = vote_origin(item)
    code = f"{annotator} {item.label_code}" if item.label_code else annotator
    if item.reject_reason is not None:
        return ImageVote(annotator, "reject", reason=item.reject_reason, origin=origin), None
    word = item.refused_code or item.label_word
    if word is None:
        return None, None
    if item.refused_code is None and word in labels:
        return ImageVote(annotator, "label", label=labels.resolve(word), origin=origin), None
    return None, f"label_outside_set: {word} ({code})"


def store_corpus_facts(
    cat: Catalog, image_id: int, item: Candidate, source_name: str, summary: CorpusSummary
) -> tuple[bool, int]:
    """Store what a corpus says of a kept image: vote, box, values, crop mark.

    Returns (whether the image has the corpus's label vote, face-crop marks made).
    """
    vote, outside = corpus_vote(cat.labels, item)
    labelled = vote is not None and vote.action == "label"
    if vote is not None:
        summary.votes_new += add_image_votes(cat.conn, image_id, [vote])
        summary.labelled += labelled
        summary.rejects += vote.action == "reject"
    if outside is not None:
        summary.outside[(item.refused_code or item.label_word or "").strip()] += 1
        record_import_error(cat.conn, source_name, vote_origin(item), outside)
    if item.given_box is not None:
        set_given_box(cat.conn, image_id, item.given_box)
    if item.values:
        add_image_values(cat.conn, image_id, source_name, item.values)
    crops = mark_face_crops(cat.conn, [image_id]) if item.face_crop else 0
    if item.subject:
        summary.subjects.add(item.subject)
    if item.source_split:
        summary.splits[item.source_split] += 1
    if item.frame_how:
        summary.frame_how[item.frame_how] += 1
    return labelled, crops
