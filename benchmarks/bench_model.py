"""The dataset model on FER2013's 3,589 private-test faces: training cost, figures, label-error
finding and predict throughput.

1. Import ``../shared/testdata/fer2013_privatetest`` with its folder labels as face
   crops (``import --labels-from folders --whole-image``, which also extracts), or
   reuse a dataset imported that way before (``--reuse ROOT/NAME``).
2. ``model train --include-pending`` (the imported labels are pending: nobody
   reviewed them) in a child process: wall time, CPU time and peak RSS; the
   cross-validated accuracy and macro-F1.
3. Label-error finding: a copy of the dataset in which a seeded random 10% of the
   faces are relabelled (an annotator's label event) to another class; train,
   ``model suspects --json``; the share of flipped faces among the first 10% of
   suspects (precision), and how much of the set one inspects, in suspect order
   and in a random order, to find 80% of the flipped faces.
4. ``predict`` over the 40 shared photos (many faces, real sizes): faces per second.

Run: ``.venv/bin/python benchmarks/bench_model.py [--reuse /tmp/root/fer]``.
Targets: training under 60 s on 2 cores; precision >= 0.4; 80% of the flips
within the first 30% of the set.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog import Catalog  # noqa: E402
from catalog.events import record  # noqa: E402

FER = REPO.parent / "shared" / "testdata" / "fer2013_privatetest"
PHOTOS = REPO.parent / "shared" / "testdata" / "faces"
FLIP_SHARE = 0.10
RECALL = 0.80


_CHILD = (
    "import resource, sys; sys.path.insert(0, sys.argv.pop(1)); import pipeline; "
    "rc = pipeline.main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def facesift(root: Path, name: str, *args: str) -> tuple[str, float, float, float]:
    """Run ``facesift ARGS`` in a child; its stdout, wall s, CPU s and its own peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), "--root", str(root), "--dataset", name, *args],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"facesift {' '.join(args)} failed: {proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    return proc.stdout, wall, cpu, peak_kb / 1024


def imported(work: Path, reuse: str | None) -> tuple[Path, str]:
    """A dataset holding the FER2013 faces with their labels (imported now or reused)."""
    if reuse:
        path = Path(reuse)
        return path.parent, path.name
    out, wall, _, _ = facesift(
        work, "fer", "import", str(FER), "--labels-from", "folders", "--whole-image"
    )
    print(f"import + extract: {wall:.1f} s")
    print("  " + out.strip().replace("\n", "\n  "))
    return work, "fer"


def flip_labels(root: Path, name: str, seed: int) -> set[int]:
    """Relabel a seeded random FLIP_SHARE of the labelled faces to another class."""
    with Catalog.open(root, name, create=False) as cat:
        rows = cat.conn.execute(
            "SELECT face_id, label FROM face_state WHERE label IS NOT NULL "
            "AND status IN ('pending', 'accepted') ORDER BY face_id"
        ).fetchall()
        rng = random.Random(seed)
        chosen = rng.sample(rows, round(FLIP_SHARE * len(rows)))
        for face_id, label in chosen:
            other = rng.choice([n for n in cat.labels.names if n != label])
            record(cat.conn, face_id, "bench-flipper", "label", label=other)
    return {r[0] for r in chosen}


def inspected_share(order: list[int], flipped: set[int], recall: float) -> float:
    """The share of ``order`` one reads, from the top, to meet ``recall`` of the flipped faces."""
    need = recall * len(flipped)
    found = 0
    for i, face_id in enumerate(order, 1):
        found += face_id in flipped
        if found >= need:
            return i / len(order)
    return 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reuse", help="a dataset already imported from FER2013 (ROOT/NAME)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not args.reuse and not FER.is_dir():
        raise SystemExit(f"{FER} is missing")
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        work = Path(tmp)
        root, name = imported(work, args.reuse)
        with Catalog.open(root, name, create=False) as cat:
            images = cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            faces = cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        print(f"dataset: {images} images, {faces} faces ({faces / max(images, 1):.1%} coverage)")

        # A copy, so that the clean model does not touch a reused dataset's history.
        clean = work / "clean"
        shutil.copytree(root / name, clean / name)
        out, wall, cpu, rss = facesift(clean, name, "model", "train", "--include-pending")
        print(f"\ntrain (clean labels): wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:.0f} MB")
        print("  " + out.strip().replace("\n", "\n  "))
        stats = json.loads(facesift(clean, name, "stats", "--json")[0])["model"]
        print(f"  CV accuracy {stats['accuracy']:.3f}, macro-F1 {stats['macro_f1']:.3f}")

        noisy = work / "noisy"
        shutil.copytree(root / name, noisy / name)
        flipped = flip_labels(noisy, name, args.seed)
        out, wall, cpu, _ = facesift(noisy, name, "model", "train", "--include-pending")
        print(f"\ntrain ({len(flipped)} labels flipped): wall {wall:.1f} s, CPU {cpu:.1f} s")
        print("  " + out.strip().splitlines()[0])
        suspects = json.loads(facesift(noisy, name, "model", "suspects", "--json")[0])
        order = [s["face_id"] for s in suspects]
        first = order[: round(FLIP_SHARE * len(order))]
        precision = sum(f in flipped for f in first) / max(len(first), 1)
        share = inspected_share(order, flipped, RECALL)
        shuffled = order[:]
        random.Random(args.seed + 1).shuffle(shuffled)
        share_random = inspected_share(shuffled, flipped, RECALL)
        print(
            f"  precision among the first {len(first)} suspects: {precision:.3f} "
            f"(chance {len(flipped) / len(order):.3f}; target >= 0.4)"
        )
        print(
            f"  inspected to find {RECALL:.0%} of the flips: suspect order {share:.1%}, "
            f"random order {share_random:.1%} (ratio {share / share_random:.2f}; "
            "target <= 30%)"
        )

        if PHOTOS.is_dir():
            out, wall, cpu, _ = facesift(clean, name, "predict", str(PHOTOS), "--json")
            files = [f for f in json.loads(out) if "error" not in f]  # not SOURCES.md etc.
            n = sum(len(f["faces"]) for f in files)
            print(
                f"\npredict on {len(files)} photos: {n} faces in {wall:.1f} s wall "
                f"({n / wall:.1f} faces/s, {len(files) / wall:.2f} images/s; CPU {cpu:.1f} s, "
                "model and dlib loading included)"
            )


if __name__ == "__main__":
    main()
