"""Read-side queries of the review app: filtered, sorted, paged in SQL.

Nothing here loads a whole table: a grid page is one ``LIMIT``/``OFFSET`` query
and one ``COUNT``, both driven by the ``face_state`` projection and its
indexes. Near-duplicate groups can be collapsed to their best member among the
faces that pass the same filter.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

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
