"""Defaults the import options and the readers share (cheap to import: no PyAV)."""

DEFAULT_FPS = 1.0  # video frames kept per second of video

# The expression corpora read in their own layouts (importer/corpora), in the order
# ``--format auto`` tries to recognise them (the most specific layout first).
CORPORA = ("mmi", "ckplus", "affectnet", "rafdb", "jaffe")
# What ``--format`` accepts: ``auto`` recognises a corpus from its layout, else reads
# the path by its kind, as a plain folder, zip, FER2013-style CSV, video or URL list.
PLAIN_FORMATS = ("folder", "zip", "fer2013-csv", "video", "image", "url-list")
FORMAT_CHOICES = ("auto", *PLAIN_FORMATS, *CORPORA)
FRAME_CHOICES = ("apex", "all")  # --frames: a sequence's apex and first frames, or every 1/fps s
APEX_FRAMES = 3  # frames kept around a sequence's peak (--apex-frames)
MAX_APEX_FRAMES = 50
