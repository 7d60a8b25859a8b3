"""The base of every error facesift reports to a user as one line."""

# Every character str.splitlines() breaks on, shown as its escape instead: a file name
# or a header can carry one, and a one-line error (or a stored reason) must stay one line.
_LINE_BREAKS = {c: repr(chr(c))[1:-1] for c in (*range(0x0A, 0x0E), 0x1C, 0x1D, 0x1E, 0x85)}
_LINE_BREAKS |= {0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """``text`` with every line break escaped (``\\n``, ``\\x1e``, ...)."""
    return text.translate(_LINE_BREAKS)


class FacesiftError(Exception):
    """An error with a message fit to show as it is: bad input, not a bug."""

    def __str__(self) -> str:
        # Messages quote user input (paths, CSV headers, flag values): keep them one line.
        return one_line(super().__str__())
