"""What the review app shows of the dataset's model: guesses on a photo, hints kept with faces.

Pages call these with their session's catalog; the model itself (training,
predicting, the predictions table) is the ``model`` package's.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.dataset import Catalog
from catalog.decode import DecodedImage
from curation_ui.photo import find_boxes
from faces.models import Models

TOP_K = 3


@dataclass(frozen=True)
class Guess:
    """One of the model's guesses for a face."""

    label: str
    score: float  # probability in [0, 1]

    @property
    def caption(self) -> str:
        return f"{self.label} {self.score:.0%}"


@dataclass(frozen=True)
class PhotoFace:
    """A face found on a photo, with the model's top guesses (none without a model)."""

    box: tuple[int, int, int, int]
    top: list[Guess]


def current_model(cat: Catalog):
    """The dataset's newest model, or None when none has been trained."""
    return None


def model_caption(model) -> str:
    """One line about the model the page uses."""
    if model is None:
        return "No model yet: faces are found and boxed, without guesses (train one first)."
    return f"model {model}"


def photo_faces(model, models: Models, photo: DecodedImage) -> list[PhotoFace]:
    """Every face of the photo with the model's top 3 (boxes only without a model)."""
    return [PhotoFace(box, []) for box in find_boxes(models, photo)]


def keep_hints(cat: Catalog, face_ids: list[int]) -> None:
    """Keep the model's guesses for newly added faces (a hint for the Label queue)."""
