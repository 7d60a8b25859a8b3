"""The dataset card (README.md of an export): facts gathered from the catalog, then Markdown.

:func:`gather` reads the catalog; :func:`render_card` is pure. The card holds
no export time, so the same catalog and options give the same bytes.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from catalog.agreement import Agreement, agreement
from catalog.annotators import decided_counts
from catalog.corpus_votes import CorpusAgreement, corpus_agreement, display_name
from catalog.labels import reject_reasons
from catalog.stats import (
    detector_settings_counts,
    face_count,
    import_counts,
    query_result_counts,
    rejected_by_reason,
    search_dates,
    searches_by_language,
    status_counts,
)
from catalog.takedowns import TAKEN_DOWN
from exporter import baseline as baseline_report
from exporter.leakage import Leakage
from exporter.options import SPLITS, ExportOptions, LabelPlan
from exporter.select import ExportFace
from exporter.splits import SourcePlacement, source_split_words


@dataclass
class Curation:
    """How the dataset's faces were collected and reviewed (whole catalog)."""

    queries: list[tuple[str, str, str, int]] = field(default_factory=list)  # engine,text,label,n
    search_dates: tuple[str | None, str | None] = (None, None)
    # language, engine, queries, result links (facesift scrape --expand, --engine)
    searches_by_language: list[tuple[str, str, int, int]] = field(default_factory=list)
    imports: list[tuple[str, int, str, str]] = field(default_factory=list)  # name, n, from, to
    detectors: list[tuple[str, int | None, float | None, int]] = field(default_factory=list)
    faces_total: int = 0
    status: Counter = field(default_factory=Counter)
    rejected_by_reason: Counter = field(default_factory=Counter)
    annotators: list[tuple[str, int]] = field(default_factory=list)  # name, faces decided
    agreement: Agreement = field(default_factory=lambda: Agreement(0, 0, 0, None, None))
    corpora: list[CorpusAgreement] = field(default_factory=list)  # corpus label x people's


def gather(conn: sqlite3.Connection) -> Curation:
    """Collection and curation figures of the whole catalog."""
    c = Curation()
    c.queries = query_result_counts(conn)
    c.searches_by_language = searches_by_language(conn)
    c.search_dates = search_dates(conn)
    c.imports = import_counts(conn)
    c.detectors = detector_settings_counts(conn)
    c.faces_total = face_count(conn)
    c.status = Counter(status_counts(conn))
    c.rejected_by_reason = Counter(
        {(reason or "no reason given"): n for reason, n in rejected_by_reason(conn)}
    )
    c.annotators = list(decided_counts(conn).items())
    c.agreement = agreement(conn)
    c.corpora = corpus_agreement(conn)
    return c


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return out


@dataclass(frozen=True)
class CardFacts:
    """Everything a card section may show; built once by :func:`render_card`."""

    dataset: str
    opts: ExportOptions
    plan: LabelPlan
    faces: Sequence[ExportFace]
    splits: Sequence[str]
    left_out: Counter
    curation: Curation
    leakage: Leakage
    identity_clusters: int | None
    written_splits: Sequence[str]
    baseline: dict | None = None  # baseline.json's record; None: --no-baseline
    placement: SourcePlacement | None = None  # --split-from source: how faces were placed

    @property
    def count(self) -> Counter:
        """Exported faces by (split, label)."""
        return Counter(zip(self.splits, (f.label for f in self.faces), strict=True))

    @property
    def absent(self) -> list[str]:
        """Classes without any exported face."""
        count = self.count
        return [lab for lab in self.plan.names if not any(count[(s, lab)] for s in SPLITS)]


# A section turns the facts into Markdown lines (no trailing blank line); the
# card is the sections in order, each after a blank line. A new section is one
# function appended to SECTIONS.
Section = Callable[[CardFacts], list[str]]


def front_matter(f: CardFacts) -> list[str]:
    """Hugging Face YAML front matter (the parquet files per split for the hf format)."""
    lines = ["---", "license: other", "task_categories:", "- image-classification"]
    if f.opts.format == "hf":
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for s in f.written_splits:
            lines += [f"  - split: {_hf_split(s)}", f"    path: data/{s}-*.parquet"]
    return [*lines, "---"]


def title(f: CardFacts) -> list[str]:
    """Title and one-paragraph summary of the images."""
    opts = f.opts
    crop = "" if opts.padding is None else f", cropped to padding {opts.padding:g}"
    tighter = sum(
        1
        for face in f.faces
        if opts.padding is not None
        and face.chip_padding is not None
        and face.chip_padding < opts.padding
    )
    if tighter:
        crop += f" ({tighter} face crops keep their tighter padding: their image held no more)"
    return [
        f"# {f.dataset}: facial expressions ({opts.format})",
        "",
        f"{len(f.faces)} face images in {len(f.plan.names)} classes, exported by facesift "
        f"from the dataset `{f.dataset}`. Images are {opts.size}x{opts.size} "
        f"{'colour' if opts.color else 'grayscale'} aligned face chips{crop}.",
    ]


def classes_and_splits(f: CardFacts) -> list[str]:
    """Per-class counts per split, merged labels, how splits were made, empty classes."""
    opts, plan, count = f.opts, f.plan, f.count
    lines = ["## Classes and splits", "", f"Class indices: {plan.index_scheme}.", ""]
    by_index = sorted(plan.names, key=lambda x: plan.indices[x])
    rows = [
        [
            plan.indices[lab],
            lab,
            *(count[(s, lab)] for s in SPLITS),
            sum(count[(s, lab)] for s in SPLITS),
        ]
        for lab in by_index
    ]
    rows.append(
        [
            "",
            "**total**",
            *(sum(count[(s, lab)] for lab in plan.names) for s in SPLITS),
            len(f.faces),
        ]
    )
    lines += _table(["index", "label", *SPLITS, "total"], rows)
    merged = sorted((s, d) for s, d in plan.mapping.items() if s != d)
    if merged:
        lines += ["", "Merged labels: " + ", ".join(f"{s} -> {d}" for s, d in merged) + "."]
    lines += [
        "",
        f"Splits {','.join(f'{x:g}' for x in opts.splits)}, stratified by label, seed "
        f"{opts.seed}. Near-duplicates (the extract stage's groups, and perceptual hashes "
        f"within {opts.near_dup_bits} bits) always share a split.",
    ]
    lines += ["", *subjects_line(f)]
    if f.placement is not None:
        lines += ["", *source_splits_lines(f.placement)]
    if opts.identity_disjoint:
        lines += [
            "",
            f"Identity-disjoint: faces whose dlib descriptors are closer than 0.6 (one person) "
            f"share a split; {f.identity_clusters} identity clusters.",
        ]
    wanted = [s for s, x in zip(SPLITS, opts.splits, strict=True) if x > 0]
    missing = [s for s in wanted if s not in f.written_splits]
    if missing:
        lines += [
            "",
            f"**No faces in {' and '.join(missing)}**: every class is too small for its "
            "share (a class needs about 1 / fraction faces to put one in a split).",
        ]
    absent = f.absent
    if absent:
        lines += ["", "Classes without any face: " + ", ".join(absent) + "."]
    partial = [
        f"{lab} in {s}"
        for s in f.written_splits
        for lab in plan.names
        if lab not in absent and not count[(s, lab)]
    ]
    if (absent or partial) and opts.format == "imagefolder":
        lines += [
            "",
            "Empty class folders are kept so that every split has the same classes "
            "(torchvision's ImageFolder needs `allow_empty=True` for them)"
            + (": " + ", ".join(partial) if partial else "")
            + (", and every folder of a class without any face" if absent and partial else "")
            + ("" if partial else ": those of the classes without any face")
            + ".",
        ]
    return lines


def subjects_line(f: CardFacts) -> list[str]:
    """Subjects (a corpus's persons) per split, and whether any is in two splits."""
    where: dict[tuple[str, str], set[str]] = {}
    for face, split in zip(f.faces, f.splits, strict=True):
        if (key := face.subject_key) is not None:
            where.setdefault(key, set()).add(split)
    unknown = sum(1 for face in f.faces if face.subject_key is None)
    per_split = ", ".join(
        f"{s} {sum(1 for splits in where.values() if s in splits)}" for s in f.written_splits
    )
    disjoint = "yes" if all(len(splits) == 1 for splits in where.values()) else "no"
    return [
        f"Subjects per split (the persons a corpus names; all faces of one share a split): "
        f"{per_split}; subject-disjoint: {disjoint} ({unknown} faces without a subject)."
    ]


def source_splits_lines(p: SourcePlacement) -> list[str]:
    """How ``--split-from source`` placed the faces, and the mapping it used."""
    mapping = "; ".join(f"{w} -> {'/'.join(a)}" for w, a in source_split_words().items())
    text = (
        f"Splits from the source: {p.kept} faces are in the split their corpus gives "
        f"({mapping}), {p.free} faces without one were split by the fractions"
    )
    if p.moved:
        text += (
            f", {p.moved} faces follow a near-duplicate or the same subject into another "
            "corpus split"
        )
    if p.unknown_words:
        text += f"; corpus split words without a mapping: {', '.join(p.unknown_words)}"
    return [text + "."]


def leakage_check(f: CardFacts) -> list[str]:
    """Near-duplicates across splits and overlap with FER2013."""
    leak = f.leakage
    lines = [
        "## Leakage check",
        "",
        f"- near-duplicate pairs across splits: **{leak.cross_split_pairs}** (must be 0)",
    ]
    if leak.fer2013_imported:
        lines.append(
            f"- a FER2013 CSV was imported ({leak.fer2013_faces_in_catalog} FER2013 faces in "
            f"the catalog): {leak.exported_from_fer2013} exported faces are FER2013 faces, "
            f"and {leak.exported_near_fer2013} other exported faces are near-duplicates of "
            "FER2013 faces. Do not evaluate on FER2013's test set with a model trained on this "
            "set without removing them."
        )
    else:
        lines.append("- no FER2013 CSV was imported into this dataset")
    return lines


def collection(f: CardFacts) -> list[str]:
    """Search queries and dates, imports, first sources, detectors."""
    curation = f.curation
    lines = ["## How the data was collected", ""]
    if curation.queries:
        lines += ["Image search queries (engine, query, label, result links):", ""]
        lines += _table(["engine", "query", "label", "results"], curation.queries)
        first, last = curation.search_dates
        lines += ["", f"Searches ran from {first} to {last} (UTC)."]
    else:
        lines.append("No image search was run for this dataset.")
    if curation.imports:
        lines += [
            "",
            "Imported images by source: "
            + ", ".join(
                f"{name} ({k}, imported {first[:10]} to {last[:10]})"
                for name, k, first, last in curation.imports
            )
            + ".",
        ]
    sources = Counter(s.kind for face in f.faces for s in face.sources[:1])
    lines += [
        "",
        "Exported faces by first source: "
        + (", ".join(f"{k} {v}" for k, v in sorted(sources.items())) or "none")
        + ".",
    ]
    found = "; ".join(
        f"{det} detector, {n} faces"
        + (f", chips {size} px" if size else "")
        + (f" with padding {pad:g}" if pad is not None else "")
        for det, size, pad, n in curation.detectors
    )
    lines += [
        "",
        "Faces were found with dlib (" + (found or "none") + "), aligned on 68 landmarks "
        "and cropped as chips; quality (size, sharpness, pose) was measured on each.",
    ]
    return lines


def search_languages(f: CardFacts) -> list[str]:
    """Queries and result links per query language and engine (query expansion)."""
    rows = f.curation.searches_by_language
    if not rows:
        return []
    languages = sorted({r[0] for r in rows})
    return [
        "### Searches by language and engine",
        "",
        f"{sum(r[2] for r in rows)} queries in {len(languages)} "
        f"language{'s' if len(languages) != 1 else ''} ({', '.join(languages)}):",
        "",
        *_table(["language", "engine", "queries", "results"], rows),
    ]


def curation_section(f: CardFacts) -> list[str]:
    """Catalog status counts, reject reasons, annotators, agreement, pending exports."""
    curation = f.curation
    lines = [
        "## Curation",
        "",
        f"- faces in the catalog: {curation.faces_total} ("
        + ", ".join(f"{k} {curation.status.get(k, 0)}" for k in ("accepted", "pending", "rejected"))
        + ")",
    ]
    reasons = reject_reasons()
    if curation.rejected_by_reason:
        lines.append(
            "- rejected by reason: "
            + ", ".join(
                f"{reasons.get(r, r)} {k}" for r, k in sorted(curation.rejected_by_reason.items())
            )
        )
    if curation.annotators:
        lines.append(
            "- annotators (faces decided): "
            + ", ".join(f"{a} ({k})" for a, k in curation.annotators)
        )
    else:
        lines.append("- no face was reviewed by a person")
    ag = curation.agreement
    if ag.faces:
        lines.append(
            f"- agreement: {ag.unanimous} of {ag.faces} faces seen by two or more annotators "
            f"were decided alike ({100 * ag.unanimous / ag.faces:.1f}%); {ag.disputed} faces "
            "are disputed (annotators disagree)"
        )
    pending = sum(1 for face in f.faces if face.status == "pending")
    if pending:
        lines.append(
            f"- {pending} exported faces are pending: their label is the one their search query "
            "or import claimed, not checked by a person (--include-pending)"
        )
    return lines


def corpora_section(f: CardFacts) -> list[str]:
    """Per corpus: people's final labels against the corpus's, over the faces they decided."""
    if not f.curation.corpora:
        return []
    lines = [
        "## Relabelling the corpora",
        "",
        "Faces an expression corpus labelled that people decided too (whole catalog): the "
        "corpus's label (rows) against people's final label (columns), folded from every "
        "vote but the corpus's own.",
    ]
    for ag in f.curation.corpora:
        name = display_name(ag.corpus)
        rate = "-" if ag.rate is None else f"{100 * ag.rate:.1f}%"
        rows, cols = ag.rows(tuple(f.plan.mapping))
        lines += [
            "",
            f"- {name}: people agree with {name} on {ag.agreed} of {ag.decided} decided faces "
            f"({rate}); {ag.faces - ag.decided} undecided",
            "",
            *_table([f"{name} label", *cols], [[r, *(ag.table[r][c] for c in cols)] for r in rows]),
        ]
    return lines


def baseline_section(f: CardFacts) -> list[str]:
    """The baseline model's figures on the test split and its confusion matrix picture."""
    return baseline_report.card_lines(f.baseline)


def takedowns(f: CardFacts) -> list[str]:
    """Faces left out because their source was taken down (``facesift takedown``)."""
    n = f.left_out.get(TAKEN_DOWN, 0)
    if not n:
        return []
    return [
        "## Takedowns",
        "",
        f"- {n} faces are not in this export: their images were taken down on request "
        "(`facesift takedown`); their files are deleted and their hashes, URLs or domains "
        "are blocked from every later scrape and import",
    ]


def filters(f: CardFacts) -> list[str]:
    """The export's selection flags and what they left out."""
    opts = f.opts
    lines = [
        "## Filters",
        "",
        "- status: accepted faces"
        + (", and pending faces carrying a label" if opts.include_pending else "")
        + "; rejected faces never",
        f"- --min-size {opts.min_size:g}, --min-sharpness {opts.min_sharpness:g}, "
        f"--max-yaw {'none' if opts.max_yaw is None else f'{opts.max_yaw:g}'}",
    ]
    if opts.labels:
        lines.append(f"- --labels {opts.labels}")
    if opts.map:
        lines.append(f"- --map {opts.map}")
    if opts.min_annotators:
        k = opts.min_annotators
        lines.append(f"- --min-annotators {k}: faces decided by fewer annotators are left out")
    if f.left_out:
        lines.append("- left out: " + ", ".join(f"{r} {k}" for r, k in sorted(f.left_out.items())))
    return lines


_FILES = {
    "imagefolder": "- `<split>/<label>/<face id>.png`: the images, a folder per split "
    "and class; `<split>/metadata.csv`: file name, label, face id, source and quality figures, "
    "and one `votes_<label>` column per class (how many annotators gave it)",
    "fer2013-csv": "- `fer2013.csv`: FER2013's columns `emotion,pixels,Usage` (Training, "
    "PublicTest, PrivateTest for train, val, test); pixels are 48x48 gray, row-major",
    "hf": "- `data/<split>-00000-of-00001.parquet`: image (PNG bytes), label "
    "(`ClassLabel`), `votes` (how many annotators gave each class, in class order), face id, "
    "source and quality figures",
}


def files(f: CardFacts) -> list[str]:
    """The files of the export."""
    return [
        "## Files",
        "",
        _FILES[f.opts.format],
        "- `labels.txt`: class index and name, one a line",
        "- `manifest.json`: every file with its sha256; every face with its split, label, "
        "source (URL and page, or import path), query, each annotator's decision and `votes` "
        "(annotators per class, in the order of `labels`)",
    ]


def limitations(f: CardFacts) -> list[str]:
    """Known biases and caveats, with the ones specific to this export."""
    opts = f.opts
    lines = [
        "## Known limitations",
        "",
        "- Labels are the perceived expression in a still photo, posed or spontaneous alike; "
        "web searches over-represent posed, stock and celebrity images.",
        "- Faces are the ones dlib's detector finds: mostly frontal; profile, occluded and "
        "very small faces are under-represented.",
        "- Demographic balance was not measured and is not to be assumed.",
        "- Near-duplicates are found by perceptual hash: heavily edited copies can escape it.",
    ]
    upscaled = sum(1 for face in f.faces if face.chip_size and face.chip_size < opts.size)
    if upscaled:
        lines.append(
            f"- {upscaled} faces were upscaled from chips smaller than {opts.size} px "
            "(extract's --chip-size): they hold less detail than their size suggests."
        )
    unnamed = sum(1 for face in f.faces if face.subject_key is None)
    if not opts.identity_disjoint and unnamed:
        lines.append(
            f"- The same person can appear in several splits among the {unnamed} faces no "
            "corpus names a subject for (export with --identity-disjoint to prevent it)."
        )
    return lines


def licence(f: CardFacts) -> list[str]:
    """Licence and consent."""
    return [
        "## Licence and consent",
        "",
        "The images were found by web image search and belong to their authors; no licence "
        "to redistribute them was obtained, and the people shown did not consent to being in "
        "a dataset. Use the set for research only, keep it private, honour removal requests "
        "(the manifest gives each face's source), and check the law that applies to you "
        "(e.g. the GDPR treats face images as biometric data). Imported sets keep their own "
        "licences.",
    ]


SECTIONS: list[Section] = [
    front_matter,
    title,
    classes_and_splits,
    baseline_section,
    leakage_check,
    collection,
    search_languages,
    curation_section,
    corpora_section,
    takedowns,
    filters,
    files,
    limitations,
    licence,
]


def render_card(
    *,
    dataset: str,
    opts: ExportOptions,
    plan: LabelPlan,
    faces: Sequence[ExportFace],
    splits: Sequence[str],
    left_out: Counter,
    curation: Curation,
    leakage: Leakage,
    identity_clusters: int | None,
    written_splits: Sequence[str],
    sections: Sequence[Section] = SECTIONS,
    baseline: dict | None = None,
    placement: SourcePlacement | None = None,
) -> str:
    """The dataset card as Markdown (with Hugging Face YAML front matter): ``sections`` joined."""
    facts = CardFacts(
        dataset=dataset,
        opts=opts,
        plan=plan,
        faces=faces,
        splits=splits,
        left_out=left_out,
        curation=curation,
        leakage=leakage,
        identity_clusters=identity_clusters,
        written_splits=written_splits,
        baseline=baseline,
        placement=placement,
    )
    parts = [section(facts) for section in sections]
    return "\n\n".join("\n".join(p) for p in parts if p) + "\n"


def _hf_split(split: str) -> str:
    return "validation" if split == "val" else split
