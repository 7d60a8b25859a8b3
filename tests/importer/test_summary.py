"""An import's summary as JSON: counts by reason stay counts, nested summaries included."""

from __future__ import annotations

import json
from collections import Counter

from importer.stage import ImportSummary
from importer.url_list import UrlListSummary
from importer.votes import VoteSummary


def test_summary_as_dict_keeps_counters_as_counts():
    s = ImportSummary(
        "x",
        reasons=Counter(not_an_image=2, taken_down=1),
        votes=[VoteSummary("l.csv", rows=3, problems=Counter(missing_file=1))],
        urls=UrlListSummary("u.txt", failed=Counter(http_404=4)),
    )
    d = json.loads(json.dumps(s.as_dict()))
    assert d["reasons"] == {"not_an_image": 2, "taken_down": 1}
    assert d["votes"] == [
        {"file": "l.csv", "rows": 3, "images": 0, "votes": 0, "already": 0,
         "problems": {"missing_file": 1}, "dropped": {}}
    ]  # fmt: skip
    assert d["urls"]["failed"] == {"http_404": 4}
