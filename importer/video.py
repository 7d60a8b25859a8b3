"""Video files: frames sampled at a steady rate with PyAV (FFmpeg's maintained bindings).

A frame is kept when its presentation time reaches the next sampling instant,
so the rate holds whatever the video's own frame rate (or a variable one). A
file that claims to be a video and is not, or that breaks mid-stream, is a
refusal with its reason; the frames read before a break are kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av

from importer.defaults import DEFAULT_FPS
from importer.errors import ImportRefused
from importer.items import Candidate, Items, Refusal


@dataclass(frozen=True)
class VideoOptions:
    """How frames are sampled from a video."""

    fps: float = DEFAULT_FPS  # frames kept per second of video
    max_frames: int = 10_000  # per video: a runaway stream must not fill the disk
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        if not self.fps > 0 or self.max_frames < 1:
            raise ImportRefused(f"--fps must be above 0 (got {self.fps})")


def _jpeg(frame: av.VideoFrame, quality: int) -> bytes:
    buf = io.BytesIO()
    frame.to_image().save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def read_video(
    source: Path | BinaryIO,
    import_path: str,
    label_word: str | None,
    opts: VideoOptions = VideoOptions(),
) -> Items:
    """Candidates, one per sampled frame, from a video file or file object."""
    try:
        container = av.open(source if not isinstance(source, Path) else str(source), mode="r")
    except (av.FFmpegError, OSError, ValueError) as e:
        yield Refusal(import_path, "not_a_video", str(e) or type(e).__name__)
        return
    with container:
        if not container.streams.video:
            yield Refusal(import_path, "not_a_video", "the file has no video stream")
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1.0 / opts.fps
        next_time, kept, index = 0.0, 0, -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = (
                    frame.time
                    if frame.time is not None
                    else index / float(stream.average_rate or 25)
                )
                if t + 1e-6 < next_time:
                    continue
                yield Candidate(
                    _jpeg(frame, opts.jpeg_quality), import_path, label_word, index, round(t, 3)
                )
                kept += 1
                next_time = (int(t / step + 1e-6) + 1) * step
                if kept >= opts.max_frames:
                    break
        except (av.FFmpegError, OSError, ValueError) as e:
            yield Refusal(import_path, "broken_video", f"after frame {index}: {e}")
            return
        if kept == 0:
            yield Refusal(import_path, "not_a_video", "no frame could be decoded")
