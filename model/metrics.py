"""Classification figures (accuracy, macro-F1, per class, confusion matrix) and their table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from core.report import format_table

DIGITS = 4  # figures are rounded so that stored JSON is the same bytes for the same data


def figures(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Macro-F1 averages over the classes that occur in ``y_true`` (a class with no
    faces has no recall to speak of). The confusion matrix has true labels as
    rows and predicted labels as columns, both in ``classes`` order.
    """
    t = np.asarray(y_true, dtype=object)
    p = np.asarray(y_pred, dtype=object)
    labels = list(classes)
    if len(t) == 0:
        return {
            "accuracy": None,
            "macro_f1": None,
            "support": 0,
            "per_class": {},
            "confusion": {"labels": labels, "matrix": [[0] * len(labels) for _ in labels]},
        }
    prec, rec, f1, support = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    present = support > 0
    return {
        "accuracy": round(float(np.mean(t == p)), DIGITS),
        "macro_f1": round(float(f1[present].mean()), DIGITS) if present.any() else None,
        "support": len(t),
        "per_class": {
            c: {
                "precision": round(float(prec[i]), DIGITS),
                "recall": round(float(rec[i]), DIGITS),
                "f1": round(float(f1[i]), DIGITS),
                "support": int(support[i]),
            }
            for i, c in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(t, p, labels=labels).astype(int).tolist(),
        },
    }


def per_class_rows(fig: dict) -> list[tuple[str, str, str, str, int]]:
    """(label, precision, recall, F1, support) rows of :func:`figures`' result."""
    return [
        (c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"])
        for c, v in fig["per_class"].items()
    ]


def per_class_table(fig: dict) -> str:
    """The per-class figures as an aligned text table (for the terminal)."""
    rows = [[str(x) for x in r] for r in per_class_rows(fig)]
    return format_table(("label", "precision", "recall", "F1", "support"), rows)
