"""The catalog's schema as an ordered list of forward migrations.

``PRAGMA user_version`` holds how many migrations a database has had. To change
the schema, append a migration; never edit one that has shipped. Each runs in
its own transaction, so a crash mid-upgrade leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3

from catalog.db import transaction
from core.errors import FacesiftError

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The dataset's label set; idx is the class index every export uses.
CREATE TABLE labels (
    idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
    name TEXT NOT NULL UNIQUE
);

-- One search: an engine, a query text and the label (emotion) it is for.
CREATE TABLE queries (
    id         INTEGER PRIMARY KEY,
    engine     TEXT NOT NULL,
    text       TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (engine, text, label)
);

-- One crawl of a query; a rerun of the query is a new run that resumes.
CREATE TABLE search_runs (
    id          INTEGER PRIMARY KEY,
    query_id    INTEGER NOT NULL REFERENCES queries(id),
    base_url    TEXT NOT NULL,
    layout      TEXT,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'blocked', 'failed', 'interrupted')),
    message     TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT
);

-- One result link of a query. url is what gets downloaded: the original image,
-- or (is_fallback = 1) the thumbnail where the original could not be had.
CREATE TABLE search_results (
    id              INTEGER PRIMARY KEY,
    query_id        INTEGER NOT NULL REFERENCES queries(id),
    run_id          INTEGER NOT NULL REFERENCES search_runs(id),
    rank            INTEGER NOT NULL,
    url             TEXT NOT NULL,
    is_fallback     INTEGER NOT NULL DEFAULT 0 CHECK (is_fallback IN (0, 1)),
    original_url    TEXT,
    thumbnail_url   TEXT,
    thumbnail_data  BLOB,
    source_page_url TEXT,
    title           TEXT,
    reported_width  INTEGER,
    reported_height INTEGER,
    found_at        TEXT NOT NULL,
    UNIQUE (query_id, url)
);
CREATE INDEX search_results_run ON search_results(run_id);

-- One fetch target; the same URL found by several queries is fetched once.
CREATE TABLE downloads (
    id           INTEGER PRIMARY KEY,
    url          TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'ok', 'failed', 'skipped')),
    http_status  INTEGER,
    reason       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    final_url    TEXT,
    content_type TEXT,
    image_id     INTEGER REFERENCES images(id),
    updated_at   TEXT NOT NULL
);
CREATE INDEX downloads_status ON downloads(status);

-- One stored image, by content. path is relative to the dataset folder and is
-- built from the sha256 alone (images/ab/<sha256>.<ext>).
CREATE TABLE images (
    id             INTEGER PRIMARY KEY,
    sha256         TEXT NOT NULL UNIQUE,
    path           TEXT NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    format         TEXT NOT NULL,
    bytes          INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    extract_status TEXT CHECK (extract_status IN ('done', 'no_face', 'error')),
    extract_reason TEXT,
    extracted_at   TEXT
);
CREATE INDEX images_extract ON images(extract_status);

-- Where an image came from; an image found by two queries has two rows.
-- source_label is the label the source claims (query emotion, import folder,
-- FER2013 column): a hint to be re-checked, never the final word.
CREATE TABLE image_sources (
    id               INTEGER PRIMARY KEY,
    image_id         INTEGER NOT NULL REFERENCES images(id),
    kind             TEXT NOT NULL CHECK (kind IN ('search', 'import', 'video_frame')),
    search_result_id INTEGER REFERENCES search_results(id),
    source_name      TEXT,
    import_path      TEXT,
    frame_index      INTEGER,
    frame_time       REAL,
    source_label     TEXT,
    added_at         TEXT NOT NULL,
    CHECK ((kind = 'search') = (search_result_id IS NOT NULL))
);
CREATE UNIQUE INDEX image_sources_unique ON image_sources(
    image_id, kind, IFNULL(search_result_id, -1), IFNULL(import_path, ''),
    IFNULL(frame_index, -1)
);
CREATE INDEX image_sources_result ON image_sources(search_result_id);

-- Inputs of an import that could not become images, with the reason.
CREATE TABLE import_errors (
    id          INTEGER PRIMARY KEY,
    source_name TEXT,
    import_path TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- One detected face. Coordinates are in the original image's pixels.
CREATE TABLE faces (
    id           INTEGER PRIMARY KEY,
    image_id     INTEGER NOT NULL REFERENCES images(id),
    face_index   INTEGER NOT NULL,
    box_left     INTEGER NOT NULL,
    box_top      INTEGER NOT NULL,
    box_right    INTEGER NOT NULL,
    box_bottom   INTEGER NOT NULL,
    detector     TEXT NOT NULL,
    score        REAL,
    subdetector  INTEGER,
    upsample     INTEGER,
    landmarks    TEXT,
    chip_path    TEXT,
    chip_size    INTEGER,
    chip_padding REAL,
    size_px      REAL,
    sharpness    REAL,
    brightness   REAL,
    contrast     REAL,
    roll         REAL,
    yaw          REAL,
    pitch        REAL,
    border_cut   INTEGER,
    phash        TEXT,
    dup_group    INTEGER,
    embedding    BLOB,
    created_at   TEXT NOT NULL,
    UNIQUE (image_id, face_index)
);
CREATE INDEX faces_dup_group ON faces(dup_group);

-- Append-only: the current label and status of a face are derived from these.
CREATE TABLE label_events (
    id         INTEGER PRIMARY KEY,
    face_id    INTEGER NOT NULL REFERENCES faces(id),
    annotator  TEXT NOT NULL CHECK (length(annotator) > 0),
    action     TEXT NOT NULL CHECK (action IN ('label', 'reject', 'accept', 'undo')),
    label      TEXT,
    reason     TEXT,
    undoes     INTEGER REFERENCES label_events(id),
    created_at TEXT NOT NULL,
    CHECK (action <> 'label' OR label IS NOT NULL),
    CHECK (action IN ('label', 'accept') OR label IS NULL),
    CHECK ((action = 'undo') = (undoes IS NOT NULL))
);
CREATE INDEX label_events_face ON label_events(face_id);
CREATE INDEX label_events_annotator ON label_events(annotator, id);
CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events
BEGIN SELECT RAISE(ABORT, 'label events are append-only'); END;
CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
BEGIN SELECT RAISE(ABORT, 'label events are append-only'); END;

-- A projection of label_events (plus the source label), kept up to date in the
-- same transaction as every event so that review can filter and page in SQL.
-- catalog.events.rebuild_face_states() recomputes it from the events alone.
CREATE TABLE face_state (
    face_id       INTEGER PRIMARY KEY REFERENCES faces(id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    label         TEXT,
    label_origin  TEXT NOT NULL CHECK (label_origin IN ('events', 'source', 'none')),
    reason        TEXT,
    annotators    INTEGER NOT NULL DEFAULT 0,
    disputed      INTEGER NOT NULL DEFAULT 0,
    last_event_id INTEGER
);
CREATE INDEX face_state_status_label ON face_state(status, label);

CREATE TABLE exports (
    id         INTEGER PRIMARY KEY,
    format     TEXT NOT NULL,
    path       TEXT NOT NULL,
    options    TEXT NOT NULL,
    counts     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

# Review at 100,000 faces: undo checks look events up by the event they undo;
# the label queue's "disputed" subset walks only disputed faces.
_V2_REVIEW_INDEXES = """
CREATE INDEX label_events_undoes ON label_events(undoes) WHERE undoes IS NOT NULL;
CREATE INDEX face_state_disputed ON face_state(face_id) WHERE disputed = 1;
"""

# Issue 12 (import): labels that arrive per image (a labels CSV, FER+ votes) before
# extract has found the image's faces; each becomes a label event on every face of
# the image as soon as the face exists (catalog.votes). URL lists are a provenance
# kind of their own (SQLite cannot alter a CHECK: the table is rebuilt). Takedowns:
# the requests, the blocklist every later scrape and import checks, and the mark on
# an image whose file was deleted (the row and its hash stay).
_V_IMPORT_VOTES_TAKEDOWNS = """
CREATE TABLE image_votes (
    id         INTEGER PRIMARY KEY,
    image_id   INTEGER NOT NULL REFERENCES images(id),
    annotator  TEXT NOT NULL CHECK (length(annotator) > 0),
    action     TEXT NOT NULL CHECK (action IN ('label', 'reject')),
    label      TEXT,
    reason     TEXT,
    origin     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK ((action = 'label') = (label IS NOT NULL)),
    UNIQUE (image_id, annotator, origin)
);

CREATE TABLE image_sources_v3 (
    id               INTEGER PRIMARY KEY,
    image_id         INTEGER NOT NULL REFERENCES images(id),
    kind             TEXT NOT NULL
                     CHECK (kind IN ('search', 'import', 'video_frame', 'url_list')),
    search_result_id INTEGER REFERENCES search_results(id),
    source_name      TEXT,
    import_path      TEXT,
    frame_index      INTEGER,
    frame_time       REAL,
    source_label     TEXT,
    added_at         TEXT NOT NULL,
    url              TEXT,
    caption          TEXT,
    CHECK ((kind = 'search') = (search_result_id IS NOT NULL))
);
INSERT INTO image_sources_v3 (id, image_id, kind, search_result_id, source_name, import_path,
    frame_index, frame_time, source_label, added_at)
SELECT id, image_id, kind, search_result_id, source_name, import_path, frame_index, frame_time,
    source_label, added_at FROM image_sources;
DROP TABLE image_sources;
ALTER TABLE image_sources_v3 RENAME TO image_sources;
CREATE UNIQUE INDEX image_sources_unique ON image_sources(
    image_id, kind, IFNULL(search_result_id, -1), IFNULL(import_path, ''),
    IFNULL(frame_index, -1)
);
CREATE INDEX image_sources_result ON image_sources(search_result_id);
CREATE INDEX image_sources_image ON image_sources(image_id);

ALTER TABLE images ADD COLUMN taken_down_at TEXT;

CREATE TABLE takedowns (
    id           INTEGER PRIMARY KEY,
    match_kind   TEXT NOT NULL CHECK (match_kind IN ('url', 'page', 'domain', 'image', 'face')),
    match_value  TEXT NOT NULL,
    reason       TEXT,
    requested_by TEXT NOT NULL,
    images       INTEGER NOT NULL DEFAULT 0,
    faces        INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE blocklist (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('sha256', 'url', 'domain')),
    value       TEXT NOT NULL,
    takedown_id INTEGER REFERENCES takedowns(id),
    created_at  TEXT NOT NULL,
    UNIQUE (kind, value)
);
"""

# Scrape at scale: a query's language (its text decides the search, so the
# uniqueness stays engine + text + label; the language is what the plan said
# when the query was first stored), and which way each result's original came:
# page_data, imgres, preview, thumbnail (Google), page_data (Bing), json (DuckDuckGo).
_V_SCRAPE_LANGUAGE_VIA = """
ALTER TABLE queries ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE search_results ADD COLUMN via TEXT;
CREATE INDEX queries_language ON queries(language);
"""

# Model-assisted curation: each trained model (its files live under
# models/<id>/), and its probabilities per face. For a face labelled when the
# model was trained they are out-of-fold (from a model that never saw the face);
# self_confidence is the probability of that label (confident learning's ranking).
_V_MODEL_PREDICTIONS = """
CREATE TABLE models (
    id            TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    classes       TEXT NOT NULL,
    options       TEXT NOT NULL,
    figures       TEXT NOT NULL,
    last_event_id INTEGER,
    trained_at    TEXT NOT NULL
);

CREATE TABLE predictions (
    face_id         INTEGER NOT NULL REFERENCES faces(id),
    model_id        TEXT NOT NULL REFERENCES models(id),
    probs           TEXT NOT NULL,
    predicted       TEXT NOT NULL,
    label           TEXT,
    self_confidence REAL,
    out_of_fold     INTEGER NOT NULL DEFAULT 0 CHECK (out_of_fold IN (0, 1)),
    PRIMARY KEY (model_id, face_id)
);
CREATE INDEX predictions_face ON predictions(face_id);
CREATE INDEX predictions_suspects ON predictions(model_id, self_confidence);
"""

# Tight crops (issue 12): an image known to be a face crop (FER2013 rows, an import
# with --whole-image) is extracted with the whole image as its face box. The step
# that found each face goes in the existing faces.detector ('hog', 'hog+frame',
# 'cnn', 'whole'); the index serves stats' extract.by_detector.
_V_FACE_CROPS = """
ALTER TABLE images ADD COLUMN is_face_crop INTEGER NOT NULL DEFAULT 0
    CHECK (is_face_crop IN (0, 1));
CREATE INDEX faces_detector ON faces(detector);
"""

# The review app's suspects queue walks a model's out-of-fold predictions by
# self-confidence from where it stopped, and counts the rest: one covering index
# serves both (measured in benchmarks/bench_model_ui.py).
_V_SUSPECTS_QUEUE = """
CREATE INDEX predictions_queue ON predictions(model_id, out_of_fold, self_confidence, face_id);
"""

# The expression corpora (issue 22): per provenance, the person shown (a split never
# holds one subject twice), the corpus's own split (train/test, training/validation,
# FER2013 Usage), and how a sequence's or video's frame was chosen ('apex:markers',
# 'apex:prior', 'first'; NULL for frames sampled at --fps and for still images). A
# corpus can give the face box (AffectNet): extract fits landmarks in it instead of
# detecting. Numbers a corpus gives per image (AffectNet's valence and arousal) are
# kept by name and exported as columns.
_V_CORPORA = """
ALTER TABLE image_sources ADD COLUMN subject TEXT;
ALTER TABLE image_sources ADD COLUMN source_split TEXT;
ALTER TABLE image_sources ADD COLUMN frame_how TEXT;
CREATE INDEX image_sources_subject ON image_sources(subject) WHERE subject IS NOT NULL;
ALTER TABLE images ADD COLUMN given_left INTEGER;
ALTER TABLE images ADD COLUMN given_top INTEGER;
ALTER TABLE images ADD COLUMN given_right INTEGER;
ALTER TABLE images ADD COLUMN given_bottom INTEGER;
CREATE TABLE image_values (
    image_id    INTEGER NOT NULL REFERENCES images(id),
    name        TEXT NOT NULL CHECK (length(name) > 0),
    value       REAL NOT NULL,
    source_name TEXT NOT NULL,
    PRIMARY KEY (image_id, name, source_name)
);
"""

# The review gateway's logins (curation_ui/gateway.py): a server-side record per
# session (only a hash of its cookie's token), ended by logging out, a password
# change or removing the user; and every login attempt with its time and client
# address, which the throttle counts and admins read.
_V_GATEWAY_LOGINS = """
CREATE TABLE login_sessions (
    token_hash   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    password_tag TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    ended_at     REAL,
    ended_why    TEXT
);
CREATE INDEX login_sessions_name ON login_sessions(name) WHERE ended_at IS NULL;
CREATE TABLE login_attempts (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    name     TEXT NOT NULL,
    address  TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('ok', 'wrong', 'throttled'))
);
CREATE INDEX login_attempts_name ON login_attempts(name, at);
CREATE INDEX login_attempts_address ON login_attempts(address, at);
"""

# Long jobs the app starts (a retrain, an import, an extract, an export) are rows, not
# a process's memory: a second job of a kind while one runs is refused for everybody
# (the partial unique index makes the check and the start one atomic step), and a job
# whose process died (its pid gone on its host, or no heartbeat for a while) is marked
# failed by the next look, so a crash does not lock the feature.
_V_JOBS = """
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (length(kind) > 0),
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    started_by   TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    heartbeat    REAL NOT NULL,
    done         INTEGER,
    total        INTEGER,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_one_running ON jobs(kind) WHERE state = 'running';
CREATE INDEX jobs_kind ON jobs(kind, id);
"""

MIGRATIONS: list[str] = [
    _V1,
    _V2_REVIEW_INDEXES,
    _V_IMPORT_VOTES_TAKEDOWNS,
    _V_SCRAPE_LANGUAGE_VIA,
    _V_MODEL_PREDICTIONS,
    _V_FACE_CROPS,
    _V_SUSPECTS_QUEUE,
    _V_CORPORA,
    _V_GATEWAY_LOGINS,
    _V_JOBS,
]
"""Migration i (0-based) takes a database from user_version i to i + 1."""

LATEST_VERSION = len(MIGRATIONS)


class SchemaError(FacesiftError, RuntimeError):
    """The database's schema cannot be used by this version of facesift."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The number of migrations the database has had."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Apply every migration the database lacks, up to ``target``; return the new version."""
    current = schema_version(conn)
    if current > LATEST_VERSION:
        raise SchemaError(
            f"catalog schema version {current} is newer than this facesift knows "
            f"({LATEST_VERSION}); upgrade facesift"
        )
    for version in range(current, target):
        with transaction(conn):
            # Re-read inside the lock: another process may have migrated meanwhile.
            if schema_version(conn) > version:
                continue
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return schema_version(conn)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise SchemaError(f"incomplete statement in migration: {buf.strip()[:60]}")
    return statements
