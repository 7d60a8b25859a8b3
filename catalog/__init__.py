"""The catalog: one SQLite database per dataset, the single source of truth of every stage."""

from catalog.dataset import Catalog, DatasetError, DatasetPaths
from catalog.labels import LabelError, LabelSet

__all__ = ["Catalog", "DatasetError", "DatasetPaths", "LabelError", "LabelSet"]
