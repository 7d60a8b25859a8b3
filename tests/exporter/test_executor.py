"""The export renders on core.executor: inline when small, a local pool, or Dask; same bytes.

The driver reads each chip and sends its bytes (a worker needs no disk of the dataset's),
and writes every file in the export's order whatever finishes first.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image

import exporter.stage
import pipeline
from exporter import render
from exporter.options import ExportError, ExportOptions
from exporter.stage import BATCH, PARALLEL_FROM, _worker_count, export

FACES = 70  # three batches of BATCH: two workers each get work


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def engines(monkeypatch) -> list[tuple[str, int | None, int]]:
    """Each export's executor as it ran: (name, workers asked of open_executor, its workers)."""
    seen: list[tuple[str, int | None, int]] = []
    real = exporter.stage.open_executor

    @contextlib.contextmanager
    def spying(scheduler=None, workers=None, **kw):
        with real(scheduler, workers, **kw) as ex:
            seen.append((ex.name, workers, ex.workers))
            yield ex

    monkeypatch.setattr(exporter.stage, "open_executor", spying)
    return seen


@pytest.fixture
def faces(builder):
    b = builder()
    for i in range(FACES):
        b.face(("happy", "sad", "fear")[i % 3])
    return b


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["imagefolder", "hf"])
def test_inline_local_pool_and_dask_write_the_same_bytes(faces, tmp_path, engines, fmt):
    pytest.importorskip("distributed", reason="the cluster extra is not installed")
    assert BATCH < FACES < PARALLEL_FROM
    opts = {"format": fmt, "padding": 0.3, "no_baseline": True}
    inline = export(faces.cat, ExportOptions(out=tmp_path / "inline", **opts))
    pool = export(faces.cat, ExportOptions(out=tmp_path / "pool", workers=2, **opts))
    dask = export(
        faces.cat, ExportOptions(out=tmp_path / "dask", workers=2, scheduler="local", **opts)
    )
    assert engines == [("inline", 0, 1), ("local", 2, 2), ("dask", 2, 2)]
    assert _tree(inline.out) == _tree(pool.out) == _tree(dask.out)
    assert dask.total == FACES


def test_a_small_export_renders_in_this_process(faces, tmp_path, engines, monkeypatch):
    monkeypatch.setattr(exporter.stage, "default_workers", lambda: 16)  # many cores: still none
    export(faces.cat, ExportOptions(out=tmp_path / "a", format="hf", no_baseline=True))
    assert engines == [("inline", 0, 1)]


@pytest.mark.parametrize(
    ("cores", "requested", "scheduler", "faces", "expected"),
    [
        (2, None, None, PARALLEL_FROM - 1, 0),  # small: here
        (16, None, None, PARALLEL_FROM - 1, 0),
        (2, None, None, 1000, 0),  # large, 2 cores: 1 worker is none (this process writes)
        (1, None, None, 1000, 0),
        (4, None, None, 1000, 3),  # large: cores - 1
        (64, None, None, 10_000, 8),  # at most 8 by default
        (4, 2, None, 10, 1),  # --workers: processes, no more than there are batches
        (4, 3, None, 1000, 3),
        (4, 12, None, 10_000, 12),
        (4, None, "local", 10, 1),  # --scheduler: always the executor
        (4, None, "local", 1000, 4),
    ],
)
def test_worker_count(monkeypatch, cores, requested, scheduler, faces, expected):
    monkeypatch.setattr(exporter.stage, "default_workers", lambda: cores)
    assert _worker_count(requested, faces, scheduler) == expected


def test_workers_is_a_bounded_flag(faces, tmp_path, engines, capsys):
    root = str(faces.cat.paths.root)

    def cli(*flags: str) -> int:
        return pipeline.main(["--root", root, "--dataset", "test", "export", *flags])

    out = tmp_path / "two"
    assert cli("--out", str(out), "--format", "hf", "--no-baseline", "--workers", "2") == 0
    assert engines == [("local", 2, 2)]
    capsys.readouterr()
    assert cli("--out", str(tmp_path / "zero"), "--format", "hf", "--workers", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers" in err
    assert not (tmp_path / "zero").exists()
    assert len(engines) == 1


def test_a_render_task_carries_the_chip_not_its_path(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(buf, format="PNG")
    settings = render.RenderSettings(size=32, color=False, raw=False)
    task = render.RenderTask(buf.getvalue(), 1.0, str(tmp_path / "never-written.png"))
    [png] = render.encode_faces(settings, [task])
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (32, 32) and im.mode == "L"
    assert "chip=" not in repr(task)  # a crash report names the file, not its bytes


def test_a_broken_chip_in_a_worker_is_one_error_naming_it(faces, tmp_path):
    rel = faces.cat.conn.execute("SELECT chip_path FROM faces ORDER BY id DESC").fetchone()[0]
    path = faces.cat.paths.resolve(rel)
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "x"
    with pytest.raises(ExportError, match=re.escape(f"cannot read face chip {path}:")):
        export(faces.cat, ExportOptions(out=out, format="hf", workers=2, no_baseline=True))
    assert list(tmp_path.iterdir()) == [tmp_path / "datasets"]
