"""Label sets: the ordered class names a dataset is labelled with.

The order is the class index used by every export. The default set and the
aliases live in ``label_sets.toml`` beside this module.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from core.errors import FacesiftError

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class LabelError(FacesiftError, ValueError):
    """A label or label set that cannot be used."""


@cache
def _data() -> dict:
    return tomllib.loads(resources.files("catalog").joinpath("label_sets.toml").read_text())


def aliases() -> dict[str, str]:
    """Other spellings of labels (``disgusted`` -> ``disgust``)."""
    return dict(_data()["aliases"])


def canonical(word: str) -> str:
    """Lower-case a label word and resolve it through the aliases."""
    w = word.strip().lower()
    return aliases().get(w, w)


@dataclass(frozen=True)
class LabelSet:
    """An ordered, duplicate-free tuple of label names; the position is the class index."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names:
            raise LabelError("a label set needs at least one label")
        for n in self.names:
            if not _NAME.match(n):
                raise LabelError(
                    f"bad label name {n!r}: use lower-case letters, digits, '-' or '_'"
                )
        if len(set(self.names)) != len(self.names):
            raise LabelError(f"duplicate label in {','.join(self.names)}")

    @classmethod
    def default(cls) -> LabelSet:
        """FER2013's seven classes in FER2013's index order."""
        data = _data()
        return cls(tuple(data["sets"][data["default"]]))

    @classmethod
    def parse(cls, text: str) -> LabelSet:
        """Parse ``"happy,sad"`` (aliases allowed) or the name of a known set."""
        known = _data()["sets"]
        if text.strip() in known:
            return cls(tuple(known[text.strip()]))
        words = [canonical(w) for w in text.split(",") if w.strip()]
        return cls(tuple(words))

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical(name) in self.names

    def index(self, name: str) -> int:
        """Class index of a label (aliases allowed); LabelError if it is not in the set."""
        c = canonical(name)
        try:
            return self.names.index(c)
        except ValueError:
            raise LabelError(
                f"unknown label {name!r}; this dataset's labels are {','.join(self.names)}"
            ) from None

    def resolve(self, name: str) -> str:
        """The set's own spelling of a label word; LabelError if it is not in the set."""
        return self.names[self.index(name)]


def reject_reasons() -> dict[str, str]:
    """Reject reason keys (stored in the catalog) and the words people read."""
    return dict(_data()["reject_reasons"])
