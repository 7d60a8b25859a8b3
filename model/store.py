"""Where models live: ``datasets/<dataset>/models/<id>/`` (model.json + model.joblib) and
the catalog's ``models`` row.

The fitted scikit-learn pipeline is saved with joblib (a pickle): loading runs
code from the file, which is fine for files this dataset wrote itself under its
own folder, and is why a model is never loaded from anywhere else.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib

from catalog.dataset import Catalog
from catalog.predictions import ModelRow, events_since, latest_model_row, model_row
from core.errors import FacesiftError
from core.space import disk_full, is_no_space
from model.features import feature_count

MODELS_DIR = "models"
MODEL_JSON = "model.json"
MODEL_FILE = "model.joblib"
STALE_AFTER = 50  # label events since training after which a model counts as out of date


class ModelError(FacesiftError):
    """A model that cannot be trained, found or loaded."""


@dataclass(frozen=True)
class LoadedModel:
    """A trained model ready to predict: its classes, estimator and record."""

    id: str
    dir: Path
    classes: tuple[str, ...]
    estimator: object
    options: dict
    figures: dict
    trained_at: str
    last_event_id: int | None


def new_model_id(cat: Catalog, now: datetime | None = None) -> str:
    """A fresh, sortable model id from the UTC time (``20261201T103500Z``, ``-2`` if taken)."""
    base = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    model_id, n = base, 1
    while (cat.paths.dir / MODELS_DIR / model_id).exists() or model_row(cat.conn, model_id):
        n += 1
        model_id = f"{base}-{n}"
    return model_id


def write_model_files(cat: Catalog, model_id: str, estimator: object, meta: dict) -> str:
    """Write ``model.joblib`` and ``model.json`` under ``models/<id>/``; return that relative path.

    Written into a hidden folder that is renamed into place, so a killed run leaves
    no half model.
    """
    rel = f"{MODELS_DIR}/{model_id}"
    final = cat.paths.dir / rel
    tmp = final.parent / f".{model_id}.tmp-{os.getpid()}"
    try:
        tmp.mkdir(parents=True, exist_ok=False)
        joblib.dump(estimator, tmp / MODEL_FILE)
        (tmp / MODEL_JSON).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, final)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)  # no half model left behind
        if is_no_space(e):
            needed = len(pickle.dumps(estimator)) + len(json.dumps(meta, indent=1))
            raise disk_full(final.parent, needed, f"writing model {model_id}", about=True) from e
        raise ModelError(f"cannot write the model under {final}: {e.strerror or e}") from None
    return rel


def load_model(cat: Catalog, row: ModelRow) -> LoadedModel:
    """Load a model recorded in the catalog (ModelError if its files are gone)."""
    path = cat.paths.resolve(row.path) / MODEL_FILE
    try:
        estimator = joblib.load(path)
    except (OSError, EOFError, ValueError) as e:
        raise ModelError(f"cannot load model {row.id} from {path}: {e}") from None
    expected = getattr(estimator, "n_features_in_", feature_count())
    if expected != feature_count():
        raise ModelError(
            f"model {row.id} was trained on {expected} features, this facesift computes "
            f"{feature_count()}; retrain it with 'facesift model train'"
        )
    return LoadedModel(
        row.id,
        path.parent,
        row.classes,
        estimator,
        row.options,
        row.figures,
        row.trained_at,
        row.last_event_id,
    )


def latest_model(cat: Catalog) -> LoadedModel | None:
    """The dataset's newest model, loaded; None when none was trained."""
    row = latest_model_row(cat.conn)
    return None if row is None else load_model(cat, row)


def require_model_row(cat: Catalog) -> ModelRow:
    """The newest model's catalog row, or a one-line ModelError saying how to train one."""
    row = latest_model_row(cat.conn)
    if row is None:
        raise ModelError(
            f"dataset {cat.paths.name!r} has no model yet; train one with 'facesift model train'"
        )
    return row


def require_model(cat: Catalog) -> LoadedModel:
    """The newest model, loaded, or a one-line ModelError saying how to train one."""
    return load_model(cat, require_model_row(cat))


def new_events(cat: Catalog, model: LoadedModel | ModelRow) -> int:
    """Label events recorded since the model was trained."""
    return events_since(cat.conn, model.last_event_id)


def is_stale(cat: Catalog, model: LoadedModel | ModelRow, n_new_events: int = STALE_AFTER) -> bool:
    """True when more than ``n_new_events`` label events came after the model's training."""
    return new_events(cat, model) > n_new_events
