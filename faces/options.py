"""What the extract stage can be asked (cheap to import: the CLI builds its flags from it)."""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import option
from core.executor import scheduler_option, workers_option
from faces.defaults import CHIP_PADDING, CHIP_SIZE, NEAR_DUP_BITS

DETECTORS = ("hog", "cnn")
UPSAMPLES = ("auto", "0", "1", "2")
CASCADES = ("auto", "off")


@dataclass(frozen=True)
class ExtractOptions:
    """How to extract; each field's default, bounds and help are the CLI's."""

    detector: str = option(
        "hog",
        help="dlib's HOG detector, or its MMOD CNN (slow on a CPU)",
        choices=DETECTORS,
    )
    upsample: str = option(
        "auto",
        help="detector upsampling; auto retries at 1 only where 0 found nothing "
        "or the image is small",
        choices=UPSAMPLES,
    )
    cascade: str = option(
        "auto",
        help="where HOG finds nothing: auto tries the image framed by a grey border (on "
        "images that look like face crops, or where HOG nearly found one), then dlib's CNN "
        "on it (face crops only); off stops at HOG",
        choices=CASCADES,
    )
    whole_image: bool = option(
        False,
        help="every image is a face crop: the face box is the image, the landmarks "
        "are fitted in it (images imported as face crops are treated so anyway)",
    )
    workers: int | None = workers_option(
        "worker processes (default: one per core; with --scheduler local, the LocalCluster's)"
    )
    scheduler: str | None = scheduler_option()
    chip_size: int = option(
        CHIP_SIZE, help="side of the aligned face chip in pixels", metavar="PX", low=32, high=1024
    )
    padding: float = option(
        CHIP_PADDING, help="chip padding around the landmarks", metavar="P", low=0, high=2
    )
    near_dup_bits: int = option(
        NEAR_DUP_BITS,
        help="perceptual-hash Hamming distance (of 64) for near-duplicates",
        metavar="B",
        low=0,
        high=32,
    )
    embeddings: bool = option(
        False, help="also compute dlib's 128-d face descriptor (about 85 ms a face)"
    )
    retry_errors: bool = option(
        False, help="also process again the images an earlier run could not read"
    )
    # 8: a task's faces are landmarked one after the other (faces.worker.process_batch),
    # and more of them keep dlib's model warm; the last tasks still end within about
    # half a second of each other on web photos.
    chunk_size: int = option(8, help="images per pool task", low=1, cli=False)
    batch_size: int = option(64, help="images per write transaction", low=1, cli=False)
    max_seconds_between_writes: float = option(
        1.0, help="longest wait before finished images are written", low=0, cli=False
    )
