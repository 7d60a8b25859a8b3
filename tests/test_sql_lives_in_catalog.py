"""SQL lives in catalog/ and curation_ui/queries.py: no other first-party module spells or runs it.

Every module of the packages below and pipeline.py is read as a syntax tree (tests,
benchmarks and scripts are not checked). A string constant that looks like SQL, or a
call of ``execute``, ``executemany``, ``executescript`` or pandas' ``read_sql*``,
fails the test with the file and line: the statement belongs in a function of
``catalog/`` (or, for a page of the review app, ``curation_ui/queries.py``) that the
module calls. ``import sqlite3`` stays allowed (type hints, ``sqlite3.Row``).

A string looks like SQL when the detector of the view check
(tests/curation_ui/test_no_sql_in_views.py) finds a statement in it, or when it starts,
after whitespace, with an SQL keyword in capitals (``SELECT``, ``INSERT``, ``UPDATE``,
``DELETE``, ``CREATE``, ``WITH``, ``PRAGMA``, ``REPLACE``), which catches the pieces of
a statement built from parts (``"SELECT p.face_id "``, an f-string's text). Keywords
in any case would also catch prose: "Create a dataset", "with --headful", errors="replace".
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import REPO
from tests.curation_ui.test_no_sql_in_views import SQL_CALLS, SQL_TEXT

PACKAGES = ("core", "scraper", "importer", "faces", "model", "exporter", "takedown", "curation_ui")
MODULES = ("pipeline.py",)
SQL_HOMES = ("catalog/", "curation_ui/queries.py")  # where SQL belongs: not checked

SQL_START = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH|PRAGMA|REPLACE)\b")


def looks_like_sql(text: str) -> bool:
    """Whether a string constant reads as SQL or a piece of an SQL statement."""
    return bool(SQL_TEXT.search(text) or SQL_START.match(text))


def sql_in(source: str) -> list[tuple[int, str]]:
    """(line, what) for each string constant that looks like SQL and each SQL call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if looks_like_sql(node.value):
                found.append((node.lineno, f"SQL text {node.value.strip()[:50]!r}"))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SQL_CALLS:
                found.append((node.lineno, f"calls {name}()"))
    return sorted(found)


def first_party_modules() -> list[str]:
    """Every checked module, as a path relative to the repository."""
    paths = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    paths += [REPO / m for m in MODULES]
    names = sorted(p.relative_to(REPO).as_posix() for p in paths)
    return [n for n in names if not n.startswith(SQL_HOMES)]


def _report(uses: list[tuple[int, str]]) -> str:
    return "; ".join(f"line {line}: {what}" for line, what in uses)


def test_every_package_and_pipeline_is_checked():
    modules = set(first_party_modules())
    for pkg in PACKAGES:
        assert any(m.startswith(f"{pkg}/") for m in modules), pkg
    assert {"pipeline.py", "scraper/stage.py", "curation_ui/queue.py"} <= modules
    assert not any(m.startswith("catalog/") for m in modules)
    assert "curation_ui/queries.py" not in modules


@pytest.mark.parametrize("name", first_party_modules())
def test_module_holds_no_sql(name: str):
    uses = sql_in((REPO / name).read_text(encoding="utf-8"))
    assert not uses, (
        f"{name} has SQL (move it into a function of catalog/, or of curation_ui/queries.py "
        f"for the review app): {_report(uses)}"
    )


@pytest.mark.parametrize(
    "source",
    [
        "conn.execute(q)",
        "cat.conn.executemany(q, rows)",
        "conn.executescript(script)",
        "pd.read_sql_query(q, conn)",
        "q = 'SELECT id FROM faces WHERE x = ?'",
        "q = '  select path from images'",
        "q = ('INSERT OR IGNORE INTO downloads (url, updated_at) ' 'VALUES (?, ?)')",
        "q = f'UPDATE faces SET chip_path = {x}'",
        "q = 'DELETE FROM faces'",
        "q = 'CREATE INDEX i ON faces (phash)'",
        "q = 'PRAGMA foreign_keys = ON'",
        "q = 'REPLACE INTO meta VALUES (?, ?)'",
        "q = 'WITH RECURSIVE n(x) AS (VALUES (1)) SELECT x FROM n'",
        "q = 'SELECT COUNT(*) ' + rest",
        "q = f'SELECT p.face_id {base} AND x > ?'",
        "q = 'EXISTS (SELECT 1 FROM label_events e WHERE e.face_id = s.face_id)'",
    ],
)
def test_the_check_sees_sql(source: str):
    assert sql_in(source)


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3\ndef f(conn: sqlite3.Connection) -> sqlite3.Row: ...",
        "rows = hashed_faces(conn)",
        "def f():\n    '''Create a dataset (optionally with its own label set).'''",
        "option(help='with --headful: seconds to wait for you to pass a check')",
        "name.decode('utf-8', 'replace')",
        "st.caption('Delete a stored file, then update the card')",
        "'Select, group and split the faces'",
        "x = ' with a label'",
        "pool.submit(job)",
    ],
)
def test_the_check_lets_prose_and_calls_through(source: str):
    assert not sql_in(source)
