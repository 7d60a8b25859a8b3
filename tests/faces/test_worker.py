"""The worker's own helpers: the landmarks' stored text, and when memory is handed back."""

from __future__ import annotations

import numpy as np

from faces import worker


def test_landmarks_text_rounds_halves_to_even_as_python_does():
    rng = np.random.default_rng(3)
    points = np.round(rng.normal(0, 300, (68, 2)) * 2) / 2  # many exact halves, some negative
    points[:4] = [[0.5, -0.5], [1.5, -1.5], [2.5, 1e-9], [-2.5, 99.49]]
    expected = "[" + ",".join(f"[{round(x)},{round(y)}]" for x, y in points.tolist()) + "]"
    assert worker._landmarks_json(points) == expected
    assert worker._landmarks_json(points[:2]) == "[[0,0],[2,-2]]"


def test_memory_is_trimmed_only_once_it_has_grown(monkeypatch):
    trims: list[int] = []
    resident = iter([100, 100 + worker.TRIM_GROWTH - 1, 100 + worker.TRIM_GROWTH, 90, 95])
    monkeypatch.setattr(worker, "_malloc_trim", lambda pad: trims.append(pad))
    monkeypatch.setattr(worker, "_resident_bytes", lambda: next(resident))
    monkeypatch.setattr(worker, "_trimmed_at", 100)
    worker._release_memory()  # 100: no growth since the last trim
    worker._release_memory()  # just under the growth that pays a trim
    assert trims == []
    worker._release_memory()  # grown by TRIM_GROWTH: trimmed, and 90 is the new mark
    assert trims == [0] and worker._trimmed_at == 90
    worker._release_memory()  # 95
    assert trims == [0]


def test_memory_is_trimmed_where_resident_size_is_unknown(monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr(worker, "_malloc_trim", lambda pad: trims.append(pad))
    monkeypatch.setattr(worker, "_resident_bytes", lambda: None)
    worker._release_memory()
    assert trims == [0]


def _tasks(photos, tmp_path) -> list[worker.ImageTask]:
    """Photos with faces and without, an unreadable file and a missing one, interleaved."""
    files = [p.path for p in photos[:6]]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    files[1:1] = [broken]
    files[4:4] = [tmp_path / "gone.jpg"]
    return [worker.ImageTask(i, str(f)) for i, f in enumerate(files, 1)]


def _outcome(r: worker.ImageResult) -> tuple:
    return r.image_id, r.status, r.reason, r.faces, r.chips


def test_a_batch_gives_what_its_images_give_one_by_one(models, photos, tmp_path, monkeypatch):
    """A batch locates every image first and measures their faces after: the same outcomes
    (faces, chips, errors) in the same order as each image processed alone, also where the
    held pixels' bound has the faces measured part way."""
    tasks = _tasks(photos, tmp_path)
    config = worker.WorkerConfig()
    alone = [_outcome(worker.process_image(models, config, t)) for t in tasks]
    assert {s for _, s, *_ in alone} >= {"done", "error"}
    assert sum(len(f) for *_, f, _ in alone) >= 2
    measured: list[int] = []
    real = worker.measure
    monkeypatch.setattr(
        worker, "measure", lambda m, c, loc: measured.append(loc[0].image_id) or real(m, c, loc)
    )
    assert [_outcome(r) for r in worker.process_batch((models, config), tasks)] == alone
    done = [t.image_id for t, (_, s, *_) in zip(tasks, alone, strict=True) if s == "done"]
    assert measured == done
    # Held pixels over the bound: each image is measured before the next is located.
    order: list[str] = []
    real_locate = worker.locate
    monkeypatch.setattr(
        worker, "locate", lambda m, c, t: order.append(f"l{t.image_id}") or real_locate(m, c, t)
    )
    monkeypatch.setattr(
        worker, "measure", lambda m, c, loc: order.append(f"m{loc[0].image_id}") or real(m, c, loc)
    )
    monkeypatch.setattr(worker, "HELD_BYTES", 1)
    assert [_outcome(r) for r in worker.process_batch((models, config), tasks)] == alone
    first = done[0]
    assert order.index(f"m{first}") == order.index(f"l{first}") + 1
