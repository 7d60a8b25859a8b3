"""What the review app shows of the dataset's model: guesses on a photo and on a face,
hints kept with new faces, and whether the model is older than the labels.

Pages call these with their session's catalog; training, predicting and the
predictions table are the ``model`` package's and ``catalog.predictions``'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.dataset import Catalog
from catalog.predictions import (
    ModelRow,
    faces_by_id,
    latest_model_row,
    predictions_for,
    store_predictions,
)
from core.decode import DecodedImage
from curation_ui.photo import find_boxes
from faces.models import Models
from model import classifier
from model.inputs import features_of
from model.predict import predict_image, top_labels
from model.store import STALE_AFTER, LoadedModel, new_events
from model.train import prediction

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


@dataclass(frozen=True)
class ModelAge:
    """The newest model and how many label events came after its training."""

    model: ModelRow
    new_events: int
    stale_after: int = STALE_AFTER

    @property
    def stale(self) -> bool:
        """More than ``stale_after`` label events since training."""
        return self.new_events > self.stale_after


def model_age(cat: Catalog) -> ModelAge | None:
    """The newest model's age in label events, or None when none was trained."""
    row = latest_model_row(cat.conn)
    return None if row is None else ModelAge(row, new_events(cat, row))


def model_caption(row: ModelRow | None) -> str:
    """One line about the model a page uses."""
    if row is None:
        return "No model yet: faces are found and boxed, without guesses (train one first)."
    acc = row.figures.get("accuracy")
    figure = f", cross-validated accuracy {acc:.0%}" if isinstance(acc, float | int) else ""
    return f"Model {row.id} ({len(row.classes)} classes{figure})."


def photo_faces(model: LoadedModel | None, models: Models, photo: DecodedImage) -> list[PhotoFace]:
    """Every face of the photo with the model's top 3 (boxes only without a model)."""
    if model is None:
        return [PhotoFace(box, []) for box in find_boxes(models, photo)]
    found = predict_image(model, photo.rgb, top=TOP_K, face_models=models)
    return [PhotoFace(f.box, [Guess(lab, s) for lab, s in f.top]) for f in found]


def face_top(cat: Catalog, model_id: str, face_id: int, k: int = TOP_K) -> list[Guess]:
    """The model's top ``k`` labels for a stored face (empty when it has no prediction)."""
    pred = predictions_for(cat.conn, model_id, [face_id]).get(face_id)
    if pred is None:
        return []
    ranked = top_labels(np.array(list(pred.probs.values())), tuple(pred.probs), k)
    return [Guess(label, p) for label, p in ranked]


def keep_hints(cat: Catalog, model: LoadedModel | None, face_ids: list[int]) -> int:
    """Store the model's prediction for each new face (its hint in the Label queue).

    Predicted from the stored chip and landmarks, as the model predicts every
    unlabelled face; a face that already has a prediction keeps it. Returns how
    many were stored.
    """
    if model is None or not face_ids:
        return 0
    matrix = features_of(cat, faces_by_id(cat.conn, face_ids))
    if not matrix.rows:
        return 0
    probs = classifier.probabilities(model.estimator, matrix.X, model.classes)
    classes = list(model.classes)
    preds = [
        prediction(row.face_id, p, classes, None, False)
        for row, p in zip(matrix.rows, probs, strict=True)
    ]
    return store_predictions(cat.conn, model.id, preds)
