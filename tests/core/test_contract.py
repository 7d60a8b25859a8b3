"""The stage contract: options declared once, checked the same by check_options and the CLI."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.cli import OneLineParser, add_flags, from_args, terminal_progress
from core.contract import (
    OptionError,
    Progress,
    StageSummary,
    check_options,
    option,
    report,
    to_jsonable,
)


@dataclass(frozen=True)
class Inner:
    retries: int = option(3, help="retries", low=0, high=10)
    read_timeout: float = option(20.0, help="read timeout", flag="--timeout", above=0)
    secret: str = option("x", help="not on the command line", cli=False)


@dataclass(frozen=True)
class Toy:
    path: Path = option(help="the input", metavar="PATH", positional=True)
    mode: str = option("fast", help="how", choices=("fast", "slow"))
    count: int | None = option(None, help="how many", metavar="N", low=1)
    ratio: float = option(0.5, help="a fraction", low=0, high=1)
    color: bool = option(False, help="colour", off_flag="--gray", off_help="gray")
    verbose: bool = option(False, help="say more")
    name: str = option("anon", help="a name", required=True)
    inner: Inner = Inner()
    plain: int = 7  # not an option: never a flag
    tags: tuple[str, ...] = option(
        ("a", "b"), help="tags", parse=lambda t: tuple(t.split(",")), metavar="T,T"
    )


def parser_for(*classes: type) -> OneLineParser:
    p = OneLineParser(prog="toy")
    for cls in classes:
        add_flags(p, cls)
    return p


def parse(argv: list[str], *classes: type) -> tuple[int | None, str]:
    """(exit code or None, stderr) of parsing argv."""
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            parser_for(*(classes or (Toy,))).parse_args(argv)
        except SystemExit as e:
            return e.code, err.getvalue()
    return None, err.getvalue()


def test_defaults_choices_and_nested_options_round_trip():
    args = parser_for(Toy).parse_args(["in.png", "--name", "n"])
    opts = from_args(Toy, args)
    assert opts == Toy(Path("in.png"), name="n")
    args = parser_for(Toy).parse_args(
        ["x", "--name", "n", "--mode", "slow", "--count", "4", "--ratio", "1", "--color",
         "--verbose", "--retries", "0", "--timeout", "2.5", "--tags", "p,q,r"]
    )  # fmt: skip
    opts = from_args(Toy, args)
    assert (opts.mode, opts.count, opts.ratio, opts.color, opts.verbose) == (
        "slow",
        4,
        1.0,
        True,
        True,
    )
    assert opts.inner == Inner(retries=0, read_timeout=2.5)  # nested flags flattened, rebuilt
    assert opts.tags == ("p", "q", "r") and opts.plain == 7
    assert from_args(Toy, parser_for(Toy).parse_args(["x", "--name", "n", "--gray"])).color is False


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--count", "0"], "--count"),
        (["--count", "1.5"], "not a whole number"),
        (["--ratio", "1.01"], "between 0 and 1"),
        (["--ratio", "nan"], "not a finite number"),
        (["--retries", "11"], "between 0 and 10"),
        (["--timeout", "0"], "> 0"),
        (["--mode", "medium"], "invalid choice"),
        (["--color", "--gray"], "not allowed with"),
        (["--secret", "y"], "unrecognized"),
        (["--plain", "1"], "unrecognized"),
        (["--count=--"], "expected a value"),
    ],
)
def test_generated_flags_refuse_what_the_spec_refuses(argv, needle):
    code, err = parse(["x", "--name", "n", *argv])
    assert code == 2 and needle in err
    assert err.startswith("facesift: error: ") and err.count("\n") == 1


def test_required_and_positional():
    code, err = parse(["--name", "n"])  # no path
    assert code == 2 and "PATH" in err
    code, err = parse(["x"])  # --name is required on the command line only
    assert code == 2 and "--name" in err
    assert Toy(Path("x")).name == "anon"


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"count": 0}, "--count 0 is not >= 1"),
        ({"ratio": -0.1}, "--ratio -0.1 is not between 0 and 1"),
        ({"ratio": float("inf")}, "not a finite number"),
        ({"mode": "medium"}, "unknown mode 'medium' (--mode): use one of fast, slow"),
        ({"inner": Inner(retries=-1)}, "--retries -1 is not between 0 and 10"),
        ({"inner": Inner(read_timeout=0.0)}, "--timeout 0 is not > 0"),
    ],
)
def test_check_options_enforces_the_same_bounds_for_callers_without_a_cli(changes, needle):
    opts = dataclasses.replace(Toy(Path("x")), **changes)
    with pytest.raises(OptionError) as e:
        check_options(opts)
    assert needle in str(e.value)


def test_check_options_accepts_the_defaults_and_the_bounds_themselves():
    check_options(Toy(Path("x")))
    check_options(Toy(Path("x"), count=1, ratio=0.0, inner=Inner(retries=10)))
    check_options(Toy(Path("x"), ratio=1.0, inner=Inner(retries=0, read_timeout=1e-9)))


def test_help_documents_every_flag_with_its_default(capsys):
    with pytest.raises(SystemExit):
        parser_for(Toy).parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for flag in ("--mode", "--count", "--ratio", "--color", "--gray", "--verbose", "--name",
                 "--retries", "--timeout", "--tags", "PATH"):  # fmt: skip
        assert flag in out
    assert "how (default: fast)" in out and "read timeout (default: 20)" in out
    assert "a fraction (default: 0.5)" in out and "tags (default: a,b)" in out
    assert "how many (default" not in out  # None: no default shown
    assert "--secret" not in out and "--plain" not in out


def test_flags_already_on_a_parser_are_kept():
    @dataclass(frozen=True)
    class Other:
        mode: str = option("x", help="another mode")  # same flag as Toy's --mode
        extra: int = option(1, help="extra", low=0)

    p = parser_for(Toy, Other)
    args = p.parse_args(["x", "--name", "n", "--mode", "slow", "--extra", "2"])
    assert from_args(Toy, args).mode == "slow" and from_args(Other, args).extra == 2


def test_progress_and_summaries():
    seen: list[Progress] = []
    report(seen.append, Progress("extract", 3, 4, "image", "2 faces"))
    report(None, Progress("extract", 4, 4))  # no callback: nothing to do
    assert seen == [Progress("extract", 3, 4, "image", "2 faces")]
    assert seen[0].fraction == 0.75 and Progress("import", 5).fraction is None

    @dataclass
    class Summary(StageSummary):
        out: Path
        counts: dict = field(default_factory=dict)
        rate: float = float("nan")

        def line(self) -> str:
            return f"{self.out}"

    s = Summary(Path("/x"), {"a": (1, 2)})
    assert s.as_dict() == {"out": "/x", "counts": {"a": [1, 2]}, "rate": None}
    assert to_jsonable({1: {2, 3}}) in ({"1": [2, 3]}, {"1": [3, 2]})


def test_terminal_progress_draws_a_bar_per_stage_and_closes_it(capsys):
    assert terminal_progress(False) is None
    bar = terminal_progress(True)
    for i in range(1, 6):
        bar(Progress("export", i, 5, "face", f"{i} done"))
    err = capsys.readouterr().err
    assert "export" in err and "5/5" in err
