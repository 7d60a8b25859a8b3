"""facesift's command line: wires the stages together.

``python pipeline.py ARGS`` and the ``facesift ARGS`` console script are the
same program. Each command is a thin layer over a stage function; the stages
stay usable on their own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from catalog import Catalog, FacesiftError, LabelSet
from catalog.dataset import DEFAULT_DATASET, DEFAULT_ROOT
from catalog.report import format_table
from catalog.stats import EmotionCounts, by_emotion, summary

COMMANDS = ("init", "scrape", "extract", "import", "review", "export", "stats", "run")


# --- parsing: every bad value is a one-line error, exit status 2 ----------------


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"facesift: error: {message} (see `{self.prog} --help`)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        argv = sys.argv[1:] if args is None else list(args)
        for token in argv:
            if token == "--":
                break
            # argparse drops "--" even from "--flag=--" and then takes the default
            # (or an empty list): a value the user did not mean.
            if token.startswith("--") and token.endswith("=--"):
                self.error(f"argument {token[:-3]}: expected a value, not '--'")
        return super().parse_known_args(argv, namespace)


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0")
    return value


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535."""
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An integer type restricted to [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def split_fractions(text: str) -> tuple[float, float, float]:
    """``train,val,test`` fractions that are >= 0 and sum to 1."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give three numbers like 0.8,0.1,0.1") from None
    if len(parts) != 3 or any(not 0 <= p <= 1 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(f"{text!r}: give three fractions >= 0 that sum to 1")
    return parts  # type: ignore[return-value]


# --- commands ------------------------------------------------------------------


def open_catalog(args: argparse.Namespace) -> Catalog:
    """The dataset named on the command line, created with the default labels if new."""
    return Catalog.open(args.root, args.dataset)


def cmd_init(args: argparse.Namespace) -> int:
    """Create a dataset (optionally with its own label set) or check an existing one."""
    labels = LabelSet.parse(args.labels) if args.labels else None
    with Catalog.open(args.root, args.dataset, labels=labels) as cat:
        print(f"dataset {cat.paths.name} at {cat.paths.dir}: labels {','.join(cat.labels.names)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a folder, zip, FER2013-style CSV or video, then extract the new images' faces."""
    from importer.stage import import_path
    from importer.video import VideoOptions

    with open_catalog(args) as cat:
        s = import_path(
            cat,
            args.path,
            label=args.label,
            labels_from=args.labels_from,
            source=args.source,
            progress=sys.stderr.isatty(),
            video=VideoOptions(fps=args.fps),
        )
        print(s.line())
        if args.no_extract:
            return 0
        from faces.stage import extract

        e = extract(cat, progress=sys.stderr.isatty())
        print(
            f"extract: {e.images} images ({e.done} with faces, {e.no_face} without, "
            f"{e.errors} unreadable), {e.faces} faces added"
        )
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the review app on this dataset until interrupted."""
    import subprocess

    from curation_ui.launch import streamlit_command

    with open_catalog(args) as cat:  # creates or checks the dataset: errors are one line
        name = cat.paths.name
    argv, env = streamlit_command(args.root, name, port=args.port, host=args.host)
    print(f"review: http://{args.host}:{args.port}/  (dataset {name}; Ctrl+C stops)")
    try:
        return subprocess.run(argv, env=env, check=False).returncode
    except KeyboardInterrupt:  # Streamlit got the same Ctrl+C and stops on its own
        return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Print counts of the dataset, as JSON or as a short table."""
    with open_catalog(args) as cat:
        data = summary(cat)
    if args.json:
        print(json.dumps(data))
        return 0
    print(f"dataset {data['dataset']}  labels {','.join(data['labels'])}")
    print(
        f"  search results {data['results']}  images ok {data['images']['ok']}  "
        f"failed {data['images']['failed']}"
    )
    print(f"  faces {data['faces']}  " + "  ".join(f"{k} {v}" for k, v in data["status"].items()))
    width = max((len(k) for k in data["by_label"]), default=0)
    for label, n in data["by_label"].items():
        print(f"  {label:<{width}}  {n}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Detect, align and score the faces of every image not yet processed."""
    from faces.stage import ExtractOptions, extract

    opts = ExtractOptions(
        detector=args.detector,
        upsample=args.upsample,
        workers=args.workers,
        chip_size=args.chip_size,
        padding=args.padding,
        near_dup_bits=args.near_dup_bits,
        embeddings=args.embeddings,
        retry_errors=args.retry_errors,
    )
    with open_catalog(args) as cat:
        s = extract(cat, opts, progress=sys.stderr.isatty())
    print(
        f"extract: {s.images} images ({s.done} with faces, {s.no_face} without, "
        f"{s.errors} unreadable), {s.faces} faces added, "
        f"{s.near_dup_groups} near-duplicate groups, {s.images_per_second:.1f} images/s"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a training-ready dataset (ImageFolder, FER2013 CSV or parquet) with its card."""
    from exporter.options import ExportOptions
    from exporter.stage import export

    opts = ExportOptions(
        out=args.out,
        format=args.format,
        size=args.size,
        color=args.color,
        splits=args.splits,
        labels=args.labels,
        map=args.map,
        min_size=args.min_size,
        min_sharpness=args.min_sharpness,
        max_yaw=args.max_yaw,
        include_pending=args.include_pending,
        identity_disjoint=args.identity_disjoint,
        seed=args.seed,
        overwrite=args.overwrite,
        padding=args.padding,
    )
    with open_catalog(args) as cat:
        r = export(cat, opts, progress=sys.stderr.isatty())
    splits = "  ".join(f"{s} {sum(c.values())}" for s, c in r.counts.items())
    print(f"export: {r.total} faces to {r.out} ({r.format}): {splits}")
    print("  classes: " + ", ".join(f"{i} {n}" for n, i in r.labels.items()))
    if r.left_out:
        print("  left out: " + ", ".join(f"{k} {v}" for k, v in r.left_out.items()))
    leak = r.leakage
    line = f"  leakage: {leak['cross_split_pairs']} near-duplicate pairs across splits"
    if leak["fer2013_imported"]:
        line += (
            f"; {leak['exported_from_fer2013']} faces from FER2013, "
            f"{leak['exported_near_fer2013']} near-duplicates of FER2013 faces"
        )
    print(line)
    return 0


def scrape_options(args: argparse.Namespace):
    """The ScrapeOptions of a ``scrape`` (or ``run``) command line; flags it lacks keep defaults."""
    from scraper.config import DownloadOptions, ScrapeOptions

    base = DownloadOptions()
    timeout = getattr(args, "timeout", None)
    download = DownloadOptions(
        concurrency=getattr(args, "concurrency", base.concurrency),
        per_host=getattr(args, "per_host", base.per_host),
        read_timeout=timeout or base.read_timeout,
        connect_timeout=min(base.connect_timeout, timeout or base.connect_timeout),
        retries=getattr(args, "retries", base.retries),
        max_bytes=getattr(args, "max_bytes", base.max_bytes),
        max_pixels=getattr(args, "max_pixels", base.max_pixels),
        min_side=getattr(args, "min_size", base.min_side),
        allow_private_hosts=args.allow_private_hosts,
    )
    return ScrapeOptions(
        emotions=args.emotions,
        query=getattr(args, "query", None),
        label=getattr(args, "label", None),
        engine=args.engine,
        limit=args.limit,
        base_url=args.base_url,
        headful=getattr(args, "headful", False),
        driver=getattr(args, "driver", None),
        browser=getattr(args, "browser", None),
        download=download,
        idle_timeout=getattr(args, "idle_timeout", None) or ScrapeOptions.idle_timeout,
        selectors_file=getattr(args, "selectors", None),
        progress=sys.stderr.isatty(),
    )


def _log_to_stderr() -> None:
    """Scraper warnings on stderr; FACESIFT_LOG=info (or debug) shows more."""
    import logging
    import os

    level = os.environ.get("FACESIFT_LOG", "warning").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING), format="facesift: %(message)s"
    )


def cmd_scrape(args: argparse.Namespace) -> int:
    """Crawl each query's results and download them; 1 if a query was blocked or failed."""
    from scraper.stage import scrape

    _log_to_stderr()
    opts = scrape_options(args)
    with open_catalog(args) as cat:
        summary = scrape(cat, opts)
    print(summary.table())
    return 0 if summary.ok else 1


def emotion_table(rows: Sequence[EmotionCounts]) -> str:
    """`facesift run`'s summary: one line per emotion (failures by reason last), then the total."""
    head = ("emotion", "links", "images", "faces", "near-dups", "no face", "failures")
    lines = [
        format_table(
            head,
            [
                (
                    r.label,
                    str(r.links),
                    str(r.images),
                    str(r.faces),
                    str(r.near_duplicates),
                    str(r.no_face),
                    ", ".join(f"{k} {v}" for k, v in r.failures.items()) or "-",
                )
                for r in rows
            ],
            free_last=True,
        )
    ]
    total = sum(r.faces for r in rows)
    lines.append(f"{total} faces to review")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    """Scrape, extract, print a summary per emotion, then serve the review app.

    1 if a query was blocked or failed (the rest still runs), else the review's status.
    """
    from faces.stage import ExtractOptions, extract
    from scraper.stage import scrape

    _log_to_stderr()
    opts = scrape_options(args)
    progress = sys.stderr.isatty()
    with open_catalog(args) as cat:
        scraped = scrape(cat, opts)
        for q in scraped.queries:
            if q.status != "done":
                print(f"scrape: {q.label} ({q.text!r}): {q.status}: {q.message}", file=sys.stderr)
        extract(cat, ExtractOptions(workers=args.workers), progress=progress)
        print(emotion_table(by_emotion(cat, [q.label for q in scraped.queries])))
    if args.no_review:
        return 0 if scraped.ok else 1
    status = cmd_review(args)
    return status if scraped.ok else 1


def _add_scrape_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--emotions",
        default="all",
        metavar="all|E,E,...",
        help="labels to search for, each with its default query (default: all)",
    )
    p.add_argument(
        "--engine",
        choices=("google", "bing"),
        default="google",
        help="image search engine (default: google)",
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop each query after N result links (default: no limit)",
    )
    p.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="replace the engine's origin, e.g. https://www.google.de or a local test server",
    )
    p.add_argument(
        "--allow-private-hosts",
        action="store_true",
        help="allow downloads from loopback and private addresses (tests, demos)",
    )


def _add_review_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=port_number, default=8501, help="port (default: 8501)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = OneLineParser(
        prog="facesift",
        description="Turn web image search into a clean, labelled facial-expression dataset.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        metavar="DIR",
        help="data root holding one folder per dataset (default: ./datasets)",
    )
    parser.add_argument(
        "--dataset", default=DEFAULT_DATASET, metavar="NAME", help="dataset name (default: default)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create a dataset, optionally with its own label set")
    p.add_argument(
        "--labels",
        metavar="L1,L2,...",
        help="label set in class-index order (default: FER2013's seven: "
        "angry,disgust,fear,happy,sad,surprise,neutral)",
    )
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("scrape", help="search the web for each emotion and download the images")
    _add_scrape_options(p)
    p.add_argument("--query", metavar="TEXT", help="search this text instead (needs --label)")
    p.add_argument("--label", metavar="E", help="the label the --query images are for")
    p.add_argument("--headful", action="store_true", help="show the browser window")
    p.add_argument("--driver", type=Path, metavar="PATH", help="chromedriver to use")
    p.add_argument("--browser", type=Path, metavar="PATH", help="Chrome/Chromium binary to use")
    p.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        metavar="N",
        help="parallel downloads (default: 8)",
    )
    p.add_argument(
        "--per-host",
        type=positive_int,
        default=4,
        metavar="N",
        help="parallel downloads from one host (default: 4)",
    )
    p.add_argument(
        "--timeout",
        type=non_negative_float,
        default=20.0,
        metavar="S",
        help="seconds to wait for a server to answer or send more bytes (default: 20)",
    )
    p.add_argument(
        "--retries",
        type=int_in(0, 10),
        default=3,
        metavar="N",
        help="retries on 429, 5xx and connection errors, with backoff (default: 3)",
    )
    p.add_argument(
        "--max-bytes",
        type=positive_int,
        default=20_000_000,
        metavar="B",
        help="largest image file kept, enforced while downloading (default: 20000000)",
    )
    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=40_000_000,
        metavar="P",
        help="more pixels than this is treated as a decompression bomb (default: 40000000)",
    )
    p.add_argument(
        "--min-size",
        type=positive_int,
        default=32,
        metavar="PX",
        help="smallest image side kept, in pixels (default: 32)",
    )
    p.add_argument(
        "--idle-timeout",
        type=non_negative_float,
        default=8.0,
        metavar="S",
        help="stop a query when no new result appears within S seconds (default: 8)",
    )
    p.add_argument(
        "--selectors",
        type=Path,
        metavar="FILE",
        help="page selectors to use instead of scraper/selectors.toml",
    )
    p.set_defaults(handler=cmd_scrape)

    p = sub.add_parser("extract", help="find, align and score every face in the stored images")
    p.add_argument(
        "--detector",
        choices=("hog", "cnn"),
        default="hog",
        help="dlib's HOG detector, or its MMOD CNN (slow on a CPU) (default: hog)",
    )
    p.add_argument(
        "--upsample",
        choices=("auto", "0", "1", "2"),
        default="auto",
        help="detector upsampling; auto retries at 1 only where 0 found nothing "
        "or the image is small (default: auto)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    p.add_argument(
        "--chip-size",
        type=int_in(32, 1024),
        default=256,
        metavar="PX",
        help="side of the aligned face chip in pixels (default: 256)",
    )
    p.add_argument(
        "--padding",
        type=non_negative_float,
        default=0.45,
        metavar="P",
        help="chip padding around the landmarks (default: 0.45)",
    )
    p.add_argument(
        "--near-dup-bits",
        type=int_in(0, 32),
        default=6,
        metavar="B",
        help="perceptual-hash Hamming distance (of 64) for near-duplicates (default: 6)",
    )
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="also compute dlib's 128-d face descriptor (about 85 ms a face)",
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="also process again the images an earlier run could not read",
    )
    p.set_defaults(handler=cmd_extract)

    p = sub.add_parser("import", help="add local images, a zip, a FER2013 CSV or videos")
    p.add_argument("path", type=Path, metavar="PATH", help="folder, zip, CSV or video file")
    p.add_argument("--label", metavar="E", help="label every imported image with E")
    p.add_argument(
        "--labels-from",
        choices=("folders", "fer2013"),
        default=None,
        help="take labels from subfolder names or a FER2013 CSV's emotion column",
    )
    p.add_argument("--source", metavar="NAME", help="name of the source, e.g. mmi or fer2013")
    p.add_argument(
        "--fps",
        type=non_negative_float,
        default=1.0,
        metavar="N",
        help="video frames kept per second of video (default: 1)",
    )
    p.add_argument(
        "--no-extract", action="store_true", help="only import; run `facesift extract` later"
    )
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("review", help="open the curation app in a browser")
    _add_review_options(p)
    p.set_defaults(handler=cmd_review)

    p = sub.add_parser("export", help="write a training-ready dataset")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--format",
        choices=("imagefolder", "fer2013-csv", "hf"),
        required=True,
        help="ImageFolder splits, a FER2013-style CSV, or Hugging Face parquet",
    )
    p.add_argument(
        "--size",
        type=int_in(8, 1024),
        default=48,
        metavar="PX",
        help="side of the exported images (default: 48)",
    )
    colour = p.add_mutually_exclusive_group()
    colour.add_argument(
        "--grayscale", dest="color", action="store_false", help="gray images (the default)"
    )
    colour.add_argument("--color", dest="color", action="store_true", help="colour images")
    p.set_defaults(color=False)
    p.add_argument(
        "--splits",
        type=split_fractions,
        default=(0.8, 0.1, 0.1),
        metavar="TRAIN,VAL,TEST",
        help="split fractions (default: 0.8,0.1,0.1)",
    )
    p.add_argument("--labels", metavar="L1,L2,...", help="export only these labels, in this order")
    p.add_argument("--map", metavar="FROM=TO,...", help="merge labels, e.g. disgust=angry")
    p.add_argument(
        "--min-size",
        type=non_negative_float,
        default=0,
        metavar="PX",
        help="leave out faces smaller than PX source pixels",
    )
    p.add_argument(
        "--min-sharpness",
        type=non_negative_float,
        default=0,
        metavar="S",
        help="leave out faces less sharp than S",
    )
    p.add_argument(
        "--max-yaw",
        type=non_negative_float,
        default=None,
        metavar="DEG",
        help="leave out faces turned more than DEG degrees",
    )
    p.add_argument(
        "--include-pending",
        action="store_true",
        help="also export pending faces that carry a label from their query or import",
    )
    p.add_argument(
        "--identity-disjoint",
        action="store_true",
        help="keep each person in one split (needs extract --embeddings)",
    )
    p.add_argument("--seed", type=int, default=0, help="split seed (default: 0)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument(
        "--padding",
        type=non_negative_float,
        default=None,
        metavar="P",
        help="crop the chips tighter, to padding P (e.g. 0.25, FER2013-like; "
        "default: the chips' own, 0.45)",
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("stats", help="print counts of the dataset")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("run", help="scrape, extract, summarise, then open the review app")
    _add_scrape_options(p)
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="extract worker processes (default: one per core)",
    )
    p.add_argument("--no-review", action="store_true", help="do not start the review app")
    _add_review_options(p)
    p.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except FacesiftError as e:
        print(f"facesift: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesift: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
