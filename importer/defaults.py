"""Defaults the import options and the readers share (cheap to import: no PyAV)."""

DEFAULT_FPS = 1.0  # video frames kept per second of video
