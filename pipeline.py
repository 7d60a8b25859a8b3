"""facesift's command line: wires the stages together.

``python pipeline.py ARGS`` and the ``facesift ARGS`` console script are the
same program. Each command is a thin layer over a stage function; the stages
stay usable on their own. The flags of each command are generated from the
options dataclasses named in :data:`COMMANDS` (see :mod:`core.cli`), so a
flag's default, bounds and help text live once, in its stage.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog import Catalog, LabelSet
from catalog.dataset import DEFAULT_DATASET, DEFAULT_ROOT
from catalog.db import as_disk_full
from catalog.stats import EmotionCounts, by_emotion, summary
from core.cli import (
    OneLineParser,
    OptionsRef,
    add_flags,
    from_args,
    interrupt_on_stop_signals,
    terminal_progress,
)
from core.contract import option
from core.errors import FacesiftError
from core.report import format_table
from curation_ui.launch import ReviewOptions
from exporter.options import ExportOptions
from faces.options import ExtractOptions
from importer.options import ImportOptions
from scraper.config import ScrapeOptions
from takedown.stage import TakedownOptions

# --- the options of the CLI itself (each stage's own live in its package) ---------------


@dataclass(frozen=True)
class DataOptions:
    """Which dataset a command works on (flags before the command)."""

    root: Path = option(
        DEFAULT_ROOT,
        help="data root holding one folder per dataset (default: ./datasets)",
        metavar="DIR",
        show_default=False,
    )
    dataset: str = option(DEFAULT_DATASET, help="dataset name", metavar="NAME")


@dataclass(frozen=True)
class InitOptions:
    """``facesift init``."""

    labels: str | None = option(
        None,
        help="label set in class-index order (default: FER2013's seven: "
        "angry,disgust,fear,happy,sad,surprise,neutral)",
        metavar="L1,L2,...",
    )


@dataclass(frozen=True)
class StatsOptions:
    """``facesift stats``."""

    json: bool = option(False, help="print one JSON object")


@dataclass(frozen=True)
class RunOptions:
    """``facesift run``'s own flags (it takes every scrape, extract and review flag too)."""

    no_review: bool = option(False, help="do not start the review app")


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
    from faces.stage import extract
    from importer.stage import import_path

    opts = from_args(ImportOptions, args)
    progress = terminal_progress()
    with open_catalog(args) as cat:
        print(import_path(cat, opts, on_progress=progress).line())
        if not opts.no_extract:
            print(extract(cat, on_progress=progress).line())
    return 0


def cmd_takedown(args: argparse.Namespace) -> int:
    """Take a source out of the dataset: reject, delete its files, block it for good."""
    from takedown.stage import takedown

    opts = from_args(TakedownOptions, args)
    with open_catalog(args) as cat:
        s = takedown(cat, opts, on_progress=terminal_progress())
    if s.dry_run:
        for sha in s.images:
            print(f"  would take down image {sha}")
    print(s.line())
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the review app on this dataset until interrupted (SIGINT, SIGTERM or SIGHUP).

    With accounts, the app listens on 127.0.0.1 only, behind the login gateway
    (``curation_ui.gateway``), which serves the address and port asked for."""
    from catalog.events import set_labels_per_face
    from catalog.settings import labels_per_face
    from curation_ui.launch import ServeRefused, serve, streamlit_command
    from curation_ui.serving import free_port

    opts = from_args(ReviewOptions, args)
    with open_catalog(args) as cat:  # creates or checks the dataset: errors are one line
        name = cat.paths.name
        db = cat.paths.catalog
        auth = _refuse_open_network(cat, opts)  # before the setting changes anything
        before = labels_per_face(cat.conn)
        if opts.labels_per_face is not None and set_labels_per_face(cat.conn, opts.labels_per_face):
            print(f"labels per face: {before} -> {opts.labels_per_face}; face states recomputed")
        k = labels_per_face(cat.conn)
    gated = _has_accounts(auth)
    if (opts.tls_cert or opts.tls_key) and not gated:
        raise ServeRefused(
            "--tls-cert and --tls-key need accounts (the login gateway serves TLS): "
            "add one with `facesift user add NAME --admin`"
        )
    if gated:
        from curation_ui.gate_serve import Listen, check_tls

        check_tls(Listen(opts.host, opts.port, opts.tls_cert, opts.tls_key))
    secret = secrets.token_urlsafe(32) if gated else None
    upstream = free_port() if gated else opts.port
    argv, env = streamlit_command(
        args.root,
        name,
        port=upstream,
        host="127.0.0.1" if gated else opts.host,
        auth=auth,
        import_root=opts.import_root,
        export_root=opts.export_root,
        max_upload_mb=opts.max_upload_mb,
        max_photo_mb=opts.max_photo_mb,
        gate_secret=secret,
    )
    scheme = "https" if opts.tls_cert else "http"
    how = "log in with your account; " if gated else ""
    print(
        f"review: {scheme}://{opts.host}:{opts.port}/  (dataset {name}; {k} label(s) per face; "
        f"{how}Ctrl+C stops)",
        flush=True,
    )
    if not gated:
        return serve(argv, env)
    from curation_ui.gate_serve import serve_gated
    from curation_ui.gateway import GateConfig

    cfg = GateConfig(
        upstream_port=upstream,
        app_secret=secret,
        upload_bytes=opts.max_upload_mb * 1024 * 1024,
        photo_bytes=opts.max_photo_mb * 1024 * 1024,
    )
    listen = Listen(opts.host, opts.port, opts.tls_cert, opts.tls_key)
    return serve_gated(argv, env, cfg, listen, db, auth)


def _has_accounts(auth: Path) -> bool:
    """Whether the app goes behind the login gateway: password accounts, and no identity
    provider (whose login, ``st.login``, is Streamlit's own and needs Streamlit in front)."""
    from curation_ui.accounts import load_accounts, oidc_provider, secrets_auth

    return bool(load_accounts(auth)) and oidc_provider(secrets_auth()) is None


def _refuse_open_network(cat: Catalog, opts: ReviewOptions) -> Path:
    """The accounts file; a one-line error if the app would be open to the network."""
    from curation_ui.accounts import auth_path
    from curation_ui.launch import refuse_open_network

    auth = auth_path(cat.paths.dir, opts.auth)
    refuse_open_network(opts.host, auth)
    return auth


def _auth_file(args: argparse.Namespace, override: Path | None) -> Path:
    from catalog.dataset import DatasetPaths
    from curation_ui.accounts import auth_path

    return auth_path(DatasetPaths(Path(args.root), args.dataset).dir, override)


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a review account (or set a new password and role); the password is only hashed."""
    from curation_ui.accounts import UserAddOptions, add_user, check_name, read_password

    opts = from_args(UserAddOptions, args)
    path = _auth_file(args, opts.auth)
    check_name(opts.name)  # before asking for a password
    password = read_password(opts.name, from_stdin=opts.password_stdin)
    acc, new = add_user(path, opts.name, password, admin=opts.admin)
    print(f"user {acc.name} ({acc.role}) {'added to' if new else 'updated in'} {path}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """List the review accounts and their roles (never a hash)."""
    from curation_ui.accounts import AuthFileOptions, load_accounts

    path = _auth_file(args, from_args(AuthFileOptions, args).auth)
    accounts = load_accounts(path)
    if not accounts:
        print(f"no accounts in {path}; add one with `facesift user add NAME --admin`")
    for acc in sorted(accounts.values(), key=lambda a: a.name):
        print(f"{acc.name}\t{acc.role}")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    """Remove a review account (their label events stay, under their name)."""
    from curation_ui.accounts import UserRemoveOptions, remove_user

    opts = from_args(UserRemoveOptions, args)
    path = _auth_file(args, opts.auth)
    acc = remove_user(path, opts.name)
    print(f"user {acc.name} ({acc.role}) removed from {path}")
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
    from faces.stage import extract

    with open_catalog(args) as cat:
        s = extract(cat, from_args(ExtractOptions, args), on_progress=terminal_progress())
    print(s.line())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a training-ready dataset (ImageFolder, FER2013 CSV or parquet) with its card."""
    from exporter.stage import export

    with open_catalog(args) as cat:
        r = export(cat, from_args(ExportOptions, args), on_progress=terminal_progress())
    print("\n".join(r.lines()))
    return 0


def cmd_model_train(args: argparse.Namespace) -> int:
    """Train the dataset's model; print its cross-validated figures and per-class table."""
    from model.train import TrainOptions, train

    with open_catalog(args) as cat:
        s = train(cat, from_args(TrainOptions, args), on_progress=terminal_progress())
    print(s.line())
    print(s.table())
    return 0


def cmd_model_suspects(args: argparse.Namespace) -> int:
    """List labelled faces, the ones the model least believes first."""
    from model.suspects import SuspectsOptions, find_suspects

    opts = from_args(SuspectsOptions, args)
    with open_catalog(args) as cat:
        s = find_suspects(cat, opts)
    print(json.dumps(s.records()) if opts.json else s.table())
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Box every face of a photo, folder or video and print the model's top labels."""
    from model.predict import PredictOptions, predict_path

    opts = from_args(PredictOptions, args)
    with open_catalog(args) as cat:
        s = predict_path(cat, opts, on_progress=terminal_progress())
    if opts.json:
        print(json.dumps(s.records()))
    else:
        print(s.table())
        print(s.line())
    return 0


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
    opts = from_args(ScrapeOptions, args)
    if opts.plan:
        return print_plan(args, opts)
    with open_catalog(args) as cat:
        s = scrape(cat, opts, on_progress=terminal_progress())
    print(s.table())
    return 0 if s.ok else 1


def print_plan(args: argparse.Namespace, opts: ScrapeOptions) -> int:
    """``--plan``: one line per planned search (label, language, engine, query), no browser.

    Creates nothing: a dataset that does not exist yet is listed with the default labels.
    """
    from catalog.dataset import planned_labels
    from scraper.stage import plan

    print("\n".join(p.line() for p in plan(opts, planned_labels(args.root, args.dataset))))
    return 0


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
    from faces.stage import extract
    from scraper.stage import scrape

    _log_to_stderr()
    progress = terminal_progress()
    opts = from_args(ScrapeOptions, args)
    if opts.plan:
        return print_plan(args, opts)
    with open_catalog(args) as cat:
        if not args.no_review:  # refused at once, not after an hour of scraping
            _refuse_open_network(cat, from_args(ReviewOptions, args))
        scraped = scrape(cat, opts, on_progress=progress)
        for q in scraped.queries:
            if not q.finished:  # a query the fallback finished is not a failure
                print(f"scrape: {q.label} ({q.text!r}): {q.status}: {q.message}", file=sys.stderr)
        extract(cat, from_args(ExtractOptions, args), on_progress=progress)
        print(emotion_table(by_emotion(cat, [q.label for q in scraped.queries])), flush=True)
    if args.no_review:
        return 0 if scraped.ok else 1
    status = cmd_review(args)
    return status if scraped.ok else 1


# --- the command table: each command's flags come from its options classes ------


@dataclass(frozen=True)
class Command:
    """One command: its help, options classes and handler, or its own subcommands."""

    name: str
    help: str
    handler: Callable[[argparse.Namespace], int] | None = None
    options: tuple[OptionsRef, ...] = ()  # a class, or "module:Class" if costly to import
    commands: tuple[Command, ...] = ()  # e.g. `facesift model train`: no handler of its own


COMMANDS: list[Command] = [
    Command(
        "init", "create a dataset, optionally with its own label set", cmd_init, (InitOptions,)
    ),
    Command(
        "scrape",
        "search the web for each emotion and download the images",
        cmd_scrape,
        (ScrapeOptions,),
    ),
    Command(
        "extract",
        "find, align and score every face in the stored images",
        cmd_extract,
        (ExtractOptions,),
    ),
    Command(
        "import", "add local images, a zip, a FER2013 CSV or videos", cmd_import, (ImportOptions,)
    ),
    Command("review", "open the curation app in a browser", cmd_review, (ReviewOptions,)),
    Command("export", "write a training-ready dataset", cmd_export, (ExportOptions,)),
    Command(
        "user",
        "review accounts: who may log in, as annotator or admin",
        commands=(
            Command(
                "add",
                "add an account or change its password",
                cmd_user_add,
                ("curation_ui.accounts:UserAddOptions",),  # its import hashes a password
            ),
            Command(
                "list",
                "list the accounts and their roles",
                cmd_user_list,
                ("curation_ui.accounts:AuthFileOptions",),
            ),
            Command(
                "remove",
                "remove an account",
                cmd_user_remove,
                ("curation_ui.accounts:UserRemoveOptions",),
            ),
        ),
    ),
    Command("stats", "print counts of the dataset", cmd_stats, (StatsOptions,)),
    Command(
        "takedown",
        "take a source out for good: reject its faces, delete its files, block it",
        cmd_takedown,
        (TakedownOptions,),
    ),
    Command(
        "model",
        "train the dataset's model and list the faces it least believes",
        commands=(
            Command(
                "train",
                "train on the labelled faces (out-of-fold probabilities for every one)",
                cmd_model_train,
                ("model.train:TrainOptions",),  # imported when used: it loads scikit-learn
            ),
            Command(
                "suspects",
                "labelled faces by the model's confidence in their label, lowest first",
                cmd_model_suspects,
                ("model.suspects:SuspectsOptions",),
            ),
        ),
    ),
    Command(
        "predict",
        "box every face of a photo, folder or video with the model's top labels",
        cmd_predict,
        ("model.predict:PredictOptions",),
    ),
    Command(
        "run",
        "scrape, extract, summarise, then open the review app",
        cmd_run,
        (ScrapeOptions, ExtractOptions, RunOptions, ReviewOptions),
    ),
]


def add_commands(parser: OneLineParser, commands: Sequence[Command], *, lazy: bool, depth=0):
    """One subparser per command, its flags generated (``lazy``: when it is used)."""
    sub = parser.add_subparsers(dest=f"command{depth or ''}", metavar="COMMAND", required=True)
    for c in commands:
        p = sub.add_parser(c.name, help=c.help, description=c.help)
        p.defer_flags(c.options)
        if not lazy:
            p.add_deferred_flags()
        if c.commands:
            add_commands(p, c.commands, lazy=lazy, depth=depth + 1)
        else:
            p.set_defaults(handler=c.handler)


def build_parser(*, lazy: bool = False) -> OneLineParser:
    """The whole command line (``lazy``: each command's flags made only if it runs)."""
    parser = OneLineParser(
        prog="facesift",
        description="Turn web image search into a clean, labelled facial-expression dataset.",
    )
    add_flags(parser, DataOptions)
    add_commands(parser, COMMANDS, lazy=lazy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser(lazy=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # a refused command line (already told in one line); --help exits
        if e.code in (0, None):
            raise
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        with interrupt_on_stop_signals():  # SIGTERM, SIGHUP: cleaned up as for Ctrl+C
            status = args.handler(args)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return status
    except BrokenPipeError:
        # The reader went away (`facesift model suspects --json | head`): stop quietly,
        # as cat does; stdout goes to /dev/null so the exit's own flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except FacesiftError as e:
        print(f"facesift: error: {e}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as e:
        # A full disk that no stage put in words (every stage's writes do): still one line.
        full = as_disk_full(e, getattr(args, "root", DEFAULT_ROOT))
        if full is None:
            raise
        print(f"facesift: error: {full}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesift: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
