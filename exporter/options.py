"""What an export is asked to do, and the label mapping it implies.

:class:`ExportOptions` is a frozen dataclass declared with ``option()`` fields,
so that the CLI (its flags are generated from them) and the review app build it
the same way. :func:`plan_labels` turns the dataset's label set plus
``--map`` and ``--labels`` into the exported classes (pure).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from catalog.labels import LabelError, LabelSet, canonical
from core.contract import OptionError, check_options, option
from core.errors import FacesiftError
from core.executor import scheduler_option, workers_option
from faces.defaults import CHIP_PADDING, NEAR_DUP_BITS

FORMATS = ("imagefolder", "fer2013-csv", "hf")
SPLITS = ("train", "val", "test")
# --split-from: "fractions" splits every face by --splits; "source" keeps each corpus's own
# split where it gives one (RAF-DB, AffectNet, FER2013's Usage; exporter/source_splits.toml).
SPLIT_FROM = ("fractions", "source")
FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_SIZE = 48
IDENTITY_DISTANCE = 0.6  # dlib's threshold: descriptors closer than this are one person


class ExportError(FacesiftError, ValueError):
    """An export that cannot be done as asked."""


SOURCE = "source"  # `--splits source`: the corpus's own split (the same as --split-from source)
DEFAULT_SPLITS = (0.8, 0.1, 0.1)


def split_fractions(text: str) -> tuple[float, float, float] | str:
    """``train,val,test`` fractions that are >= 0 and sum to 1 (the ``--splits`` text), or
    ``source``: each corpus's own split, the faces without one split by the default fractions."""
    if text.strip().lower() == SOURCE:
        return SOURCE
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give three numbers like 0.8,0.1,0.1") from None
    if not fractions_ok(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give three fractions >= 0 that sum to 1")
    return parts  # type: ignore[return-value]


def fractions_ok(parts: tuple[float, ...]) -> bool:
    """Three fractions in [0, 1] that sum to 1."""
    return len(parts) == 3 and all(0 <= p <= 1 for p in parts) and abs(sum(parts) - 1) <= 1e-6


@dataclass(frozen=True)
class ExportOptions:
    """Every choice of one export; the CLI flags are generated from these fields."""

    out: Path = option(help="output folder", metavar="DIR")
    format: str = option(
        "imagefolder",
        help="ImageFolder splits, a FER2013-style CSV, or Hugging Face parquet",
        choices=FORMATS,
        required=True,
        show_default=False,
    )
    size: int = option(
        FER2013_SIZE, help="side of the exported images", metavar="PX", low=8, high=1024
    )
    color: bool = option(
        False,
        help="colour images",
        off_flag="--grayscale",
        off_help="gray images (the default)",
    )
    splits: tuple[float, float, float] = option(
        DEFAULT_SPLITS,
        help="split fractions; 'source' keeps each corpus's own split (as --split-from source)",
        metavar="TRAIN,VAL,TEST|source",
        parse=split_fractions,
    )
    split_from: str = option(
        "fractions",
        help="fractions: split every face by --splits; source: keep the corpus's own split "
        "where it gives one (RAF-DB train/test, AffectNet training/validation, FER2013 Usage), "
        "the other faces by --splits",
        choices=SPLIT_FROM,
    )
    labels: str | None = option(
        None, help="export only these labels, in this order", metavar="L1,L2,..."
    )
    map: str | None = option(None, help="merge labels, e.g. disgust=angry", metavar="FROM=TO,...")
    min_size: float = option(
        0.0,
        help="leave out faces smaller than PX source pixels",
        metavar="PX",
        low=0,
        show_default=False,
    )
    min_sharpness: float = option(
        0.0, help="leave out faces less sharp than S", metavar="S", low=0, show_default=False
    )
    max_yaw: float | None = option(
        None, help="leave out faces turned more than DEG degrees", metavar="DEG", low=0
    )
    include_pending: bool = option(
        False, help="also export pending faces that carry a label from their query or import"
    )
    min_annotators: int = option(
        0,
        help="leave out faces with fewer than K annotators' decisions (second opinions)",
        metavar="K",
        low=0,
        high=1000,
        show_default=False,
    )
    identity_disjoint: bool = option(
        False, help="keep each person in one split (needs extract --embeddings)"
    )
    # scikit-learn takes a random_state of 0 to 2**32 - 1 (the baseline model is seeded with it).
    seed: int = option(0, help="split seed", low=0, high=2**32 - 1)
    overwrite: bool = option(False, help="replace a non-empty --out")
    no_baseline: bool = option(
        False,
        help="skip the baseline model (baseline.json, confusion_matrix.png, the card's Baseline)",
    )
    near_dup_bits: int = option(
        NEAR_DUP_BITS,
        help="perceptual-hash distance of a near-duplicate (extract's)",
        low=0,
        high=32,
        cli=False,
    )
    padding: float | None = option(
        None,
        help="crop the chips tighter, to padding P (e.g. 0.25, FER2013-like; "
        f"default: the chips' own, {CHIP_PADDING})",
        metavar="P",
        low=0,
        high=2,
    )
    workers: int | None = workers_option(
        "render processes (default: cores - 1 for large exports, none for small ones; "
        "with --scheduler local, the LocalCluster's)"
    )
    scheduler: str | None = scheduler_option()

    def __post_init__(self) -> None:
        # `--splits source` (the spelling) is `--split-from source` with the default
        # fractions for the faces no corpus places.
        if self.splits == SOURCE:
            object.__setattr__(self, "splits", DEFAULT_SPLITS)
            object.__setattr__(self, "split_from", SOURCE)

    def validate(self) -> None:
        """Raise ExportError for options out of bounds or contradicting each other or the format."""
        try:
            check_options(self)
        except OptionError as e:
            raise ExportError(str(e)) from None
        if self.format == "fer2013-csv":
            if self.size != FER2013_SIZE:
                raise ExportError(
                    f"fer2013-csv images are 48x48; --size {self.size} cannot be used with it"
                )
            if self.color:
                raise ExportError(
                    "fer2013-csv images are grayscale; --color cannot be used with it"
                )
        if not fractions_ok(tuple(float(x) for x in self.splits)):
            raise ExportError(f"--splits {self.splits}: give three fractions >= 0 that sum to 1")

    def as_record(self) -> dict:
        """The options as JSON-ready data (for the manifest, card and exports table)."""
        d = asdict(self)
        d["out"] = str(self.out)
        # The same options typed differently (0 or 0.0) must give the same bytes.
        d["splits"] = [float(x) for x in self.splits]
        for k in ("min_size", "min_sharpness", "max_yaw", "padding"):
            d[k] = None if d[k] is None else float(d[k])
        for k in ("size", "seed", "near_dup_bits"):
            d[k] = int(d[k])
        return d


@dataclass(frozen=True)
class LabelPlan:
    """How catalog labels become exported classes.

    ``names`` are the exported classes in the export's own order; ``mapping``
    sends a catalog label to its exported class (labels left out are absent);
    ``indices`` is the class index each format writes for each exported class.
    """

    names: tuple[str, ...]
    mapping: dict[str, str]
    indices: dict[str, int] = field(default_factory=dict)
    index_scheme: str = ""


def parse_map(text: str | None, labels: LabelSet) -> dict[str, str]:
    """Parse ``FROM=TO,...``; FROM must be a dataset label, TO a label name (may be new)."""
    out: dict[str, str] = {}
    if not text or not text.strip():
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        if part.count("=") != 1:
            raise ExportError(f"--map {part.strip()!r}: write FROM=TO, e.g. disgust=angry")
        src, dst = (w.strip() for w in part.split("="))
        try:
            src = labels.resolve(src)
        except LabelError as e:
            raise ExportError(f"--map {part.strip()!r}: {e}") from None
        dst = labels.resolve(dst) if dst in labels else canonical(dst)
        try:
            LabelSet((dst,))
        except LabelError as e:
            raise ExportError(f"--map {part.strip()!r}: {e}") from None
        if src in out and out[src] != dst:
            raise ExportError(f"--map sends {src} to both {out[src]} and {dst}")
        out[src] = dst
    for src, dst in out.items():
        if dst in out and out[dst] != dst:
            raise ExportError(f"--map chains {src}={dst} and {dst}={out[dst]}; map {src} directly")
    return out


def plan_labels(labels: LabelSet, map_text: str | None, labels_text: str | None) -> LabelPlan:
    """The exported classes: the dataset's labels, merged by ``--map``, kept by ``--labels``.

    Without ``--labels`` the order is the dataset's (a new class named by
    ``--map`` takes the place of its first member); with ``--labels`` it is the
    order given there.
    """
    merges = parse_map(map_text, labels)
    mapped = {name: merges.get(name, name) for name in labels.names}
    order: list[str] = []
    for name in labels.names:
        target = mapped[name]
        if target != name and target in labels.names:
            continue  # merged into a dataset class, which keeps its own place
        if target not in order:
            order.append(target)
    if labels_text is not None and labels_text.strip():
        chosen: list[str] = []
        for word in labels_text.split(","):
            if not word.strip():
                continue
            w = canonical(word)
            if w not in order:
                raise ExportError(
                    f"--labels: {word.strip()!r} is not an exported class; "
                    f"they are {','.join(order)}"
                )
            if w in chosen:
                raise ExportError(f"--labels names {w} twice")
            chosen.append(w)
        if not chosen:
            raise ExportError("--labels names no label")
        order = chosen
    kept = {src: dst for src, dst in mapped.items() if dst in order}
    return LabelPlan(tuple(order), kept)


def with_indices(plan: LabelPlan, fmt: str) -> LabelPlan:
    """The plan with the class indices the format's users will see.

    - fer2013-csv: FER2013's own indices (happy is 3 whatever else is exported),
      so that models and code written for FER2013 read the file correctly;
      a class FER2013 does not have is refused.
    - imagefolder: alphabetical, the order Keras, torchvision and Hugging Face
      all give class folders.
    - hf: the export's order (``ClassLabel`` names carry it).
    """
    if fmt == "fer2013-csv":
        foreign = [n for n in plan.names if n not in FER2013_LABELS]
        if foreign:
            raise ExportError(
                f"fer2013-csv writes FER2013's class indices, which have no {', '.join(foreign)}; "
                f"merge with --map (e.g. {foreign[0]}=neutral), leave out with --labels, "
                "or use --format imagefolder or hf"
            )
        indices = {n: FER2013_LABELS.index(n) for n in plan.names}
        scheme = (
            "FER2013 class indices ("
            + ", ".join(f"{i} {n}" for i, n in enumerate(FER2013_LABELS))
            + ")"
        )
    elif fmt == "imagefolder":
        indices = {n: i for i, n in enumerate(sorted(plan.names))}
        scheme = "alphabetical order of the class folders, as ImageFolder loaders assign them"
    else:
        indices = {n: i for i, n in enumerate(plan.names)}
        scheme = "the export's class order (the ClassLabel names)"
    return LabelPlan(plan.names, plan.mapping, indices, scheme)
