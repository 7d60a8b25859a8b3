"""Server time of the review app with 100,000 faces: label actions and grid pages.

Builds a synthetic dataset (faces with sizes, sharpness, poses, near-duplicate
pairs, source labels, some prior events from two annotators), then measures:

* per label action: one key press in the label queue (the event, the next face,
  the count left, the card), one "reject marked" of 3 faces, one "accept the rest"
  of a 48-face page;
* per grid page: the page query and count (several filters) plus the cached
  thumbnails of its 48 chips;
* whole-page server runs through Streamlit's AppTest (script run of the review
  page, and of a queue key press).

Run: ``.venv/bin/python benchmarks/bench_review.py [--faces 100000]``.
Targets: p95 <= 100 ms per action, <= 300 ms per page.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from catalog import Catalog
from catalog.db import transaction, utc_now
from catalog.events import refresh_face_states
from core.storage import store_content
from curation_ui import actions
from curation_ui import queue as q
from curation_ui.components.queue.testing import press
from curation_ui.queries import STATUSES, FaceFilter, face_page
from curation_ui.thumbs import thumbnail

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def chips(cat: Catalog, n: int = 64) -> list[str]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        im = Image.new("RGB", (256, 256), tuple(rng.randrange(256) for _ in range(3)))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        out.append(store_content(cat.paths.dir, "chips", buf.getvalue() + bytes([i]), "png")[1])
    return out


def build(cat: Catalog, n_faces: int) -> None:
    rng = random.Random(0)
    chip_paths = chips(cat)
    now = utc_now()
    conn = cat.conn
    with transaction(conn):
        images, sources, faces, states = [], [], [], []
        for i in range(1, n_faces + 1):
            label = None if i % 10 == 0 else LABELS[i % 7]
            sha = f"{i:064x}"
            images.append((i, sha, f"images/{sha[:2]}/{sha}.jpg", 640, 480, "JPEG", 1000, now))
            sources.append((i, "import", "bench", f"{i}.jpg", label, now))
            dup = i - 1 if i % 20 == 0 else i  # every 20th face duplicates its predecessor
            faces.append(
                (
                    i,
                    i,
                    0,
                    10,
                    10,
                    110,
                    110,
                    "hog",
                    chip_paths[i % len(chip_paths)],
                    rng.uniform(30, 300),
                    rng.uniform(5, 900),
                    rng.uniform(-50, 50),
                    rng.uniform(-30, 30),
                    rng.uniform(-20, 20),
                    dup,
                    now,
                )
            )
            states.append((i, "pending", label, "source" if label else "none"))
        conn.executemany(
            "INSERT INTO images (id, sha256, path, width, height, format, bytes, created_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            images,
        )
        conn.executemany(
            "INSERT INTO image_sources (image_id, kind, source_name, import_path, source_label, "
            "added_at) VALUES (?,?,?,?,?,?)",
            sources,
        )
        conn.executemany(
            "INSERT INTO faces (id, image_id, face_index, box_left, box_top, box_right, "
            "box_bottom, detector, chip_path, size_px, sharpness, yaw, pitch, roll, dup_group, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            faces,
        )
        conn.executemany(
            "INSERT INTO face_state (face_id, status, label, label_origin) VALUES (?,?,?,?)",
            states,
        )
        # Prior work: two annotators decided 30% of the faces (some disagreeing, some undone).
        decided = rng.sample(range(1, n_faces + 1), n_faces * 3 // 10)
        events = []
        for fid in decided:
            who = "ann" if fid % 2 else "bo"
            if fid % 11 == 0:
                events.append((fid, who, "reject", None, "not_a_face", now))
            else:
                events.append((fid, who, "label", LABELS[fid % 5], None, now))
            if fid % 13 == 0:
                events.append((fid, "cy", "label", LABELS[(fid + 1) % 7], None, now))
        conn.executemany(
            "INSERT INTO label_events (face_id, annotator, action, label, reason, created_at) "
            "VALUES (?,?,?,?,?,?)",
            events,
        )
        refresh_face_states(conn, sorted(set(decided)))
    for path in chip_paths:
        thumbnail(cat, path)  # made once; every later page reads the cache


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18] if len(xs) >= 20 else max(xs)


def report(name: str, xs: list[float], target: float) -> tuple[str, float]:
    line = (
        f"{name:<52} p50 {statistics.median(xs):7.1f} ms   p95 {p95(xs):7.1f} ms   "
        f"(target p95 <= {target:.0f} ms: {'ok' if p95(xs) <= target else 'MISSED'})"
    )
    print(line, flush=True)
    return name, p95(xs)


def drop_review_indexes(cat: Catalog) -> list[str]:
    """Drop the indexes migration 2 added; return the statements that recreate them."""
    rows = cat.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE name IN "
        "('label_events_undoes', 'face_state_disputed')"
    ).fetchall()
    for name, _ in rows:
        cat.conn.execute(f"DROP INDEX {name}")
    return [sql for _, sql in rows]


def bench_queue(conn, annotator: str, repeat: int, prefix: str = "") -> dict[str, float]:
    """The label queue's actions: a key press, an undo, a key press among disputed faces."""
    figures = {}
    state = q.start(conn, q.QueueFilter("pending"), annotator)

    def key_press():
        nonlocal state
        state = q.label(conn, state, annotator, random.choice(LABELS))
        state.card(conn)
        q.remaining(conn, state.filter, annotator)

    name = prefix + "queue key press (label, next, count, card)"
    figures.update([report(name, timed(key_press, repeat), 100)])

    def undo_press():
        nonlocal state
        state = q.undo(conn, state, annotator)
        state.card(conn)
        q.remaining(conn, state.filter, annotator)

    figures.update([report(prefix + "queue undo (z)", timed(undo_press, min(repeat, 50)), 100)])
    dstate = q.start(conn, q.QueueFilter("disputed"), annotator)

    def disputed_press():
        nonlocal dstate
        dstate = q.label(conn, dstate, annotator, "happy")
        q.remaining(conn, dstate.filter, annotator)

    name = prefix + "queue key press, disputed subset"
    figures.update([report(name, timed(disputed_press, repeat), 100)])
    return figures


def bench_functions(cat: Catalog, repeat: int) -> dict[str, float]:
    conn = cat.conn
    figures = bench_queue(conn, "bench", repeat)

    pages = {"p": 0}

    def reject_marked():
        page = face_page(conn, FaceFilter(label="sad"), pages["p"])
        actions.reject(conn, [c.id for c in page.cards[:3]], "bench", "drawing")

    figures.update([report("reject 3 marked (+ page query)", timed(reject_marked, repeat), 100)])

    def accept_rest():
        page = face_page(conn, FaceFilter(label="fear"), 0)
        actions.accept_rest(conn, [c.id for c in page.cards], "bench")

    figures.update([report("accept the rest of a 48-face page", timed(accept_rest, 20), 100)])

    filters = {
        "grid page: one emotion, pending, by quality": FaceFilter(label="happy"),
        "grid page: all faces, all statuses, by quality": FaceFilter(statuses=STATUSES),
        "grid page: one emotion, duplicates collapsed": FaceFilter(
            label="happy", collapse_duplicates=True
        ),
        "grid page: all pending, collapsed, thresholds": FaceFilter(
            collapse_duplicates=True, min_size=80, min_sharpness=100, max_yaw=30
        ),
        "grid page: disputed only": FaceFilter(statuses=STATUSES, disputed_only=True),
    }
    for name, flt in filters.items():
        rng = random.Random(2)

        def one_page(flt=flt, rng=rng):
            page = face_page(conn, flt, rng.randrange(0, 40))
            for card in page.cards:
                thumbnail(cat, card.chip_path)

        figures.update([report(name + " (+48 thumbs)", timed(one_page, repeat), 300)])
    return figures


def bench_apptest(cat: Catalog, repeat: int) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    os.environ["FACESIFT_ROOT"] = str(cat.paths.root)
    os.environ["FACESIFT_DATASET"] = cat.paths.name

    def script(name):
        from curation_ui.app import run_page

        run_page(name)

    figures = {}
    at = AppTest.from_function(script, kwargs={"name": "review"}, default_timeout=120)
    at.session_state["annotator"] = "bench"
    at.run()
    at.selectbox(key="rv_label").select("happy").run()
    xs = []
    for i in range(repeat):
        nxt = at.button(key="rv_next")
        t = time.perf_counter()
        nxt.click().run()
        xs.append((time.perf_counter() - t) * 1000)
        if i % 10 == 9:
            at.button(key="rv_prev").click().run()
    figures.update([report("AppTest: review page run, next page (48 chips)", xs, 300)])
    at = AppTest.from_function(script, kwargs={"name": "queue"}, default_timeout=120)
    at.session_state["annotator"] = "bench"
    at.run()
    at.selectbox(key="q_subset").select("pending").run()
    xs = []
    for i in range(repeat):
        t = time.perf_counter()
        press(at, "label", LABELS[i % 7])  # the queue component's message for one key
        xs.append((time.perf_counter() - t) * 1000)
    figures.update([report("AppTest: queue page run, one key press", xs, 100)])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=60)
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="facesift-bench-") as tmp,
        Catalog.open(tmp, "bench") as cat,
    ):
        t = time.perf_counter()
        build(cat, args.faces)
        n = cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        e = cat.conn.execute("SELECT COUNT(*) FROM label_events").fetchone()[0]
        print(f"built {n} faces, {e} prior events in {time.perf_counter() - t:.1f} s")
        print("-- queue actions without the review indexes (schema v1), for comparison --")
        v2 = drop_review_indexes(cat)
        bench_queue(cat.conn, "v1", 20, prefix="  v1: ")
        for sql in v2:
            cat.conn.execute(sql)
        print("-- plain functions (what one rerun of a fragment executes) --")
        bench_functions(cat, args.repeat)
        print("-- whole page runs through AppTest (script + widgets + thumbnails) --")
        bench_apptest(cat, max(20, args.repeat // 2))


if __name__ == "__main__":
    main()
