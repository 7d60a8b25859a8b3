"""A corpus's clips (MMI's videos, CK+'s image sequences) turned into the frames kept.

``--frames apex`` (the default) keeps, per clip, the apex frames that
:mod:`importer.corpora.apex` finds (with the corpus's label, ``frame_how``
``apex:markers`` when the corpus's markers gave the span, else ``apex:prior``)
and the first frame as a ``neutral`` vote (``frame_how`` ``first``): both corpora
start every clip on a neutral face. Where no face can be rated, the frames the
corpus itself names as the peak are kept instead (MMI's apex markers, CK+'s last
frame, ``apex:markers`` / ``apex:last``), else the clip's apex is one refusal.

``--frames all`` keeps every frame of a video at ``--fps`` (importer.video's own
sampling) and every image of a sequence, with the subject and no label: a corpus's
label names the peak, not each frame of the clip.

Frame numbers are the corpus's own, from 1 (MMI's markers count so; CK+'s file
names carry theirs).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import av
from PIL import Image, UnidentifiedImageError

from importer.corpora import CorpusOptions
from importer.corpora import apex as apex_mod
from importer.corpora.files import image_bytes
from importer.items import Candidate, Item, Refusal
from importer.readers import ReadOptions, read_file

NEUTRAL = "neutral"


@dataclass(frozen=True)
class Label:
    """What a corpus says a clip shows: its word (None: unlabelled) and code."""

    word: str | None = None
    code: str | None = None
    refused: str | None = None  # a code the corpus does not map to a word

    @classmethod
    def of(cls, code: str | None, words: Mapping[str, str]) -> Label:
        """The label of ``code`` in a corpus's ``words`` (an unknown code is kept as refused)."""
        if code is None:
            return cls()
        if code in words:
            return cls(words[code], code)
        return cls(refused=code)

    def fields(self) -> dict[str, str | None]:
        """The Candidate fields that carry this label."""
        return {"label_word": self.word, "label_code": self.code, "refused_code": self.refused}


class ClipError(Exception):
    """A clip that cannot be read: its refusal reason and detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class Clip(Protocol):
    """A video or an image sequence, its frames numbered from 1."""

    import_path: str
    problems: list[Refusal]  # frames that could not be read (reported once each)

    def count(self) -> int:
        """How many frames the clip has (at most the read limits)."""

    def load(self, wanted: Sequence[int]) -> Mapping[int, Image.Image]:
        """The wanted frames that exist and decode, as RGB images."""

    def frame_item(self, index: int, **fields) -> Candidate | Refusal:
        """A loaded frame as a candidate (its bytes, import path and frame number)."""


# --- videos -------------------------------------------------------------------------


class VideoClip:
    """A video file read with PyAV; every frame is decoded, only the wanted ones kept."""

    def __init__(self, path: Path, import_path: str, opts: ReadOptions):
        self.path, self.import_path, self.opts = path, import_path, opts
        try:
            size = path.stat().st_size
        except OSError as e:
            raise ClipError("unreadable", str(e)) from None
        if size > opts.max_video_bytes:
            raise ClipError("too_large", f"{size} bytes is over {opts.max_video_bytes}")
        self._frames: dict[int, tuple[Image.Image, float | None]] = {}
        self._count: int | None = None
        self.problems: list[Refusal] = []  # a break mid-stream (the frames before are kept)
        self._end: int | None = None  # the last frame before a break

    def _open(self) -> av.container.InputContainer:
        try:
            container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError, ValueError) as e:
            raise ClipError("not_a_video", str(e) or type(e).__name__) from None
        if not container.streams.video:
            container.close()
            raise ClipError("not_a_video", "the file has no video stream")
        return container

    def count(self) -> int:
        """The frames the container declares, else the packets it holds (no decoding)."""
        if self._count is None:
            with self._open() as container:
                stream = container.streams.video[0]
                n = stream.frames
                if not n:
                    try:
                        n = sum(1 for p in container.demux(stream) if p.size)
                    except (av.FFmpegError, OSError, ValueError) as e:
                        raise ClipError("broken_video", str(e)) from None
            if not n:
                raise ClipError("not_a_video", "no frame in the video")
            self._count = min(n, self.opts.video.max_frames)
        return self._count

    def load(self, wanted: Sequence[int]) -> Mapping[int, Image.Image]:
        """Decode from the start up to the last wanted frame (AVI seeking is unreliable)."""
        todo = {i for i in wanted if i not in self._frames}
        if todo:
            self._decode(todo)
        return {i: self._frames[i][0] for i in wanted if i in self._frames}

    def _decode(self, todo: set[int]) -> None:
        last, index = min(max(todo), self._end or max(todo)), 0
        if last < 1:
            return
        with self._open() as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for index, frame in enumerate(container.decode(stream), start=1):
                    if index in todo:
                        self._frames[index] = (frame.to_image(), frame.time)
                    if index >= last:
                        break
            except (av.FFmpegError, OSError, ValueError) as e:
                # As a plain import does: the frames before the break are kept, said once.
                self._end = index
                self.problems.append(
                    Refusal(self.import_path, "broken_video", f"after frame {index}: {e}")
                )
        if index == 0 and not self._frames:
            raise ClipError("not_a_video", "no frame could be decoded")

    def frame_item(self, index: int, **fields) -> Candidate | Refusal:
        """A decoded frame as JPEG (the quality plain video imports use)."""
        image, time = self._frames[index]
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=self.opts.video.jpeg_quality)
        where = f"{self.import_path}#frame={index}"
        t = None if time is None else round(time, 3)
        return Candidate(buf.getvalue(), where, frame_index=index, frame_time=t, **fields)


# --- image sequences ----------------------------------------------------------------

_FRAME_NUMBER = re.compile(r"(\d+)$")  # S005_001_00000011.png: frame 11


class ImageSequence:
    """A folder of frames (CK+): the images in name order, stored as they are."""

    def __init__(
        self, files: Sequence[Path], rels: Sequence[str], import_path: str, opts: ReadOptions
    ):
        self.files, self.rels, self.opts = list(files), list(rels), opts
        self.import_path = import_path
        self.problems: list[Refusal] = []  # frames that could not be read, once each

    def count(self) -> int:
        """The number of images."""
        return len(self.files)

    def load(self, wanted: Sequence[int]) -> Mapping[int, Image.Image]:
        """The wanted images that decode (a broken one is one refusal in ``problems``)."""
        out = {}
        for i in wanted:
            try:
                with Image.open(self.files[i - 1]) as img:
                    out[i] = img.convert("RGB")
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
                if all(p.import_path != self.rels[i - 1] for p in self.problems):
                    self.problems.append(Refusal(self.rels[i - 1], "not_an_image", str(e)))
        return out

    def frame_item(self, index: int, **fields) -> Candidate | Refusal:
        """A frame's own file, with the frame number its name carries."""
        data = image_bytes(self.files[index - 1], self.rels[index - 1], self.opts)
        if isinstance(data, Refusal):
            return data
        m = _FRAME_NUMBER.search(self.files[index - 1].stem)
        number = int(m.group(1)) if m else index
        return Candidate(data, self.rels[index - 1], frame_index=number, **fields)


# --- the frames kept ----------------------------------------------------------------


@dataclass(frozen=True)
class Peak:
    """Where a clip's expression is: the span to search and what the corpus says of it."""

    first: int | None = None  # the span (None: the whole clip)
    last: int | None = None
    how: str = "apex:prior"  # frame_how of the frames the prior picks in the span
    fallback: tuple[int, ...] = ()  # the corpus's own peak frames, if nothing can be rated
    fallback_how: str = "apex:markers"


def clip_items(
    clip: Clip, peak: Peak, label: Label, corpus: str, subject: str | None, opts: CorpusOptions
) -> Iterator[Item]:
    """The first frame (a neutral vote) and the apex frames (the corpus's label) of a clip."""
    try:
        n = clip.count()
        if peak.first is not None and peak.first > n:  # markers past the end: not this video's
            peak = Peak()
        first = max(1, peak.first or 1)
        last = max(first, min(peak.last or n, n))
        found = apex_mod.find_apex(first, last, clip.load, apex_mod.new_rater(), opts.apex_frames)
        frames, how = found.frames, peak.how
        if not frames:
            frames = tuple(f for f in peak.fallback if 1 <= f <= n)[: opts.apex_frames]
            how = peak.fallback_how
            clip.load(frames)
        first_frame = clip.load([1]) if opts.neutral_first and 1 not in frames else {}
    except ClipError as e:
        yield Refusal(clip.import_path, e.reason, e.detail)
        return
    yield from clip.problems
    common = {"annotator": corpus, "subject": subject}
    if first_frame:
        yield clip.frame_item(1, label_word=NEUTRAL, frame_how="first", **common)
    if not frames:
        yield Refusal(clip.import_path, "no_apex", "no face to rate and no peak frame given")
        return
    seen: set[bytes] = set()
    for f in frames:
        item = clip.frame_item(f, frame_how=how, **label.fields(), **common)
        if isinstance(item, Candidate):
            if item.data in seen:  # a still clip: the same picture is one image, one vote
                continue
            seen.add(item.data)
        yield item


def video_all_frames(
    path: Path, import_path: str, subject: str | None, corpus: str, opts: CorpusOptions
) -> Iterator[Item]:
    """``--frames all``: a video sampled at ``opts.fps`` as a plain import does, unlabelled."""
    read = replace(opts.read, video=replace(opts.read.video, fps=opts.fps))
    for item in read_file(path, import_path, None, read):
        if isinstance(item, Candidate):
            index = (item.frame_index or 0) + 1  # importer.video counts from 0
            item = replace(
                item,
                import_path=f"{import_path}#frame={index}",
                frame_index=index,
                annotator=corpus,
                subject=subject,
            )
        yield item
