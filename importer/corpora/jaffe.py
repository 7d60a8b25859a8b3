"""JAFFE (the Japanese Female Facial Expression database): labels in the file names.

A flat folder of 213 images named ``KA.AN1.39.tiff``: the subject's initials
(``KA``; ten women), the expression's letters (``AN DI FE HA NE SA SU``, see
``codes.toml``) with the take number, the image number, and the extension (the
release is TIFF; copies in circulation are often JPEG or PNG: any image extension).
Recognised by the names alone: most image files of the folder must match. A file
whose name does not match is recorded (``unrecognised_name``), not imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from importer.corpora import CorpusFormat, CorpusOptions, code_words
from importer.corpora.files import CORPUS_IMAGE_EXTS, image_item
from importer.items import Item, Refusal, extension, is_ignored

NAME = "jaffe"
# Subject initials, expression letters + take, image number, extension.
_PATTERN = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.([A-Za-z]+)$")
DETECT_SHARE = 0.8  # share of a folder's image files that must be JAFFE names


def parse_name(name: str) -> tuple[str, str] | None:
    """``(subject, expression code)`` of a JAFFE file name, or None."""
    m = _PATTERN.match(name)
    if m is None or m.group(2) not in code_words(NAME):
        return None
    return m.group(1), m.group(2)


def _images(root: Path) -> list[Path]:
    """The image files directly in the folder (JAFFE is flat), by name."""
    return sorted(
        p
        for p in root.iterdir()
        if not is_ignored(p.name) and extension(p.name) in CORPUS_IMAGE_EXTS and p.is_file()
    )


def detect(root: Path) -> bool:
    """A flat folder whose image files are mostly named as JAFFE names them."""
    try:
        images = _images(root)
    except OSError:
        return False
    if not images or any(p.is_dir() and not is_ignored(p.name) for p in root.iterdir()):
        return False
    matching = sum(parse_name(p.name) is not None for p in images)
    return matching >= DETECT_SHARE * len(images)


def read(root: Path, opts: CorpusOptions) -> Iterator[Item]:
    """Every JAFFE image with its subject and its expression as a vote of ``jaffe``."""
    words = code_words(NAME)
    for path in _images(root):
        parsed = parse_name(path.name)
        if parsed is None:
            yield Refusal(path.name, "unrecognised_name", "not SUBJECT.EXPRn.N.ext")
            continue
        subject, code = parsed
        yield image_item(
            path,
            path.name,
            opts.read,
            label_word=words[code],
            annotator=NAME,
            label_code=code,
            subject=subject,
        )


FORMAT = CorpusFormat(NAME, detect, read)
