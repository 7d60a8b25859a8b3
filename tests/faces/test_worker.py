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
