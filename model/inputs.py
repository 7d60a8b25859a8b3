"""Reading the stored chips and landmarks of catalog faces into feature inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from catalog.dataset import Catalog, DatasetError
from catalog.predictions import FaceRow
from faces.defaults import CHIP_PADDING
from model.features import FaceInput, face_features, parse_landmarks

BATCH = 256  # faces per feature batch (bounded memory at any dataset size)


@dataclass
class FaceMatrix:
    """Features of the faces whose chip could be read, and the faces left out."""

    rows: list[FaceRow]
    X: np.ndarray
    missing: list[int]  # face ids whose chip file is gone or unreadable


def face_input(cat: Catalog, row: FaceRow) -> FaceInput | None:
    """A face's chip (as stored) and landmarks; None if the chip cannot be read."""
    if not row.chip_path:
        return None
    try:
        with Image.open(cat.paths.resolve(row.chip_path)) as img:
            chip = np.asarray(img.convert("RGB"))
    except (OSError, ValueError, DatasetError):
        return None
    # A chip stored without its padding was made with the extract stage's default.
    padding = CHIP_PADDING if row.chip_padding is None else float(row.chip_padding)
    return FaceInput(chip, padding, parse_landmarks(row.landmarks))


def features_of(
    cat: Catalog,
    rows: Sequence[FaceRow],
    on_batch: Callable[[int, int], None] | None = None,
) -> FaceMatrix:
    """The feature matrix of ``rows`` (in order), skipping faces whose chip is unreadable."""
    kept: list[FaceRow] = []
    missing: list[int] = []
    parts: list[np.ndarray] = []
    for k in range(0, len(rows), BATCH):
        inputs = []
        for row in rows[k : k + BATCH]:
            face = face_input(cat, row)
            if face is None:
                missing.append(row.face_id)
                continue
            kept.append(row)
            inputs.append(face)
        parts.append(face_features(inputs))
        if on_batch is not None:
            on_batch(min(k + BATCH, len(rows)), len(rows))
    X = np.vstack(parts) if parts else face_features([])
    return FaceMatrix(kept, X, missing)
