"""The MMI Facial Expression Database, read in its download layout.

``Sessions/<session id>/`` holds, per session:

- ``session.xml``: the session (its ``track`` element has a ``view`` attribute,
  ``annotation`` elements name the annotation files); the subject is taken from it
  where it gives one (a ``subject`` element or attribute), else from the media
  file's name (``S001-001.avi``: subject ``S001``);
- one media file, ``<name>.avi`` (most sessions) or ``<name>.jpg``;
- ``<name>.xml``: ``<Metatag Name="Emotion" Value="N"/>``, N as in codes.toml
  ([mmi]: 1 anger .. 6 surprise); absent: the session is unlabelled, another
  value: unlabelled too (the code kept as ``refused_code``);
- ``<name>-oao_aucs.xml`` (many videos): ``<ActionUnit Number="12"><Marker
  Frame="F" Type="T"/>...`` with frames from 1 and types 1 onset, 2 apex, 3 offset.

A video's frames are chosen by importer.corpora.sequences: the apex within the
span the markers cover (earliest to latest marker of any action unit), or in the
whole video, and the first frame as a neutral vote. XML is parsed with the standard
library after a size cap, and a file with a DOCTYPE (entities) is refused, so no
entity is ever expanded. Each bad file is one refusal and the rest of the corpus
is read: a malformed label or marker file leaves its session unlabelled or
without markers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from importer.corpora import CorpusFormat, CorpusOptions, code_words
from importer.corpora.files import image_item
from importer.corpora.sequences import (
    ClipError,
    Label,
    Peak,
    VideoClip,
    clip_items,
    video_all_frames,
)
from importer.items import Item, Refusal, is_ignored, kind_of

NAME = "mmi"
SESSIONS = "Sessions"
SESSION_FILE = "session.xml"
MARKERS_SUFFIX = "-oao_aucs"
MAX_XML_BYTES = 4 << 20  # MMI's XML files are a few KB
APEX_MARKER = "2"  # Marker Type: 1 onset, 2 apex, 3 offset
T = TypeVar("T")
_SUBJECT_PREFIX = re.compile(r"^(S\d+)[-_]", re.IGNORECASE)  # S001-001.avi


class XmlRefused(Exception):
    """An XML file that is not read; the message is the refusal's detail."""


# --- the XML files ------------------------------------------------------------------


def parse_xml(data: bytes) -> ET.Element:
    """The root of a small XML document, refusing DOCTYPEs (entities) and huge files."""
    if len(data) > MAX_XML_BYTES:
        raise XmlRefused(f"{len(data)} bytes is over {MAX_XML_BYTES}")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise XmlRefused("has a DOCTYPE or entities (not read)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise XmlRefused(f"malformed XML: {e}") from None


def emotion_code(root: ET.Element) -> str | None:
    """The ``Value`` of the ``<Metatag Name="Emotion">`` (None: there is none)."""
    for tag in root.iter("Metatag"):
        if (tag.get("Name") or "").strip().lower() == "emotion":
            value = (tag.get("Value") or "").strip()
            return value or None
    return None


def emotion_label(root: ET.Element) -> Label:
    """The session's label: the Emotion metatag's code and its word (codes.toml [mmi])."""
    return Label.of(emotion_code(root), code_words(NAME))


@dataclass(frozen=True)
class Markers:
    """The frames an oao_aucs file marks: all of them, and the apex markers."""

    frames: tuple[int, ...]  # every marker's frame, sorted
    apex: tuple[int, ...]  # the apex (Type 2) markers' frames, sorted

    @property
    def span(self) -> tuple[int, int] | None:
        """From the earliest to the latest marker of any action unit."""
        return (self.frames[0], self.frames[-1]) if self.frames else None


def action_unit_markers(root: ET.Element) -> Markers:
    """The markers of every ``ActionUnit`` (its Number may read "28B"; not needed here).

    A marker without a whole, positive frame number is skipped.
    """
    frames: set[int] = set()
    apex: set[int] = set()
    for unit in root.iter("ActionUnit"):
        for marker in unit.iter("Marker"):
            try:
                frame = int((marker.get("Frame") or "").strip())
            except ValueError:
                continue
            if frame < 1:
                continue
            frames.add(frame)
            if (marker.get("Type") or "").strip() == APEX_MARKER:
                apex.add(frame)
    return Markers(tuple(sorted(frames)), tuple(sorted(apex)))


def session_subject(root: ET.Element) -> str | None:
    """The subject a session.xml names, if it does (an element or attribute ``subject``)."""
    for el in root.iter():
        if el.tag.lower() == "subject":
            for key in ("id", "name", "value"):
                if el.get(key):
                    return el.get(key).strip()
            if el.text and el.text.strip():
                return el.text.strip()
        for key, value in el.attrib.items():
            if key.lower() in ("subject", "subjectid", "subject_id") and value.strip():
                return value.strip()
    return None


def subject_from_name(name: str) -> str | None:
    """``S001-001.avi`` -> ``S001`` (MMI names media by subject and take)."""
    m = _SUBJECT_PREFIX.match(name)
    return m.group(1).upper() if m else None


# --- the layout -----------------------------------------------------------------------


def sessions_folder(root: Path) -> Path | None:
    """``root/Sessions``, or root itself when it is the Sessions folder."""
    for folder in (root / SESSIONS, root):
        if folder.is_dir() and any((d / SESSION_FILE).is_file() for d in _dirs(folder)[:20]):
            return folder
    return None


def _dirs(folder: Path) -> list[Path]:
    try:
        return sorted((d for d in folder.iterdir() if d.is_dir()), key=_session_order)
    except OSError:
        return []


def _session_order(d: Path) -> tuple[int, str]:
    """Sessions are numbered: 2 before 10."""
    return (int(d.name), "") if d.name.isdigit() else (1 << 62, d.name)


def detect(root: Path) -> bool:
    """A ``Sessions`` folder of session folders with a ``session.xml`` each."""
    return sessions_folder(root) is not None


def read(root: Path, opts: CorpusOptions) -> Iterator[Item]:
    """Every session's media: a video's apex and first frames, or the image, as mmi votes."""
    folder = sessions_folder(root)
    if folder is None:
        return
    for session in _dirs(folder):
        if not is_ignored(session.name):
            yield from _session(root, session, opts)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _annotation(root: Path, path: Path, parse: Callable[[ET.Element], T]) -> T | Refusal | None:
    """What ``parse`` makes of an XML file, or why it cannot be read (None: no such file)."""
    if not path.is_file():
        return None
    rel = _rel(root, path)
    try:
        return parse(parse_xml(path.read_bytes()))
    except XmlRefused as e:
        return Refusal(rel, "bad_xml", str(e))
    except OSError as e:
        return Refusal(rel, "unreadable", str(e))


def _session(root: Path, session: Path, opts: CorpusOptions) -> Iterator[Item]:
    """One session folder: its media files, each with its label and markers."""
    subject = _annotation(root, session / SESSION_FILE, session_subject)
    if isinstance(subject, Refusal):
        yield subject
        subject = None
    files = sorted(p for p in session.iterdir() if p.is_file() and not is_ignored(p.name))
    media = {p.stem: p for p in files if kind_of(p.name) in ("video", "image")}
    labelled = {
        p.stem
        for p in files
        if p.suffix.lower() == ".xml" and p.name != SESSION_FILE and MARKERS_SUFFIX not in p.stem
    }
    for stem in sorted(labelled - media.keys()):
        yield Refusal(
            _rel(root, session / f"{stem}.xml"),
            "missing_file",
            "the session's media file (.avi or .jpg) is not in the folder",
        )
    if not media and not labelled:
        yield Refusal(_rel(root, session), "missing_file", "no media file in the session")
    for _, path in sorted(media.items()):
        yield from _media(root, session, path, subject or subject_from_name(path.name), opts)


def _media(
    root: Path, session: Path, path: Path, subject: str | None, opts: CorpusOptions
) -> Iterator[Item]:
    rel = _rel(root, path)
    label = _annotation(root, session / f"{path.stem}.xml", emotion_label)
    if isinstance(label, Refusal):
        yield label
    if not isinstance(label, Label):
        label = Label()
    if kind_of(path.name) == "image":
        yield image_item(path, rel, opts.read, annotator=NAME, subject=subject, **label.fields())
        return
    if opts.frames == "all":
        yield from video_all_frames(path, rel, subject, NAME, opts)
        return
    markers = _annotation(root, session / f"{path.stem}{MARKERS_SUFFIX}.xml", action_unit_markers)
    if isinstance(markers, Refusal):
        yield markers
    if not isinstance(markers, Markers):
        markers = Markers((), ())
    try:
        clip = VideoClip(path, rel, opts.read)
    except ClipError as e:
        yield Refusal(rel, e.reason, e.detail)
        return
    yield from clip_items(clip, _peak(markers), label, NAME, subject, opts)


def _peak(markers: Markers) -> Peak:
    """Where to look: the markers' span (or the whole video), the apex markers as fallback."""
    span = markers.span
    if span is None:
        return Peak()
    return Peak(span[0], span[1], "apex:markers", markers.apex, "apex:markers")


FORMAT = CorpusFormat(NAME, detect, read)
