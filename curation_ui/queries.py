"""Read-side queries of the review app: filtered, sorted, paged in SQL.

Nothing here loads a whole table: a grid page is one ``LIMIT``/``OFFSET`` query
and one ``COUNT``, both driven by the ``face_state`` projection and its
indexes. Near-duplicate groups can be collapsed to their best member among the
faces that pass the same filter.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from catalog.events import STANDING_SQL
from catalog.predictions import ModelRow, latest_model_row
from catalog.settings import labels_per_face

STATUSES = ("pending", "accepted", "rejected")
NO_LABEL = "(no label)"

# A documented, simple quality score in [0, 1]: bigger, sharper, more frontal
# faces first. Sizes saturate at 200 source pixels, sharpness at 500 (variance
# of the Laplacian on the fixed-size gray chip), yaw at 45 degrees.
QUALITY_SQL = (
    "(0.4 * MIN(IFNULL({f}.size_px, 0), 200.0) / 200.0"
    " + 0.4 * MIN(IFNULL({f}.sharpness, 0), 500.0) / 500.0"
    " + 0.2 * (1.0 - MIN(ABS(IFNULL({f}.yaw, 0)), 45.0) / 45.0))"
)

SORTS = {
    "quality": "best quality first",
    "quality_asc": "worst quality first",
    "size": "largest first",
    "sharpness": "sharpest first",
    "newest": "newest first",
    "oldest": "oldest first",
    "suspect": "most suspect first (model)",
    "likely_rejected": "most likely rejected first (model)",
}
# Sorts by the newest model's predictions (FaceFilter.model_id); faces it has no
# prediction for come last.
MODEL_SORTS = ("suspect", "likely_rejected")
# The label a face shows: a rejected face shows the model's extra class.
SHOWN_LABEL_SQL = "(CASE WHEN {s}.status = 'rejected' THEN 'rejected' ELSE {s}.label END)"


def quality_sql(alias: str = "f") -> str:
    """The quality score as an SQL expression over a faces alias."""
    return QUALITY_SQL.format(f=alias)


def self_confidence_sql(p: str = "p", s: str = "s") -> str:
    """The model's probability of the label a face shows (NULL without one), as SQL."""
    shown = SHOWN_LABEL_SQL.format(s=s)
    return f"json_extract({p}.probs, '$.\"' || {shown} || '\"')"


def _order_sql(sort: str, f: str = "f") -> str:
    if sort == "suspect":
        return f"IFNULL({self_confidence_sql()}, 2.0), {f}.id"
    if sort == "likely_rejected":
        return f"IFNULL(json_extract(p.probs, '$.rejected'), -1.0) DESC, {f}.id"
    return {
        "quality": f"{quality_sql(f)} DESC, {f}.id",
        "quality_asc": f"{quality_sql(f)} ASC, {f}.id",
        "size": f"IFNULL({f}.size_px, 0) DESC, {f}.id",
        "sharpness": f"IFNULL({f}.sharpness, 0) DESC, {f}.id",
        "newest": f"{f}.id DESC",
        "oldest": f"{f}.id",
    }[sort]


@dataclass(frozen=True)
class FaceFilter:
    """Which faces a grid or a queue shows."""

    statuses: tuple[str, ...] = ("pending",)
    label: str | None = None  # a label name, NO_LABEL, or None for any
    query_id: int | None = None  # faces found by this search query
    source_name: str | None = None  # faces imported from this source
    min_size: float = 0.0
    min_sharpness: float = 0.0
    max_yaw: float | None = None  # absolute degrees
    max_pitch: float | None = None
    max_roll: float | None = None
    disputed_only: bool = False
    collapse_duplicates: bool = False
    sort: str = "quality"
    model_id: str | None = None  # the model whose guesses the cards show (and sorts use)

    def __post_init__(self) -> None:
        bad = set(self.statuses) - set(STATUSES)
        if bad:
            raise ValueError(f"unknown status {sorted(bad)}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.sort in MODEL_SORTS and self.model_id is None:
            raise ValueError(f"sort {self.sort!r} needs a model")


@dataclass(frozen=True)
class FaceCard:
    """One face as the grid and the queue show it."""

    id: int
    image_id: int
    chip_path: str | None
    size_px: float | None
    sharpness: float | None
    yaw: float | None
    pitch: float | None
    roll: float | None
    dup_group: int | None
    status: str
    label: str | None
    label_origin: str
    reason: str | None
    disputed: bool
    annotators: int
    dup_count: int = 1
    guess: str | None = None  # the model's predicted label, when a model predicted this face

    @property
    def shown_label(self) -> str | None:
        """The label the face shows (``rejected`` for a rejected face)."""
        return "rejected" if self.status == "rejected" else self.label

    @property
    def caption(self) -> str:
        """A short plain-text caption (never HTML): ``#id`` and :attr:`label_note`."""
        return f"#{self.id} {self.label_note}"

    @property
    def label_note(self) -> str:
        """The label (``?`` when only claimed by its query or import) and its duplicates."""
        label = self.label or "no label"
        origin = "?" if self.label_origin == "source" else ""
        extra = f" ×{self.dup_count}" if self.dup_count > 1 else ""
        return f"{label}{origin}{extra}"

    @property
    def model_note(self) -> str | None:
        """``model: <label>`` where the model's guess differs from the shown label, else None."""
        if self.guess and self.guess != self.shown_label:
            return f"model: {self.guess}"
        return None


@dataclass(frozen=True)
class Page:
    """One page of a grid."""

    cards: list[FaceCard]
    total: int  # faces matching the filter (after collapsing)
    page: int  # 0-based
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", max(1, -(-self.total // self.per_page)))


_CARD_COLUMNS = (
    "f.id, f.image_id, f.chip_path, f.size_px, f.sharpness, f.yaw, f.pitch, f.roll, "
    "f.dup_group, s.status, s.label, s.label_origin, s.reason, s.disputed, s.annotators"
)


def _where(flt: FaceFilter, f: str = "f", s: str = "s") -> tuple[str, list[object]]:
    """WHERE conditions (joined by AND) and their parameters for one faces/face_state alias pair."""
    conds: list[str] = []
    params: list[object] = []
    if set(flt.statuses) != set(STATUSES):
        conds.append(f"{s}.status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.label == NO_LABEL:
        conds.append(f"{s}.label IS NULL")
    elif flt.label is not None:
        conds.append(f"{s}.label = ?")
        params.append(flt.label)
    if flt.disputed_only:
        conds.append(f"{s}.disputed = 1")
    if flt.min_size > 0:
        conds.append(f"{f}.size_px >= ?")
        params.append(flt.min_size)
    if flt.min_sharpness > 0:
        conds.append(f"{f}.sharpness >= ?")
        params.append(flt.min_sharpness)
    for col, limit in (("yaw", flt.max_yaw), ("pitch", flt.max_pitch), ("roll", flt.max_roll)):
        if limit is not None:
            conds.append(f"ABS(IFNULL({f}.{col}, 0)) <= ?")
            params.append(limit)
    if flt.query_id is not None:
        conds.append(
            f"EXISTS (SELECT 1 FROM image_sources i JOIN search_results r "
            f"ON r.id = i.search_result_id WHERE i.image_id = {f}.image_id AND r.query_id = ?)"
        )
        params.append(flt.query_id)
    if flt.source_name is not None:
        conds.append(
            f"EXISTS (SELECT 1 FROM image_sources i WHERE i.image_id = {f}.image_id "
            f"AND i.source_name = ?)"
        )
        params.append(flt.source_name)
    return " AND ".join(conds) or "1", params


def _filtered_sql(
    flt: FaceFilter, join: str = "", join_params: tuple[object, ...] = ()
) -> tuple[str, list[object]]:
    """FROM ... WHERE ... of the faces a filter keeps (collapsed if asked), plus ``join``."""
    where, params = _where(flt)
    sql = f"FROM face_state s JOIN faces f ON f.id = s.face_id {join} WHERE {where}"
    params = [*join_params, *params]
    if flt.collapse_duplicates:
        g_where, g_params = _where(flt, "g", "gs")
        q_f, q_g = quality_sql("f"), quality_sql("g")
        sql += (
            # CROSS JOIN keeps SQLite on the dup_group index (a group is a few faces)
            # instead of scanning every face of the label for each candidate.
            " AND (f.dup_group IS NULL OR NOT EXISTS (SELECT 1 FROM faces g "
            "CROSS JOIN face_state gs ON gs.face_id = g.id WHERE g.dup_group = f.dup_group "
            f"AND g.id <> f.id AND {g_where} AND ({q_g} > {q_f} OR ({q_g} = {q_f} "
            "AND g.id < f.id))))"
        )
        params = [*params, *g_params]
    return sql, params


def _needs_faces(flt: FaceFilter) -> bool:
    return bool(
        flt.collapse_duplicates
        or flt.min_size > 0
        or flt.min_sharpness > 0
        or flt.query_id is not None
        or flt.source_name is not None
        or any(v is not None for v in (flt.max_yaw, flt.max_pitch, flt.max_roll))
    )


def count_faces(conn: sqlite3.Connection, flt: FaceFilter) -> int:
    """How many faces (groups, when collapsed) a filter keeps."""
    if not _needs_faces(flt):
        # Status, label and disputed live in face_state: count from its index alone.
        where, params = _where(flt)
        return conn.execute(f"SELECT COUNT(*) FROM face_state s WHERE {where}", params).fetchone()[
            0
        ]
    sql, params = _filtered_sql(flt)
    return conn.execute(f"SELECT COUNT(*) {sql}", params).fetchone()[0]


def _card(row: sqlite3.Row) -> FaceCard:
    return FaceCard(
        *row[:13],
        bool(row[13]),
        row[14],
        row[15] if len(row) > 15 else 1,
        row[16] if len(row) > 16 else None,
    )


def face_page(conn: sqlite3.Connection, flt: FaceFilter, page: int, per_page: int = 48) -> Page:
    """One page (0-based; clamped to the last) of the faces a filter keeps, sorted."""
    total = count_faces(conn, flt)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    guess, join, join_params = "NULL", "", ()
    if flt.model_id is not None:
        # The model's guess per face: one primary-key lookup in predictions.
        guess = "p.predicted"
        join = "LEFT JOIN predictions p ON p.model_id = ? AND p.face_id = f.id"
        join_params = (flt.model_id,)
    sql, params = _filtered_sql(flt, join, join_params)
    rows = conn.execute(
        f"SELECT {_CARD_COLUMNS}, "
        f"(SELECT COUNT(*) FROM faces d WHERE d.dup_group = f.dup_group), {guess} "
        f"{sql} ORDER BY {_order_sql(flt.sort)} LIMIT ? OFFSET ?",
        [*params, per_page, page * per_page],
    ).fetchall()
    return Page([_card(r) for r in rows], total, page, per_page)


def face_card(conn: sqlite3.Connection, face_id: int) -> FaceCard | None:
    """One face's card."""
    row = conn.execute(
        f"SELECT {_CARD_COLUMNS}, "
        "(SELECT COUNT(*) FROM faces d WHERE d.dup_group = f.dup_group) "
        "FROM face_state s JOIN faces f ON f.id = s.face_id WHERE f.id = ?",
        (face_id,),
    ).fetchone()
    return _card(row) if row else None


@dataclass(frozen=True)
class QueryChoice:
    """A search query, for the query filter."""

    id: int
    engine: str
    text: str
    label: str

    @property
    def title(self) -> str:
        return f"{self.label}: {self.text} ({self.engine})"


def query_choices(conn: sqlite3.Connection) -> list[QueryChoice]:
    """Every search query of the dataset, by label then text."""
    rows = conn.execute("SELECT id, engine, text, label FROM queries ORDER BY label, text, engine")
    return [QueryChoice(*r) for r in rows]


def source_names(conn: sqlite3.Connection) -> list[str]:
    """The names of the import sources (small: one per import)."""
    rows = conn.execute(
        "SELECT DISTINCT source_name FROM image_sources "
        "WHERE kind <> 'search' AND source_name IS NOT NULL ORDER BY 1"
    )
    return [r[0] for r in rows]


def image_extract_status(conn: sqlite3.Connection, image_id: int) -> str | None:
    """An image's extract status ('done', 'no_face', 'error'), None while not yet extracted."""
    row = conn.execute("SELECT extract_status FROM images WHERE id = ?", (image_id,)).fetchone()
    return row[0] if row else None


def face_in_image(
    conn: sqlite3.Connection, face_id: int
) -> tuple[str, tuple[int, int, int, int]] | None:
    """A face's image path (relative to the dataset) and its box (left, top, right, bottom)."""
    row = conn.execute(
        "SELECT i.path, f.box_left, f.box_top, f.box_right, f.box_bottom FROM faces f "
        "JOIN images i ON i.id = f.image_id WHERE f.id = ?",
        (face_id,),
    ).fetchone()
    return (row[0], tuple(row[1:])) if row else None


def latest_import_errors(
    conn: sqlite3.Connection, source_name: str, limit: int = 200
) -> list[tuple[str, str]]:
    """(input, reason) of an import source's refused inputs, latest first."""
    rows = conn.execute(
        "SELECT import_path, reason FROM import_errors WHERE source_name = ? ORDER BY id DESC "
        "LIMIT ?",
        (source_name, limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# --- the label queue (curation_ui/queue.py walks it) ----------------------------------

SUBSETS = {
    "unlabelled": "pending faces without a label (unlabelled imports)",
    "pending": "every pending face (e.g. scraped faces to check)",
    "disputed": "faces on which annotators disagree (that you have not decided)",
    "all": "every face not yet decided by you",
    "second": "second opinion: faces short of their labels per face, none decided by you",
    "suspects": "suspects: the faces the model least believes, least first (needs a model)",
}
SUSPECTS = "suspects"


@dataclass(frozen=True)
class QueueFilter:
    """Which faces the queue walks through."""

    subset: str = "unlabelled"
    label: str | None = None  # only faces currently showing this label (or NO_LABEL)
    source_name: str | None = None  # only faces imported from this source
    corpus: str | None = None  # only faces this corpus labelled (its annotator name)

    def __post_init__(self) -> None:
        if self.subset not in SUBSETS:
            raise ValueError(f"unknown subset {self.subset!r}")


def _standing_vote_sql(annotator_param: str = "?") -> str:
    return (
        "EXISTS (SELECT 1 FROM label_events e WHERE e.face_id = s.face_id AND e.annotator = "
        f"{annotator_param} AND {STANDING_SQL})"
    )


def _decided_since_sql() -> str:
    """The faces with a standing decision (anyone's) recorded after event ``?``.

    Not correlated: SQLite lists the few faces decided since once per query
    instead of looking up every candidate's events.
    """
    return f"SELECT e.face_id FROM label_events e WHERE e.id > ? AND {STANDING_SQL}"


# Subsets of faces this annotator has not decided: each one's own condition.
_NOT_MINE = {"second": "s.annotators < ?", "disputed": "s.disputed = 1", "all": "1"}


def _subset_where(
    qf: QueueFilter,
    annotator: str,
    k: int = 1,
    model: ModelRow | None = None,
    *,
    exclude_own: bool = True,
) -> tuple[str, list[object]]:
    """The WHERE clause over ``face_state s`` for a subset; ``exclude_own=False`` keeps the
    faces this annotator decided in (for counting, see :func:`queue_remaining`)."""
    conds: list[str] = []
    params: list[object] = []
    if qf.subset == SUSPECTS:
        # The newest model's suspects (out-of-fold: it never saw them) that nobody has
        # decided since it was trained; joined as ``p`` by the caller.
        conds.append(f"p.out_of_fold = 1 AND p.face_id NOT IN ({_decided_since_sql()})")
        params.append((model.last_event_id or 0) if model is not None else 0)
    elif qf.subset == "unlabelled":
        conds.append("s.status = 'pending' AND s.label IS NULL")
    elif qf.subset == "pending":
        conds.append("s.status = 'pending'")
    else:  # second, disputed, all
        conds.append(_NOT_MINE[qf.subset])
        params.extend([k] if qf.subset == "second" else [])
        if exclude_own:
            conds.append(f"NOT {_standing_vote_sql()}")
            params.append(annotator)
    if qf.label == NO_LABEL:
        conds.append("s.label IS NULL")
    elif qf.label is not None:
        conds.append("s.label = ?")
        params.append(qf.label)
    if qf.source_name is not None:
        conds.append(
            "EXISTS (SELECT 1 FROM faces f JOIN image_sources i ON i.image_id = f.image_id "
            "WHERE f.id = s.face_id AND i.source_name = ?)"
        )
        params.append(qf.source_name)
    if qf.corpus is not None:
        conds.append(
            "EXISTS (SELECT 1 FROM label_events c WHERE c.face_id = s.face_id AND c.annotator = ?)"
        )
        params.append(qf.corpus)
    return " AND ".join(conds), params


def _not_skipped(
    column: str, skipped: frozenset[int], sql: str, params: list[object]
) -> tuple[str, list[object]]:
    """``sql`` and ``params`` narrowed to faces (``column``) not skipped this session."""
    if not skipped:
        return sql, params
    marks = ",".join("?" * len(skipped))
    return f"{sql} AND {column} NOT IN ({marks})", [*params, *sorted(skipped)]


def queue_next_face_id(
    conn: sqlite3.Connection,
    qf: QueueFilter,
    annotator: str,
    after: int = 0,
    skipped: frozenset[int] = frozenset(),
) -> int | None:
    """The first face of the subset with an id above ``after`` (wrapping), not skipped.

    The suspects subset is walked in the model's order instead (see :func:`_next_suspect`).
    """
    if qf.subset == SUSPECTS:
        return _next_suspect(conn, qf, annotator, after, skipped)
    where, params = _subset_where(qf, annotator, labels_per_face(conn))
    where, params = _not_skipped("s.face_id", skipped, where, params)
    # face_state's key is the face id: walking it in order finds the next face at once.
    sql = (
        f"SELECT s.face_id FROM face_state s WHERE {where} AND s.face_id > ? "
        "ORDER BY s.face_id LIMIT 1"
    )
    row = conn.execute(sql, [*params, after]).fetchone()
    if row is None and after > 0:
        row = conn.execute(sql, [*params, 0]).fetchone()
    return row[0] if row else None


def queue_remaining(conn: sqlite3.Connection, qf: QueueFilter, annotator: str) -> int:
    """How many faces of the subset are left (skipped ones included)."""
    if qf.subset == SUSPECTS:
        found = _suspects_from(conn, qf, annotator)
        if found is None:
            return 0
        return conn.execute(f"SELECT COUNT(*) {found[0]}", found[1]).fetchone()[0]
    k = labels_per_face(conn)
    if qf.subset not in _NOT_MINE:
        where, params = _subset_where(qf, annotator, k)
        sql = f"SELECT COUNT(*) FROM face_state s WHERE {where}"
        return conn.execute(sql, params).fetchone()[0]
    # All faces of the subset minus those this annotator decided: one plain count and one
    # over the annotator's own events, instead of a look-up into the events per face.
    where, params = _subset_where(qf, annotator, k, exclude_own=False)
    mine = f"SELECT e.face_id FROM label_events e WHERE e.annotator = ? AND {STANDING_SQL}"
    sql = (
        f"SELECT (SELECT COUNT(*) FROM face_state s WHERE {where}) - "
        f"(SELECT COUNT(*) FROM face_state s WHERE {where} AND s.face_id IN ({mine}))"
    )
    return conn.execute(sql, [*params, *params, annotator]).fetchone()[0]


# Suspects in the order of ``facesift model suspects``: lowest self-confidence of
# the label the face had when the model was trained first, then by face id.
_SUSPECT_KEY = "p.self_confidence"  # never NULL out-of-fold; index predictions_queue


def _suspects_from(
    conn: sqlite3.Connection, qf: QueueFilter, annotator: str
) -> tuple[str, list[object]] | None:
    """FROM ... WHERE ... of the suspects left, or None when the dataset has no model."""
    model = latest_model_row(conn)
    if model is None:
        return None
    where, params = _subset_where(qf, annotator, model=model)
    # face_state only for a label or source filter: else the covering index answers alone.
    join = "JOIN face_state s ON s.face_id = p.face_id "
    if qf.label is None and qf.source_name is None and qf.corpus is None:
        join = ""
    return f"FROM predictions p {join}WHERE p.model_id = ? AND {where}", [model.id, *params]


def _next_suspect(
    conn: sqlite3.Connection,
    qf: QueueFilter,
    annotator: str,
    after: int,
    skipped: frozenset[int],
) -> int | None:
    """The next suspect after face ``after`` in suspect order (wrapping), not skipped."""
    found = _suspects_from(conn, qf, annotator)
    if found is None:
        return None
    base, params = found
    base, params = _not_skipped("p.face_id", skipped, base, params)
    sql = (
        f"SELECT p.face_id {base} AND ({_SUSPECT_KEY}, p.face_id) > (?, ?) "
        f"ORDER BY {_SUSPECT_KEY}, p.face_id LIMIT 1"
    )
    start = (-1.0, 0)
    if after:
        key = conn.execute(
            f"SELECT {_SUSPECT_KEY} FROM predictions p WHERE p.model_id = ? AND p.face_id = ?",
            (params[0], after),
        ).fetchone()
        start = (key[0], after) if key else start
    row = conn.execute(sql, [*params, *start]).fetchone()
    if row is None and after:
        row = conn.execute(sql, [*params, -1.0, 0]).fetchone()
    return row[0] if row else None


# --- the Stats page (curation_ui/stats.py makes the tables) ---------------------------


def label_status_counts(conn: sqlite3.Connection) -> list[tuple[str | None, str, int]]:
    """(current label, status, faces) of every label and status the faces have."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT label, status, COUNT(*) FROM face_state GROUP BY label, status"
        )
    ]


def per_query_counts(conn: sqlite3.Connection) -> list[tuple]:
    """Per search query, by label and text: id, label, engine, text, result links, faces,
    and of those accepted, rejected and pending."""
    rows = conn.execute(
        "SELECT q.id, q.label, q.engine, q.text, "
        "(SELECT COUNT(*) FROM search_results r WHERE r.query_id = q.id) AS results, "
        "COUNT(DISTINCT f.id) AS faces, "
        "COUNT(DISTINCT CASE WHEN s.status = 'accepted' THEN f.id END) AS accepted, "
        "COUNT(DISTINCT CASE WHEN s.status = 'rejected' THEN f.id END) AS rejected, "
        "COUNT(DISTINCT CASE WHEN s.status = 'pending' THEN f.id END) AS pending "
        "FROM queries q LEFT JOIN search_results r ON r.query_id = q.id "
        "LEFT JOIN image_sources i ON i.search_result_id = r.id "
        "LEFT JOIN faces f ON f.image_id = i.image_id "
        "LEFT JOIN face_state s ON s.face_id = f.id GROUP BY q.id ORDER BY q.label, q.text"
    ).fetchall()
    return [tuple(r) for r in rows]


def per_annotator_counts(conn: sqlite3.Connection) -> list[tuple]:
    """Per annotator, by name: events by action (label, accept, reject, undo), faces
    touched, first and last event."""
    rows = conn.execute(
        "SELECT annotator, SUM(action = 'label'), SUM(action = 'accept'), "
        "SUM(action = 'reject'), SUM(action = 'undo'), COUNT(DISTINCT face_id), "
        "MIN(created_at), MAX(created_at) FROM label_events GROUP BY annotator ORDER BY annotator"
    ).fetchall()
    return [tuple(r) for r in rows]


HISTOGRAM_COLUMNS = ("size_px", "sharpness", "yaw", "pitch", "roll")


def histogram_counts(
    conn: sqlite3.Connection, column: str, width: float, top: float
) -> list[tuple[int, int]]:
    """(bucket, faces) per bucket of ``width`` of a quality column, by bucket; values at
    or above ``top`` fall into the last bucket."""
    if column not in HISTOGRAM_COLUMNS:
        raise ValueError(f"no histogram of {column!r}")
    rows = conn.execute(
        f"SELECT MIN(CAST({column} / ? AS INTEGER), CAST(? / ? AS INTEGER)) AS b, COUNT(*) "
        f"FROM faces WHERE {column} IS NOT NULL GROUP BY b ORDER BY b",
        (width, top, width),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# --- the label queue's component: is a decision the browser sends still wanted? -----------


def queue_face_is_due(
    conn: sqlite3.Connection, qf: QueueFilter, annotator: str, face_id: int
) -> bool:
    """Whether face ``face_id`` is still one of the subset's faces for ``annotator``."""
    if qf.subset == SUSPECTS:
        found = _suspects_from(conn, qf, annotator)
        if found is None:
            return False
        sql = f"SELECT 1 {found[0]} AND p.face_id = ? LIMIT 1"
        return conn.execute(sql, [*found[1], face_id]).fetchone() is not None
    where, params = _subset_where(qf, annotator, labels_per_face(conn))
    sql = f"SELECT 1 FROM face_state s WHERE {where} AND s.face_id = ? LIMIT 1"
    return conn.execute(sql, [*params, face_id]).fetchone() is not None


def decided_by_another_before(
    conn: sqlite3.Connection, face_id: int, annotator: str, before: str
) -> str | None:
    """Who else holds a standing decision on the face recorded before ``before`` (an ISO
    time as ``label_events.created_at`` stores it), or None."""
    row = conn.execute(
        "SELECT e.annotator FROM label_events e WHERE e.face_id = ? AND e.annotator <> ? "
        f"AND e.created_at < ? AND {STANDING_SQL} ORDER BY e.id LIMIT 1",
        (face_id, annotator, before),
    ).fetchone()
    return row[0] if row else None
