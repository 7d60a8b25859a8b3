"""The dataset card is its sections joined: each a function of the card's facts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from catalog.labels import LabelSet
from exporter import card
from exporter.leakage import Leakage
from exporter.options import ExportOptions, plan_labels, with_indices


def _render(**overrides) -> str:
    opts = ExportOptions(out=Path("/nowhere"), format="imagefolder")
    facts = dict(
        dataset="demo",
        opts=opts,
        plan=with_indices(plan_labels(LabelSet.default(), None, None), opts.format),
        faces=[],
        splits=[],
        left_out=Counter({"no label": 2}),
        curation=card.Curation(),
        leakage=Leakage(6, 0, 0, False, 0, 0, 0),
        identity_clusters=None,
        written_splits=[],
    )
    return card.render_card(**{**facts, **overrides})


def test_the_card_is_its_sections_in_order():
    text = _render()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Classes and splits",
        "## Leakage check",
        "## How the data was collected",
        "## Curation",
        "## Filters",
        "## Files",
        "## Known limitations",
        "## Licence and consent",
    ]
    assert text.startswith("---\nlicense: other\n") and text.endswith("licences.\n")
    assert "\n\n\n" not in text  # an empty section (no takedowns here) leaves no gap


def test_a_new_section_is_one_function():
    def votes(facts: card.CardFacts) -> list[str]:
        return ["## Votes", "", f"- {len(facts.faces)} faces with votes"]

    text = _render(sections=[*card.SECTIONS, votes])
    assert text.endswith("\n\n## Votes\n\n- 0 faces with votes\n")
    assert text.startswith(_render().rstrip("\n"))


def test_a_section_that_has_nothing_to_say_is_left_out():
    quiet = _render(sections=[card.title, lambda facts: [], card.licence])
    assert quiet.split("\n\n")[2] == "## Licence and consent"
