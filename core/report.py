"""Plain-text tables for the command line's summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def format_table(
    head: Sequence[str], rows: Sequence[Sequence[str]], free_last: bool = False
) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned.

    ``free_last`` leaves the last column unpadded (a free-text message).
    """
    fixed = len(head) - 1 if free_last else len(head)
    table = [list(head), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(fixed)]
    lines = []
    for r in table:
        cells = [
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(r[:fixed], widths, strict=True))
        ]
        lines.append("  ".join(cells + r[fixed:]).rstrip())
    return "\n".join(lines)


def counts_text(counts: Counter) -> str:
    """``reason n, reason n``: a summary's counts, most common first."""
    return ", ".join(f"{k} {n}" for k, n in counts.most_common())
