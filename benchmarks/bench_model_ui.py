"""Server time of the model's parts of the review app with 100,000 faces.

Builds bench_review's synthetic dataset, records a model with a prediction for
every face (out-of-fold for the decided ones, as ``model train`` stores them),
then measures side by side:

* a grid page without a model, with the model's guesses (the predictions join),
  sorted most suspect first, and most likely rejected first;
* a key press in the suspects queue (event, next suspect, count left) against
  one in the pending queue;
* the stale-banner check (label events since the model was trained).

Run: ``.venv/bin/python benchmarks/bench_model_ui.py [--faces 100000]``.
Targets: p95 <= 100 ms per action, <= 300 ms per page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_review import LABELS, build, report, timed
from catalog import Catalog
from catalog.db import utc_now
from catalog.predictions import ModelRow, Prediction, last_event_id, record_model
from curation_ui import queue as q
from curation_ui.model_hints import model_age
from curation_ui.queries import STATUSES, FaceFilter, face_page

CLASSES = (*LABELS, "rejected")


def plant_model(cat: Catalog) -> ModelRow:
    """A model with random (seeded) probabilities for every face."""
    rng = random.Random(3)
    rows = cat.conn.execute(
        "SELECT face_id, CASE WHEN status = 'rejected' THEN 'rejected' "
        "WHEN status = 'accepted' THEN label END FROM face_state"
    ).fetchall()
    preds = []
    for fid, label in rows:
        w = [rng.random() ** 3 for _ in CLASSES]
        total = sum(w)
        probs = {c: round(x / total, 6) for c, x in zip(CLASSES, w, strict=True)}
        sc = probs.get(label) if label else None
        preds.append(
            Prediction(fid, probs, max(probs, key=probs.get), label, sc, label is not None)
        )
    row = ModelRow(
        "bench", "models/bench", "logreg", CLASSES, {}, {}, last_event_id(cat.conn), utc_now()
    )
    record_model(cat.conn, row, preds)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="facesift-bench-") as tmp,
        Catalog.open(tmp, "bench") as cat,
    ):
        build(cat, args.faces)
        model = plant_model(cat)
        conn = cat.conn
        print(f"{args.faces} faces, a prediction for each, {model.last_event_id} events")
        pages = {
            "grid page: happy, all statuses, by quality, no model": FaceFilter(
                statuses=STATUSES, label="happy"
            ),
            "grid page: ... with the model's guesses": FaceFilter(
                statuses=STATUSES, label="happy", model_id=model.id
            ),
            "grid page: ... most suspect first": FaceFilter(
                statuses=STATUSES, label="happy", sort="suspect", model_id=model.id
            ),
            "grid page: ... most likely rejected first": FaceFilter(
                statuses=STATUSES, label="happy", sort="likely_rejected", model_id=model.id
            ),
            "grid page: all faces, most suspect first": FaceFilter(
                statuses=STATUSES, sort="suspect", model_id=model.id
            ),
        }
        figures = {}
        for name, flt in pages.items():
            rng = random.Random(2)
            times = timed(lambda flt=flt, rng=rng: face_page(conn, flt, rng.randrange(40)), 20)
            figures.update([report(name, times, 300)])

        for subset in ("pending", "suspects"):
            state = q.start(conn, q.QueueFilter(subset), "bench")

            def key_press():
                nonlocal state
                state = q.label(conn, state, "bench", random.choice(LABELS))
                state.card(conn)
                q.remaining(conn, state.filter, "bench")

            name = f"queue key press, {subset} subset"
            figures.update([report(name, timed(key_press, args.repeat), 100)])
        times = timed(lambda: model_age(cat), args.repeat)
        figures.update([report("stale-banner check (events since training)", times, 100)])
        base = figures["grid page: happy, all statuses, by quality, no model"]
        for name in list(pages)[1:4]:
            print(f"{name}: {figures[name] / base:.2f}x the page without a model (p95)")
        ratio = (
            figures["queue key press, suspects subset"] / figures["queue key press, pending subset"]
        )
        print(f"suspects key press: {ratio:.2f}x a pending key press (p95)")
        print(f"median of all figures: {statistics.median(figures.values()):.1f} ms")


if __name__ == "__main__":
    main()
