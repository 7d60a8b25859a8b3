"""Two processes writing to one catalog at once lose nothing."""

import multiprocessing as mp

from catalog import Catalog
from catalog.events import face_events, face_state, record

EVENTS_PER_WRITER = 150


def _writer(root: str, annotator: str, face_ids: list[int], start, done) -> None:
    with Catalog.open(root, "shared") as cat:
        start.wait()
        for i in range(EVENTS_PER_WRITER):
            face = face_ids[i % len(face_ids)]
            record(cat.conn, face, annotator, "label", label=("happy", "sad")[i % 2])
    done.put(annotator)


def test_two_processes_writing_at_once_lose_nothing(data_root, make_face):
    with Catalog.open(data_root, "shared") as cat:
        faces = [make_face(cat, "happy") for _ in range(5)]
    ctx = mp.get_context("spawn")
    start, done = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(str(data_root), name, faces, start, done))
        for name in ("alice", "bob")
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert sorted(done.get(timeout=5) for _ in procs) == ["alice", "bob"]
    with Catalog.open(data_root, "shared") as cat:
        total = cat.conn.execute("SELECT COUNT(*) FROM label_events").fetchone()[0]
        assert total == 2 * EVENTS_PER_WRITER
        for face in faces:
            by = {e.annotator for e in face_events(cat.conn, face)}
            assert by == {"alice", "bob"}
            # Both wrote the same label sequence per face, so they agree at the end.
            assert face_state(cat.conn, face).annotators == 2
