"""``facesift model train``: fit the dataset's classifier, with out-of-fold probabilities.

Every labelled face gets probabilities from a model fitted on the other folds
only (k-fold cross-validation), so its self-confidence is an honest estimate;
the cross-validated figures come from the same probabilities. The model then
fitted on all labelled faces is stored and predicts the unlabelled faces.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field

import numpy as np

from catalog.dataset import Catalog
from catalog.db import utc_now
from catalog.predictions import (
    REJECTED,
    FaceRow,
    ModelRow,
    Prediction,
    last_event_id,
    model_faces,
    record_model,
)
from core.contract import Progress, ProgressFn, StageSummary, check_options, option, report
from core.executor import scheduler_option, workers_option
from faces import prior
from model import classifier, metrics
from model.features import CHIP_SIDE, feature_count
from model.inputs import INLINE_BELOW, feature_executor, features_of
from model.store import ModelError, new_model_id, write_model_files

STAGE = "train"


@dataclass(frozen=True)
class TrainOptions:
    """How to train the dataset's model."""

    include_pending: bool = option(
        False,
        help="also learn from pending faces that carry a label (from their query, import or votes)",
    )
    folds: int = option(
        5, help="cross-validation folds for the out-of-fold probabilities", low=2, high=20
    )
    seed: int = option(0, help="seed of the fold assignment", low=0)
    c: float = option(
        classifier.DEFAULT_C,
        help="inverse regularisation strength of the classifier",
        low=1e-6,
        high=1e6,
        cli=False,
    )
    kind: str = option("logreg", help="the classifier", choices=classifier.KINDS, cli=False)
    prior_weight: float = option(
        classifier.DEFAULT_PRIOR_WEIGHT,
        help="share of the pretrained expression prior in each probability "
        "(0: learn from this dataset's labels alone)",
        metavar="W",
        low=0.0,
        high=1.0,
    )
    workers: int | None = workers_option(
        "worker processes for the faces' features (default: one per core, none under "
        f"{INLINE_BELOW} faces; with --scheduler local, the LocalCluster's)"
    )
    scheduler: str | None = scheduler_option()


@dataclass
class TrainSummary(StageSummary):
    """What one training run did and how well the model does under cross-validation."""

    model_id: str
    path: str  # relative to the dataset folder
    classes: list[str]
    labelled: int
    unlabelled: int
    missing_chips: int
    folds: int
    accuracy: float | None
    macro_f1: float | None
    per_class: dict = field(default_factory=dict)
    confusion: dict = field(default_factory=dict)
    seconds: float = 0.0
    folds_asked: int = 0  # --folds; more than ``folds`` when the largest class is smaller
    prior_mixed: list[str] = field(default_factory=list)  # classes the prior's say is mixed into
    prior_weight: float = 0.0

    def line(self) -> str:
        """One line: the model id, the faces and the cross-validated figures."""
        missing = f", {self.missing_chips} without a readable chip" if self.missing_chips else ""
        fewer = (
            f" (not {self.folds_asked}: no class has that many faces)"
            if self.folds_asked > self.folds
            else ""
        )
        return (
            f"model {self.model_id}: {self.labelled} labelled faces, "
            f"{len(self.classes)} classes{self._prior()}, "
            f"{self.folds}-fold CV{fewer} accuracy {_fmt(self.accuracy)}, "
            f"macro-F1 {_fmt(self.macro_f1)}; "
            f"{self.unlabelled} unlabelled faces predicted{missing} ({self.seconds:.1f} s)"
        )

    def _prior(self) -> str:
        if not self.prior_weight or len(self.prior_mixed) < 2:
            return " (no expression prior)"
        return f" ({len(self.prior_mixed)} with the expression prior at {self.prior_weight:g})"

    def table(self) -> str:
        """The per-class cross-validated figures as a text table."""
        return metrics.per_class_table({"per_class": self.per_class})


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def class_order(cat: Catalog, labels: set[str]) -> list[str]:
    """The classes a model learns: the dataset's labels that occur, then ``rejected``."""
    order = [n for n in cat.labels.names if n in labels]
    order += sorted(labels - set(order) - {REJECTED})  # labels since removed from the set
    if REJECTED in labels:
        order.append(REJECTED)
    return order


def train(
    cat: Catalog, opts: TrainOptions, *, on_progress: ProgressFn | None = None
) -> TrainSummary:
    """Train, cross-validate, store and record the dataset's model (see module docstring)."""
    check_options(opts)
    if opts.kind not in classifier.KINDS:
        raise ModelError(f"unknown classifier {opts.kind!r}")
    started = time.monotonic()
    events_seen = last_event_id(cat.conn)  # events after this make the model stale
    rows = model_faces(cat.conn, opts.include_pending)
    labelled = [r for r in rows if r.label]
    unlabelled = [r for r in rows if not r.label]
    total = len(rows) + opts.folds + 1

    with feature_executor(len(rows), opts.workers, opts.scheduler) as executor:

        def features(part: list[FaceRow], offset: int):
            def tick(n: int, _total: int) -> None:
                report(on_progress, Progress(STAGE, offset + n, total, "step", "reading chips"))

            return features_of(cat, part, tick, executor=executor)

        train_m = features(labelled, 0)
        y = np.array([r.label for r in train_m.rows], dtype=object)
        classes = class_order(cat, set(y.tolist()))
        check_trainable(classes, y)
        other_m = features(unlabelled, len(labelled))
    done = len(rows)

    def fit_fn(X: np.ndarray, yy: np.ndarray) -> object:
        return classifier.fit(X, yy, opts.kind, opts.c, opts.seed, opts.prior_weight)

    def fold_done(n: int, k: int) -> None:
        report(on_progress, Progress(STAGE, done + n, total, "step", f"fold {n} of {k}"))

    folds = classifier.fold_assignment(y, opts.folds, opts.seed)
    oof = classifier.out_of_fold_probabilities(train_m.X, y, classes, folds, fit_fn, fold_done)
    final = fit_fn(train_m.X, y)
    other = classifier.probabilities(final, other_m.X, classes)
    report(on_progress, Progress(STAGE, total, total, "step", "storing"))

    predicted = [classes[i] for i in oof.argmax(axis=1)]
    fig = metrics.figures(y, predicted, classes)
    n_folds = len(np.unique(folds))
    predictions = [
        prediction(r.face_id, oof[i], classes, r.label, True) for i, r in enumerate(train_m.rows)
    ] + [prediction(r.face_id, other[i], classes, None, False) for i, r in enumerate(other_m.rows)]

    mixed = [c for c, i in zip(classes, prior.columns_for(classes), strict=True) if i >= 0]
    model_id = new_model_id(cat)
    trained_at = utc_now()
    options = {
        "include_pending": opts.include_pending,
        "folds": opts.folds,
        "seed": opts.seed,
        "c": opts.c,
        "kind": opts.kind,
        "prior_weight": opts.prior_weight,
    }
    figures = {
        **fig,
        "faces": len(train_m.rows),
        "unlabelled": len(other_m.rows),
        "folds": n_folds,
        "cross_validated": True,
    }
    meta = {
        "id": model_id,
        "dataset": cat.paths.name,
        "trained_at": trained_at,
        "classes": classes,
        "kind": opts.kind,
        "features": {
            "chip_side": CHIP_SIDE,
            "count": feature_count(),
            "description": "HOG (8 px and 16 px cells, 9 bins) and uniform LBP (8 px cells) "
            "of the gray chip face region, and the 68 landmarks normalised to the eye positions",
            "prior": {
                "network": "mini-Xception pretrained on FER2013 (faces/weights/NOTICE.md)",
                "labels": list(prior.LABELS),
                "weight": opts.prior_weight,
                "classes_mixed": mixed,
            },
        },
        "options": options,
        "figures": figures,
        "last_event_id": events_seen,
        "file": "model.joblib (a scikit-learn Pipeline saved with joblib)",
    }
    rel = write_model_files(cat, model_id, final, meta)
    row = ModelRow(
        model_id, rel, opts.kind, tuple(classes), options, figures, events_seen, trained_at
    )
    try:
        record_model(cat.conn, row, predictions)
    except BaseException:
        # A model the catalog does not know (a full disk at its rows) is not kept.
        shutil.rmtree(cat.paths.dir / rel, ignore_errors=True)
        raise
    return TrainSummary(
        model_id=model_id,
        path=rel,
        classes=classes,
        labelled=len(train_m.rows),
        unlabelled=len(other_m.rows),
        missing_chips=len(train_m.missing) + len(other_m.missing),
        folds=n_folds,
        accuracy=fig["accuracy"],
        macro_f1=fig["macro_f1"],
        per_class=fig["per_class"],
        confusion=fig["confusion"],
        seconds=round(time.monotonic() - started, 3),
        folds_asked=opts.folds,
        prior_mixed=mixed,
        prior_weight=opts.prior_weight,
    )


def check_trainable(classes: list[str], y: np.ndarray) -> None:
    """Refuse (ModelError) labels a model cannot be trained and cross-validated on."""
    if len(classes) < 2:
        have = f"only {classes[0]!r}" if classes else "none"
        raise ModelError(
            f"training needs labelled faces of at least two classes; this dataset has {have} "
            "(accept or label faces in review, or use --include-pending)"
        )
    if classifier.largest_class(y) < 2:
        raise ModelError(
            "cross-validation needs at least two labelled faces of one class; every class here "
            "has one (label more faces)"
        )


def prediction(
    face_id: int, p: np.ndarray, classes: list[str], label: str | None, out_of_fold: bool
) -> Prediction:
    """A face's ``predictions`` row from its probabilities ``p`` (in ``classes`` order)."""
    probs = {c: round(float(x), 6) for c, x in zip(classes, p, strict=True)}
    return Prediction(
        face_id,
        probs,
        classes[int(np.argmax(p))],
        label,
        None if label is None else probs.get(label, 0.0),
        out_of_fold,
    )
