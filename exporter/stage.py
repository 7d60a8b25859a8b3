"""The export stage: select, group, split, render, write, check, rename into place.

Everything is written to a hidden temporary folder beside the output folder
and renamed into place at the end, so an interrupted export leaves no half
dataset. The export is then recorded in the catalog's ``exports`` table.

The faces are rendered on :mod:`core.executor` (here for small exports, else a local
process pool, or Dask with ``--scheduler``): this process reads each chip and sends its
bytes, a worker returns the encoded face, and this process writes every file, in the
export's order whatever finishes first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.dataset import Catalog
from catalog.exports import record_export
from core.contract import Progress, ProgressFn, StageSummary, report
from core.executor import Executor, Job, default_workers, map_in_order, open_executor
from core.processes import alive
from core.space import DiskFull, disk_full, is_no_space, tree_size
from exporter import baseline, card, groups, leakage, render
from exporter.options import (
    IDENTITY_DISTANCE,
    SPLITS,
    ExportError,
    ExportOptions,
    LabelPlan,
    plan_labels,
    with_indices,
)
from exporter.select import ExportFace, class_votes, select_faces, source_record, with_provenance
from exporter.splits import SourcePlacement, assign_splits, assign_with_sources
from exporter.writers import WRITERS, Item, Placed
from faces.defaults import CHIP_PADDING

MANIFEST = "manifest.json"
GENERATOR = "facesift"
_TMP_TAG = ".facesift-export-"
_OLD_TAG = ".facesift-old-"
PARALLEL_FROM = 200  # faces; smaller exports render in this process (by default)
MAX_DEFAULT_WORKERS = 8  # render processes at most, unless --workers asks for more
BATCH = 32  # faces per task sent to a worker


@dataclass
class ExportResult(StageSummary):
    """What an export wrote."""

    out: Path
    format: str
    labels: dict[str, int]  # exported class -> index in this format
    counts: dict[str, dict[str, int]]  # split -> label -> faces
    total: int
    left_out: dict[str, int]
    leakage: dict
    export_id: int
    files: list[str] = field(default_factory=list)
    baseline: dict | None = None  # baseline.json's record; None with --no-baseline

    @property
    def card(self) -> Path:
        """The dataset card (README.md) of the export."""
        return self.out / "README.md"

    def line(self) -> str:
        """One line: faces, where, format and faces per split."""
        splits = "  ".join(f"{s} {sum(c.values())}" for s, c in self.counts.items())
        return f"export: {self.total} faces to {self.out} ({self.format}): {splits}"

    def lines(self) -> list[str]:
        """The CLI's account: :meth:`line`, then classes, faces left out and the leakage check."""
        out = [self.line(), "  classes: " + ", ".join(f"{i} {n}" for n, i in self.labels.items())]
        if self.left_out:
            out.append("  left out: " + ", ".join(f"{k} {v}" for k, v in self.left_out.items()))
        leak = self.leakage
        text = f"  leakage: {leak['cross_split_pairs']} near-duplicate pairs across splits"
        if leak["fer2013_imported"]:
            text += (
                f"; {leak['exported_from_fer2013']} faces from FER2013, "
                f"{leak['exported_near_fer2013']} near-duplicates of FER2013 faces"
            )
        return [*out, text, *self._baseline_lines()]

    def _baseline_lines(self) -> list[str]:
        b = self.baseline
        if b is None:
            return []
        if b.get("skipped"):
            return [f"  baseline: none ({b['skipped']})"]
        return [
            f"  baseline: accuracy {b['accuracy']:.3f}, macro-F1 {b['macro_f1']:.3f} on "
            f"{b['test_faces']} test faces (baseline.json, confusion_matrix.png)"
        ]


@dataclass
class Prepared:
    """An export decided but not written: the faces, their splits and the label plan."""

    plan: LabelPlan
    faces: list[ExportFace]
    splits: list[str]
    identity: list[int] | None
    left_out: Counter
    curation: card.Curation
    placement: SourcePlacement | None = None  # how --split-from source placed the faces

    def counts(self) -> dict[str, dict[str, int]]:
        """Faces per split (only splits that get any) and label."""
        written = [s for s in SPLITS if s in set(self.splits)]
        out = {s: dict.fromkeys(self.plan.names, 0) for s in written}
        for f, s in zip(self.faces, self.splits, strict=True):
            out[s][f.label] += 1
        return out


def prepare(cat: Catalog, opts: ExportOptions) -> Prepared:
    """Select, group and split the faces as :func:`export` would, writing nothing.

    The review app shows this as a preview; it raises the same ExportErrors.
    """
    opts.validate()
    plan = with_indices(plan_labels(cat.labels, opts.map, opts.labels), opts.format)
    selection = select_faces(cat.conn, opts, plan)
    faces = []
    for f in selection.faces:
        if cat.paths.resolve(f.chip_path).is_file():
            faces.append(f)
        else:
            selection.left_out["chip file missing"] += 1
    if not faces:
        why = ", ".join(f"{r} {n}" for r, n in sorted(selection.left_out.items())) or "no faces"
        raise ExportError(f"nothing to export: no face passes ({why})")
    if opts.padding is not None:
        # Face crops' chips hold less (extract cuts them inside the image): they keep
        # their own; --padding refuses only when it would tighten no chip at all.
        loose = max(_padding_of(f) for f in faces)
        tight = min(_padding_of(f) for f in faces)
        if opts.padding > loose:
            raise ExportError(
                f"--padding {opts.padding:g} is wider than the chips' own padding "
                f"({loose:g}{'' if tight == loose else f' at most, {tight:g} at least'}): "
                "it can only tighten; re-run extract with a larger --padding for more"
            )
    faces = with_provenance(cat.conn, faces)
    units, identity = _units(faces, opts)
    labels = [f.label for f in faces]
    placement = None
    if opts.split_from == "source":
        words = [f.source_split for f in faces]
        placement = assign_with_sources(labels, units, words, opts.splits, opts.seed)
        splits = placement.splits
    else:
        splits = assign_splits(labels, units, opts.splits, opts.seed)
    # Read with the selection, so the card describes the catalog the faces came from.
    curation = card.gather(cat.conn)
    return Prepared(plan, faces, splits, identity, selection.left_out, curation, placement)


def export(
    cat: Catalog,
    opts: ExportOptions,
    *,
    on_progress: ProgressFn | None = None,
) -> ExportResult:
    """Write the export ``opts`` describes; return what was written.

    Raises ExportError (one line) for options or data it cannot export, and
    for a write that fails (nothing is left behind then). ``on_progress`` gets
    the faces written of those exported.
    """
    opts.validate()
    out = Path(opts.out).expanduser().absolute()
    _check_target(out, opts.overwrite, cat.paths.dir.absolute())
    prep = prepare(cat, opts)
    plan, faces, splits, identity = prep.plan, prep.faces, prep.splits, prep.identity

    order = sorted(range(len(faces)), key=lambda i: (SPLITS.index(splits[i]), faces[i].id))
    tmp = _temp_dir(out)

    def tick(done: int, total: int) -> None:
        report(on_progress, Progress("export", done, total, "face"))

    try:
        workers = _worker_count(opts.workers, len(faces), opts.scheduler)
        with open_executor(opts.scheduler, workers) as executor:
            items = _items(executor, cat, faces, splits, order, plan, opts, tick)
            placed = WRITERS[opts.format](tmp, items, plan)
        leak = leakage.check(
            cat.conn,
            [f.id for f in faces],
            splits,
            [f.phash for f in faces],
            [f.dup_group for f in faces],
            opts.near_dup_bits,
        )
        if leak.cross_split_pairs:
            raise ExportError(
                f"leakage check failed: {leak.cross_split_pairs} near-duplicate "
                "pairs across splits (a bug: please report it)"
            )
        written = [s for s in SPLITS if s in set(splits)]
        base = None
        if not opts.no_baseline:
            report(on_progress, Progress("baseline", 0, 1, "model", "train, choose C on val"))
            base = baseline.run_baseline(
                cat, [f.id for f in faces], [f.label for f in faces], splits, plan.names, opts.seed
            )
            baseline.write_baseline(tmp, base)
            report(on_progress, Progress("baseline", 1, 1, "model"))
        _write_text(
            tmp / "labels.txt",
            "".join(
                f"{plan.indices[n]} {n}\n"
                for n in sorted(plan.names, key=lambda n: plan.indices[n])
            ),
        )
        _write_text(
            tmp / "README.md",
            card.render_card(
                dataset=cat.paths.name,
                opts=opts,
                plan=plan,
                faces=faces,
                splits=splits,
                left_out=prep.left_out,
                curation=prep.curation,
                leakage=leak,
                identity_clusters=len(set(identity)) if identity else None,
                written_splits=written,
                baseline=None if base is None else base.record,
                placement=prep.placement,
            ),
        )
        manifest = _manifest(cat, opts, plan, faces, splits, identity, placed, leak, tmp)
        _write_text(tmp / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        _move_into_place(tmp, out)
    except OSError as e:
        if is_no_space(e):
            raise _disk_full(tmp, out, len(faces)) from e
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"export to {out} failed, nothing was written: {e}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    counts = prep.counts()
    result = ExportResult(
        out=out,
        format=opts.format,
        labels=dict(sorted(plan.indices.items(), key=lambda kv: kv[1])),
        counts=counts,
        total=len(faces),
        left_out=dict(sorted(prep.left_out.items())),
        leakage=leak.as_record(),
        export_id=0,
        files=[*(m["path"] for m in manifest["files"]), MANIFEST],
        baseline=None if base is None else base.record,
    )
    try:
        result.export_id = _record(cat, opts, out, result)
    except DiskFull:
        # Not recorded, so not kept: a rerun with room writes it again (no --overwrite).
        shutil.rmtree(out, ignore_errors=True)
        raise
    return result


def _disk_full(tmp: Path, out: Path, faces: int) -> DiskFull:
    """The full disk's one line, with an estimate of the whole export's size (what was
    written per file so far, for every face), once the half-written folder is removed."""
    used, files = tree_size(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    needed = max(used, used * faces // files) if files else None
    return disk_full(out.parent, needed, f"the export to {out}", about=True)


def _check_target(out: Path, overwrite: bool, dataset_dir: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if dataset_dir == out or dataset_dir.is_relative_to(out):
        raise ExportError(f"{out} holds the dataset itself; export somewhere else")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise ExportError(f"{out} exists and is not empty; use --overwrite to replace it")
    if not _is_export(out):
        raise ExportError(
            f"{out} is not a facesift export (no {MANIFEST} of ours); refusing to replace it"
        )


def _is_export(folder: Path) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text()).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def _temp_dir(out: Path) -> Path:
    """A fresh hidden folder beside ``out`` (same file system, so the rename is atomic)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale(out)
        tmp = out.parent / f".{out.name}{_TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as e:
        raise ExportError(f"cannot write beside {out}: {e}") from e
    return tmp


def _sweep_stale(out: Path) -> None:
    """Remove what killed exports to the same folder left (their process is gone)."""
    for p in out.parent.glob(f".{out.name}.facesift-*"):
        tag = p.name[len(out.name) + 1 :]
        pid_text = tag.split("-")[2] if tag.count("-") >= 3 else ""
        if pid_text.isdigit() and alive(int(pid_text)):
            continue
        shutil.rmtree(p, ignore_errors=True)


def _move_into_place(tmp: Path, out: Path) -> None:
    # Flush the files before the rename makes them the export: after a power
    # cut, DIR holds a whole export or the previous state, never short files.
    if hasattr(os, "sync"):
        os.sync()
    if out.is_dir() and any(out.iterdir()):
        old = out.parent / f".{out.name}{_OLD_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(old, out)  # put the previous export back
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(tmp, out)


def _units(faces: list[ExportFace], opts: ExportOptions) -> tuple[list[int], list[int] | None]:
    """Each face's unit (faces that must share a split) and identity cluster (or None).

    A unit joins near-duplicates and every face of one subject (a corpus's person:
    MMI, CK+, JAFFE), so that no person is in two splits.
    """
    pair_sets = [
        groups.same_key_pairs([f.dup_group for f in faces]),
        groups.hash_links([f.phash for f in faces], opts.near_dup_bits),
        groups.same_key_pairs([f.subject_key for f in faces]),
    ]
    identity = None
    if opts.identity_disjoint:
        missing = sum(1 for f in faces if not f.embedding)
        if missing:
            raise ExportError(
                f"--identity-disjoint needs face descriptors, but {missing} of {len(faces)} "
                "faces have none; run 'facesift extract --embeddings' first"
            )
        bad = [f.id for f in faces if len(f.embedding) != 128 * 4]
        if bad:
            raise ExportError(f"face {bad[0]} has a descriptor that is not 128 float32")
        id_pairs = groups.embedding_pairs([f.embedding for f in faces], IDENTITY_DISTANCE)
        comp = groups.components(len(faces), id_pairs)
        identity = [faces[c].id for c in comp]
        pair_sets.append(id_pairs)
    comp = groups.components(len(faces), *pair_sets)
    return [faces[c].id for c in comp], identity


def _items(
    executor: Executor,
    cat: Catalog,
    faces: list[ExportFace],
    splits: list[str],
    order: list[int],
    plan: LabelPlan,
    opts: ExportOptions,
    progress: Callable[[int, int], None],
) -> Iterator[Item]:
    """The faces in writing order, rendered by ``executor`` (at most a few batches in flight,
    each chip read here just before its batch is sent: bounded memory)."""
    settings = render.RenderSettings(opts.size, opts.color, raw=opts.format == "fer2013-csv")
    job = Job(render.encode_faces, config=settings)

    def tasks() -> Iterator[render.RenderTask]:
        for i in order:
            path = cat.paths.resolve(faces[i].chip_path)
            crop = render.crop_fraction(_padding_of(faces[i]), opts.padding)
            yield render.RenderTask(path.read_bytes(), crop, str(path))

    rendered = map_in_order(executor, job, tasks(), BATCH)
    for done, (i, (_, data)) in enumerate(zip(order, rendered, strict=True), 1):
        f = faces[i]
        yield Item(f, splits[i], plan.indices[f.label], data)
        progress(done, len(order))


def _worker_count(requested: int | None, n: int, scheduler: str | None) -> int:
    """Render processes for ``n`` faces; 0: render in this process.

    ``--workers`` or a ``--scheduler`` always get processes (no more than there are
    batches). Otherwise starting processes costs more than it saves on small exports,
    and this process keeps a core for writing and hashing (on 2 cores: no workers).
    """
    batches = max(1, -(-n // BATCH))
    if requested is not None or scheduler:
        return min(requested or default_workers(), batches)
    if n < PARALLEL_FROM:
        return 0
    workers = min(default_workers() - 1, MAX_DEFAULT_WORKERS, batches)
    return workers if workers > 1 else 0


def _padding_of(face: ExportFace) -> float:
    # A face stored without its padding had the default.
    return CHIP_PADDING if face.chip_padding is None else face.chip_padding


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _manifest(
    cat: Catalog,
    opts: ExportOptions,
    plan: LabelPlan,
    faces: list[ExportFace],
    splits: list[str],
    identity: list[int] | None,
    placed: list[Placed],
    leak: leakage.Leakage,
    root: Path,
) -> dict:
    where = {p.face_id: p for p in placed}
    records = []
    for i, f in enumerate(faces):
        p = where[f.id]
        rec = {
            "face_id": f.id,
            "split": splits[i],
            "label": f.label,
            "label_index": plan.indices[f.label],
            "catalog_label": f.catalog_label,
            "status": f.status,
            "path": p.path,
            "sha256": p.sha256,
            "sources": [source_record(s) for s in f.sources],
            "annotations": list(f.annotations),
            "votes": class_votes(f, plan),  # per class, in the order of "labels"
            "dup_group": f.dup_group,
            "quality": f.quality,
            **f.corpus_columns(),  # subject, source_split, frame_index, frame_how, values
        }
        if p.row is not None:
            rec["row"] = p.row
        if identity is not None:
            rec["identity"] = identity[i]
        records.append(rec)
    records.sort(key=lambda r: (SPLITS.index(r["split"]), r["face_id"]))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    options = opts.as_record()
    options.pop("out")  # where it was written is not part of what was written
    options.pop("overwrite")
    options.pop("workers")  # how fast, not what
    options.pop("scheduler")
    return {
        "generator": GENERATOR,
        "dataset": cat.paths.name,
        "format": opts.format,
        "options": options,
        "labels": [
            {"index": plan.indices[n], "name": n}
            for n in sorted(plan.names, key=lambda n: plan.indices[n])
        ],
        "label_map": dict(sorted(plan.mapping.items())),
        "index_scheme": plan.index_scheme,
        "sha256_of": "the PNG bytes of each face (fer2013-csv: its 48x48 gray pixel bytes)",
        "leakage": leak.as_record(),
        "files": [
            {"path": rel, "sha256": _sha256_file(root / rel), "bytes": (root / rel).stat().st_size}
            for rel in files
        ],
        "faces": records,
    }


def _record(cat: Catalog, opts: ExportOptions, out: Path, result: ExportResult) -> int:
    counts = {
        "total": result.total,
        "splits": result.counts,
        "left_out": result.left_out,
        "leakage": result.leakage,
    }
    return record_export(cat.conn, opts.format, str(out), opts.as_record(), counts)
