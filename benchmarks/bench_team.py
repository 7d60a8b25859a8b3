"""Team labelling figures: password hashing, switching K, second-opinion key presses, stats.

Builds the same synthetic catalog as ``bench_review.py`` (faces with real chips,
30% already decided by two annotators), then measures, side by side:
scrypt hashing and a login check; ``set_labels_per_face`` (every face state
recomputed from its events); a key press in the second-opinion queue against one
in the pending queue; and the Stats page's second-opinion figures.

    .venv/bin/python benchmarks/bench_team.py --faces 100000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_review import LABELS, build, report, timed
from catalog import Catalog
from catalog import annotators as ann
from catalog.agreement import face_decisions
from catalog.events import set_labels_per_face
from curation_ui import accounts
from curation_ui import queue as q


def bench_passwords(repeat: int) -> None:
    stored = accounts.hash_password("a long enough password")
    report("scrypt hash (user add)", timed(lambda: accounts.hash_password("x" * 12), repeat), 500)
    report(
        "login check (verify)",
        timed(lambda: accounts.verify_password("a long enough password", stored), repeat),
        500,
    )


def bench_queue(conn, subset: str, who: str, repeat: int) -> float:
    state = q.start(conn, q.QueueFilter(subset), who)

    def key_press():
        nonlocal state
        state = q.label(conn, state, who, random.choice(LABELS))
        state.card(conn)
        q.remaining(conn, state.filter, who)

    return report(f"queue key press, {subset} subset", timed(key_press, repeat), 100)[1]


def bench_stats(conn, repeat: int) -> None:
    def figures():
        d = face_decisions(conn, 2, limit=20_000)
        ann.per_annotator(d, ann.decided_counts(conn))
        ann.fleiss_kappa_at(d, 2)
        ann.confusion(d, (*LABELS, "reject"))

    report("stats: second-opinion figures", timed(figures, repeat), 300)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()
    random.seed(0)
    print("-- passwords --")
    bench_passwords(10)
    with (
        tempfile.TemporaryDirectory(prefix="facesift-bench-") as tmp,
        Catalog.open(tmp, "bench") as cat,
    ):
        t = time.perf_counter()
        build(cat, args.faces)
        print(f"built {args.faces} faces in {time.perf_counter() - t:.1f} s")
        print("-- K = 1 (today's rules) --")
        one = bench_queue(cat.conn, "pending", "dee", args.repeat)
        t = time.perf_counter()
        set_labels_per_face(cat.conn, 2)
        took = time.perf_counter() - t
        print(f"set_labels_per_face(2): every face state rebuilt in {took:.1f} s")
        print("-- K = 2 --")
        two = bench_queue(cat.conn, "second", "eve", args.repeat)
        print(f"second-opinion / pending key press (p95): {two / one:.2f}x")
        bench_stats(cat.conn, max(5, args.repeat // 4))


if __name__ == "__main__":
    main()
