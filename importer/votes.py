"""What importing labels or votes did: the counts every vote importer reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core.contract import StageSummary
from core.report import counts_text


@dataclass
class VoteSummary(StageSummary):
    """Counts of a labels CSV or a FER+ file applied to imported images."""

    file: str
    rows: int = 0  # data rows read
    images: int = 0  # images that got at least one vote from this file
    votes: int = 0  # votes stored (one label event per face of the image)
    already: int = 0  # votes an earlier import of the same file already stored
    problems: Counter = field(default_factory=Counter)  # missing_file, unknown_label, ...
    dropped: Counter = field(default_factory=Counter)  # votes for labels outside the set

    def line(self) -> str:
        """``labels.csv: 120 rows, 118 votes on 40 images (...)``."""
        text = f"{self.file}: {self.rows} rows, {self.votes} votes on {self.images} images"
        if self.already:
            text += f" ({self.already} already stored)"
        if self.problems:
            text += ", not used: " + counts_text(self.problems)
        if self.dropped:
            text += ", dropped: " + counts_text(self.dropped)
        return text
