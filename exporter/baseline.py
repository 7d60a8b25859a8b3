"""The export's baseline: the dataset's model trained on the train split, its regularisation
chosen on val, measured on test; ``baseline.json``, ``confusion_matrix.png`` and the card's table.

This is the check the seed projects ran by hand after training: which classes
a plain model confuses (sad and neutral, happy and the rest). The features are
the model's own (model.features: HOG and LBP of the catalog chip and
normalised landmarks), the same whatever size or crop the export writes. Everything here
is deterministic for a seed (lbfgs, fixed grid, figures rounded, the PNG
without a date), so an export's bytes stay the same when repeated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from catalog.dataset import Catalog
from catalog.predictions import faces_by_id
from model import classifier, metrics
from model.inputs import features_of

BASELINE_JSON = "baseline.json"
CONFUSION_PNG = "confusion_matrix.png"
C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.1)  # inverse regularisation strengths tried on val


@dataclass(frozen=True)
class Baseline:
    """The baseline's record (``baseline.json``), or why there is none (``skipped``)."""

    record: dict

    @property
    def skipped(self) -> str | None:
        """Why no baseline could be trained (too few classes, no test faces), or None."""
        return self.record.get("skipped")


def run_baseline(
    cat: Catalog,
    face_ids: Sequence[int],
    labels: Sequence[str],
    splits: Sequence[str],
    classes: Sequence[str],
    seed: int = 0,
) -> Baseline:
    """Train on ``train``, pick C on ``val`` (macro-F1, then accuracy), measure on ``test``.

    ``classes`` are the export's, in its order; those without a face are left out.
    """
    present = set(labels)
    classes = [c for c in classes if c in present]  # an empty class would be an empty row
    rows = faces_by_id(cat.conn, list(face_ids))
    m = features_of(cat, rows)
    where = {fid: i for i, fid in enumerate(face_ids)}
    idx = [where[r.face_id] for r in m.rows]
    y = np.array([labels[i] for i in idx], dtype=object)
    part = np.array([splits[i] for i in idx], dtype=object)
    tr, va, te = (part == s for s in ("train", "val", "test"))
    base = {
        "model": "model.classifier logreg (class-balanced), model.features",
        "prior_weight": classifier.DEFAULT_PRIOR_WEIGHT,
        "seed": seed,
    }
    if len(set(y[tr].tolist())) < 2:
        return Baseline({**base, "skipped": "the train split has fewer than two classes"})
    if not te.any():
        return Baseline({**base, "skipped": "the test split is empty"})
    tried = []
    c = classifier.DEFAULT_C
    if va.any():
        for cand in C_GRID:
            est = classifier.fit(m.X[tr], y[tr], "logreg", cand, seed)
            pred = _predict(est, m.X[va], classes)
            f = metrics.figures(y[va], pred, classes)
            tried.append({"c": cand, "accuracy": f["accuracy"], "macro_f1": f["macro_f1"]})
        best = max(tried, key=lambda t: (t["macro_f1"] or 0, t["accuracy"] or 0, -t["c"]))
        c = best["c"]
    est = classifier.fit(m.X[tr], y[tr], "logreg", c, seed)
    fig = metrics.figures(y[te], _predict(est, m.X[te], classes), classes)
    return Baseline(
        {
            **base,
            "c": c,
            "chosen_on": "val macro-F1" if tried else "default (no val split)",
            "tried": tried,
            "train_faces": int(tr.sum()),
            "val_faces": int(va.sum()),
            "test_faces": int(te.sum()),
            "faces_without_chip": len(m.missing),
            **fig,
        }
    )


def _predict(est: object, X: np.ndarray, classes: Sequence[str]) -> list[str]:
    p = classifier.probabilities(est, X, classes)
    return [classes[i] for i in p.argmax(axis=1)]


def write_baseline(folder: Path, baseline: Baseline) -> list[str]:
    """Write ``baseline.json`` (and the confusion matrix picture unless skipped); their names."""
    (folder / BASELINE_JSON).write_text(
        json.dumps(baseline.record, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    if baseline.skipped:
        return [BASELINE_JSON]
    confusion_png(baseline.record["confusion"], folder / CONFUSION_PNG)
    return [BASELINE_JSON, CONFUSION_PNG]


def confusion_png(confusion: dict, path: Path) -> None:
    """The confusion matrix: counts in the cells, colour by the share of the true class (row)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = confusion["labels"]
    counts = np.asarray(confusion["matrix"], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    n = len(labels)
    side = 2.2 + 0.6 * n
    fig = Figure(figsize=(side, side * 0.9), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title("Baseline on the test split")
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(int(counts[i, j])),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if shares[i, j] > 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true label")
    fig.tight_layout()
    # No "Software" or date chunk: the same figures give the same bytes.
    fig.savefig(path, format="png", metadata={"Software": None})


def _prior_words(record: dict) -> str:
    weight = record.get("prior_weight") or 0
    if not weight:
        return ""
    return (
        f"; its probabilities mixed at weight {weight:g} with those of a small network "
        "pretrained on FER2013's training faces"
    )


def card_lines(record: dict | None) -> list[str]:
    """The card's Baseline section (empty when the export was asked for none)."""
    if record is None:
        return []
    lines = ["## Baseline", ""]
    if record.get("skipped"):
        return [*lines, f"No baseline: {record['skipped']}."]
    lines += [
        "A plain model trained on the train split (class-balanced logistic regression on "
        "HOG and LBP features of the face chips and landmarks normalised to the eyes; its "
        f"regularisation C = {record['c']:g} chosen on {record['chosen_on']}"
        f"{_prior_words(record)}), measured on "
        f"the {record['test_faces']} test faces: accuracy {record['accuracy']:.3f}, "
        f"macro-F1 {record['macro_f1']:.3f}. It shows which classes are easy to tell apart "
        f"and which are confused, not what a trained network reaches. Figures: `{BASELINE_JSON}`.",
        "",
        "| class | precision | recall | F1 | test faces |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c} | {p} | {r} | {f} | {n} |" for c, p, r, f, n in metrics.per_class_rows(record)
    ]
    lines += ["", f"![Confusion matrix of the baseline on the test split]({CONFUSION_PNG})"]
    return lines
