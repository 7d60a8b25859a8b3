"""Every corpus reader, in the order ``--format auto`` tries to recognise them."""

from __future__ import annotations

from pathlib import Path

from importer.corpora import CorpusFormat
from importer.corpora.affectnet import FORMAT as AFFECTNET
from importer.corpora.ckplus import FORMAT as CKPLUS
from importer.corpora.jaffe import FORMAT as JAFFE
from importer.corpora.mmi import FORMAT as MMI
from importer.corpora.rafdb import FORMAT as RAFDB

# The most specific layout first (importer.defaults.CORPORA's order): JAFFE, recognised
# by file names alone, last.
FORMATS: tuple[CorpusFormat, ...] = (MMI, CKPLUS, AFFECTNET, RAFDB, JAFFE)


def corpus_format(name: str) -> CorpusFormat:
    """The reader of a corpus by name (KeyError if there is none)."""
    return {f.name: f for f in FORMATS}[name]


def detect_corpus(root: Path) -> CorpusFormat | None:
    """The corpus a folder is laid out as, or None (then it is read as a plain folder)."""
    if not root.is_dir():
        return None
    return next((f for f in FORMATS if f.detect(root)), None)
