"""Export speed: faces per second per format, and what the grouping costs, side by side.

Builds a throw-away catalog of N faces with real-pixel 256 px chips (crops of
scikit-image's astronaut photo, jittered so each is distinct), then times
``prepare`` (select, group, split) with and without --identity-disjoint, a
full export in each format, and one export rendered by 1 and by 2 processes.
Prints figures and ratios; asserts nothing.

    .venv/bin/python benchmarks/export_speed.py [N]
"""

from __future__ import annotations

import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog import Catalog
from catalog.events import record
from catalog.faces import insert_face
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.storage import store_content
from exporter.options import ExportOptions
from exporter.stage import export, prepare
from faces.neardup import phash

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def build(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(data.astronaut())
    people = rng.normal(size=(max(1, n // 8), 128))
    people *= 0.5 / np.linalg.norm(people, axis=1, keepdims=True)
    with Catalog.open(root, "bench") as cat:
        for i in range(n):
            x, y = rng.integers(0, 250, size=2)
            side = int(rng.integers(150, 260))
            crop = photo.crop((x, y, x + side, y + side)).resize((256, 256))
            arr = np.asarray(crop, dtype=np.int16) + rng.integers(-20, 20, size=(1, 1, 3))
            chip = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
            buf = io.BytesIO()
            chip.save(buf, format="PNG")
            png = buf.getvalue()
            sha, rel = store_content(cat.paths.dir, "images", b"%d" % i + png, "png")
            image_id, _ = add_image(cat.conn, StoredImage(sha, rel, 256, 256, "PNG", len(png)))
            label = LABELS[i % len(LABELS)]
            add_source(
                cat.conn,
                image_id,
                ImageSource(
                    "import", source_name="bench", import_path=f"{i}.png", source_label=label
                ),
            )
            _, chip_rel = store_content(cat.paths.dir, "chips", png, "png")
            person = people[i % len(people)]
            noise = rng.normal(size=128)
            emb = (person + noise * 0.08 / np.linalg.norm(noise)).astype("<f4").tobytes()
            fid = insert_face(
                cat.conn,
                image_id,
                0,
                (0, 0, 256, 256),
                "hog",
                chip_path=chip_rel,
                phash=phash(chip),
                embedding=emb,
                size_px=200.0,
                sharpness=100.0,
                yaw=0.0,
            )
            cat.conn.execute("UPDATE faces SET dup_group = ? WHERE id = ?", (fid, fid))
            record(cat.conn, fid, "bench", "label", label=label)


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "datasets"
        t_build, _ = timed(lambda: build(root, n))
        print(f"catalog of {n} faces built in {t_build:.1f} s")
        with Catalog.open(root, "bench") as cat:
            t_prep, _ = timed(lambda: prepare(cat, ExportOptions(out=Path(tmp) / "p")))
            t_prep_id, _ = timed(
                lambda: prepare(cat, ExportOptions(out=Path(tmp) / "p", identity_disjoint=True))
            )
            print(
                f"prepare (select, group, split): {t_prep:.2f} s; "
                f"with --identity-disjoint {t_prep_id:.2f} s (x{t_prep_id / t_prep:.2f})"
            )
            base = None
            for fmt, size, color in (
                ("fer2013-csv", 48, False),
                ("imagefolder", 48, False),
                ("hf", 48, False),
                ("imagefolder", 224, True),
                ("hf", 224, True),
            ):
                out = Path(tmp) / f"{fmt}-{size}"
                t, r = timed(
                    lambda out=out, fmt=fmt, size=size, color=color: export(
                        cat, ExportOptions(out=out, format=fmt, size=size, color=color)
                    )
                )
                mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
                base = base or t
                print(
                    f"{fmt:12s} {size:4d} px {'colour' if color else 'gray  '}: "
                    f"{t:6.2f} s  {r.total / t:7.0f} faces/s  {mb:7.1f} MB  "
                    f"(x{t / base:.2f} of fer2013-csv)"
                )
            t1, _ = timed(
                lambda: export(
                    cat,
                    ExportOptions(
                        out=Path(tmp) / "w1", format="imagefolder", size=224, color=True, workers=1
                    ),
                )
            )
            t2, _ = timed(
                lambda: export(
                    cat,
                    ExportOptions(
                        out=Path(tmp) / "w2", format="imagefolder", size=224, color=True, workers=2
                    ),
                )
            )
            print(
                f"imagefolder 224 px colour, 1 process {t1:.2f} s, 2 processes {t2:.2f} s "
                f"(x{t1 / t2:.2f} faster; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
