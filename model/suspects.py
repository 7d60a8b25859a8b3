"""``facesift model suspects``: labelled faces the model least believes, lowest first.

The ranking is confident learning's self-confidence: the out-of-fold
probability of the face's current label (computed here; cleanlab does the same
but is AGPL-licensed, so it is not a dependency).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.dataset import Catalog
from catalog.labels import LabelError
from catalog.predictions import REJECTED, Suspect, suspects
from core.contract import ProgressFn, StageSummary, check_options, option
from core.report import format_table
from model.store import require_model_row


@dataclass(frozen=True)
class SuspectsOptions:
    """Which suspects to list and how."""

    limit: int | None = option(None, help="list at most N faces (default: all)", metavar="N", low=1)
    label: str | None = option(
        None, help="only faces whose current label is E (or 'rejected')", metavar="E"
    )
    json: bool = option(False, help="print a JSON list instead of a table")


@dataclass
class SuspectsSummary(StageSummary):
    """The ranked suspects of the newest model."""

    model_id: str
    suspects: list[Suspect] = field(default_factory=list)

    def line(self) -> str:
        """How many suspects were listed, and by which model."""
        return f"{len(self.suspects)} suspects by model {self.model_id}, least believed first"

    def records(self) -> list[dict]:
        """The ``--json`` list."""
        return [s.as_dict() for s in self.suspects]

    def table(self) -> str:
        """An aligned text table: face, label, predicted, self-confidence."""
        rows = [
            (str(s.face_id), s.label, s.predicted, f"{s.self_confidence:.3f}")
            for s in self.suspects
        ]
        return format_table(("face", "label", "predicted", "self-confidence"), rows)


def find_suspects(
    cat: Catalog, opts: SuspectsOptions, *, on_progress: ProgressFn | None = None
) -> SuspectsSummary:
    """The newest model's suspects (ModelError when the dataset has no model)."""
    check_options(opts)
    label = opts.label
    if label is not None and label != REJECTED:
        try:
            label = cat.labels.resolve(label)
        except LabelError as e:
            raise LabelError(f"--label: {e}") from None
    model = require_model_row(cat)
    found = suspects(
        cat.conn,
        model.id,
        label=label,
        limit=opts.limit,
        include_pending=bool(model.options.get("include_pending")),
    )
    return SuspectsSummary(model.id, found)
