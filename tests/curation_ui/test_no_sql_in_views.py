"""Page modules (curation_ui/views/) call functions; SQL lives in catalog/ and queries.py.

And every callback a page registers shows a FacesiftError as one line (see the end).

Read from each view module's syntax tree: a call of ``execute``, ``executemany``,
``executescript`` or pandas' ``read_sql*``, an ``import sqlite3``, or a string
literal that reads as SQL fails the test with the file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

VIEWS = REPO / "curation_ui" / "views"
SQL_CALLS = {"execute", "executemany", "executescript", "read_sql", "read_sql_query"}
SQL_TEXT = re.compile(
    r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(TABLE|INDEX|VIEW)\b|\bPRAGMA\b",
    re.IGNORECASE | re.DOTALL,
)


def sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place in a module's source that executes or spells SQL."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SQL_CALLS:
                found.append((node.lineno, f"calls {name}()"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "sqlite3" in names:
                found.append((node.lineno, "imports sqlite3"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_TEXT.search(node.value)
        ):
            found.append((node.lineno, f"SQL text {node.value[:40]!r}"))
    return found


def _view_modules() -> list[Path]:
    return sorted(p for p in VIEWS.glob("*.py") if p.name != "__init__.py")


def test_there_are_view_modules_to_check():
    names = {p.stem for p in _view_modules()}
    assert {"queue", "importing", "review", "stats", "export"} <= names


@pytest.mark.parametrize("path", _view_modules(), ids=lambda p: p.name)
def test_view_module_executes_no_sql(path: Path):
    uses = sql_uses(path.read_text(encoding="utf-8"))
    assert not uses, f"{path.name} has SQL (move it to curation_ui/queries.py): " + "; ".join(
        f"line {line}: {what}" for line, what in uses
    )


@pytest.mark.parametrize(
    "source",
    [
        "cat.conn.execute('SELECT 1')",
        "conn.executemany(q, rows)",
        "conn.executescript(script)",
        "pd.read_sql(q, conn)",
        "import sqlite3",
        "from sqlite3 import connect",
        "q = 'SELECT id FROM faces WHERE x = ?'",
        "q = ('select path ' 'from images')",
        "q = f'UPDATE faces SET chip_path = {x}'",
        "q = 'INSERT OR REPLACE INTO meta VALUES (1, 2)'",
        "q = 'DELETE FROM faces'",
    ],
)
def test_the_check_sees_sql(source: str):
    assert sql_uses(source)


@pytest.mark.parametrize(
    "source",
    [
        "st.button('Select all')",
        "st.caption('Update the faces you selected, then delete nothing')",
        "st.selectbox('From', options)",
        "rows = queries.face_page(conn, flt, 0)",
    ],
)
def test_the_check_lets_plain_text_and_calls_through(source: str):
    assert not sql_uses(source)


# --- every page action shows a FacesiftError as one line ---------------------------------


def unguarded_callbacks(source: str) -> list[str]:
    """Callbacks (``on_click=`` / ``on_change=`` a function of the module) not wrapped in
    ``session.shows_errors``: a FacesiftError raised in one would show a traceback."""
    tree = ast.parse(source)
    guarded = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).endswith("shows_errors") for d in node.decorator_list)
    }
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return sorted(
        {
            kw.value.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            for kw in node.keywords
            if kw.arg in ("on_click", "on_change", "on_submit")
            and isinstance(kw.value, ast.Name)
            and kw.value.id in defined
            and kw.value.id not in guarded
        }
    )


@pytest.mark.parametrize("path", _view_modules(), ids=lambda p: p.name)
def test_every_callback_of_a_view_shows_errors_as_one_line(path: Path):
    assert unguarded_callbacks(path.read_text(encoding="utf-8")) == []


def test_the_callback_check_sees_an_unwrapped_callback():
    source = (
        "@session.shows_errors\ndef ok(): pass\n"
        "def bad(): pass\n"
        "st.button('a', on_click=ok)\nst.button('b', on_click=bad)\n"
        "st.toggle('c', on_change=bad)\n"
    )
    assert unguarded_callbacks(source) == ["bad"]
