"""Label plans (--labels, --map), format indices and option checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import LabelSet
from exporter.options import ExportError, ExportOptions, plan_labels, with_indices

FER = LabelSet.default()


def test_default_plan_keeps_the_dataset_order_and_fer_indices():
    plan = with_indices(plan_labels(FER, None, None), "fer2013-csv")
    assert plan.names == FER.names
    assert plan.indices == {n: i for i, n in enumerate(FER.names)}


def test_subset_keeps_fer2013_indices_in_the_csv_but_renumbers_for_hf():
    plan = plan_labels(FER, None, "happy,sad")
    assert plan.names == ("happy", "sad")
    assert set(plan.mapping) == {"happy", "sad"}
    assert with_indices(plan, "fer2013-csv").indices == {"happy": 3, "sad": 4}
    assert with_indices(plan, "hf").indices == {"happy": 0, "sad": 1}
    assert with_indices(plan, "imagefolder").indices == {"happy": 0, "sad": 1}


def test_four_classes_in_the_order_given():
    plan = plan_labels(FER, None, "happy,sad,neutral,surprise")
    assert with_indices(plan, "hf").indices == {"happy": 0, "sad": 1, "neutral": 2, "surprise": 3}
    # Folder loaders sort class names.
    assert with_indices(plan, "imagefolder").indices == {
        "happy": 0,
        "neutral": 1,
        "sad": 2,
        "surprise": 3,
    }
    assert with_indices(plan, "fer2013-csv").indices == {
        "happy": 3,
        "sad": 4,
        "neutral": 6,
        "surprise": 5,
    }


def test_map_merges_into_the_target_and_drops_the_source_class():
    plan = plan_labels(FER, "disgust=angry, fear=surprise", None)
    assert plan.names == ("angry", "happy", "sad", "surprise", "neutral")
    assert plan.mapping["disgust"] == "angry"
    assert plan.mapping["fear"] == "surprise"
    assert with_indices(plan, "hf").indices["surprise"] == 3
    assert with_indices(plan, "fer2013-csv").indices["surprise"] == 5


def test_map_to_a_new_class_works_for_hf_but_not_for_the_fer2013_csv():
    plan = plan_labels(FER, "angry=negative,disgust=negative,sad=negative", "happy,negative")
    assert plan.mapping == {
        "angry": "negative",
        "disgust": "negative",
        "sad": "negative",
        "happy": "happy",
    }
    assert with_indices(plan, "hf").indices == {"happy": 0, "negative": 1}
    with pytest.raises(ExportError, match="no negative"):
        with_indices(plan, "fer2013-csv")


def test_custom_label_set_with_a_foreign_class_is_refused_for_fer2013_only():
    labels = LabelSet(("happy", "contempt"))
    plan = plan_labels(labels, None, None)
    with pytest.raises(ExportError, match="contempt"):
        with_indices(plan, "fer2013-csv")
    assert with_indices(plan_labels(labels, "contempt=happy", None), "fer2013-csv").indices == {
        "happy": 3
    }


@pytest.mark.parametrize(
    ("map_text", "labels_text", "message"),
    [
        ("joy", None, "FROM=TO"),
        ("contempt=happy", None, "unknown label"),
        ("disgust=angry,angry=sad", None, "chains"),
        ("disgust=angry,disgust=sad", None, "both"),
        (None, "happy,contempt", "not an exported class"),
        ("disgust=angry", "disgust", "not an exported class"),
        (None, "happy,happy", "twice"),
        (None, " , ", "no label"),
    ],
)
def test_bad_labels_and_maps_are_one_line_errors(map_text, labels_text, message):
    with pytest.raises(ExportError, match=message):
        plan_labels(FER, map_text, labels_text)


def test_aliases_are_accepted_in_labels_and_map():
    plan = plan_labels(FER, "disgusted=anger", "joy,anger")
    assert plan.names == ("happy", "angry")
    assert plan.mapping["disgust"] == "angry"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "fer2013-csv", "size": 64}, "48x48"),
        ({"format": "fer2013-csv", "color": True}, "grayscale"),
        ({"format": "coco"}, "unknown format"),
        ({"splits": (0.5, 0.2, 0.2)}, "sum to 1"),
        ({"size": 4}, "between 8 and 1024"),
    ],
)
def test_options_contradictions(kwargs, message):
    with pytest.raises(ExportError, match=message):
        ExportOptions(out=Path("x"), **kwargs).validate()


def test_the_same_options_typed_differently_record_the_same():
    a = ExportOptions(out=Path("x"), min_size=0, splits=(0.8, 0.1, 0.1), max_yaw=30)
    b = ExportOptions(out=Path("x"), min_size=0.0, splits=[0.8, 0.1, 0.1], max_yaw=30.0)
    assert repr(a.as_record()) == repr(b.as_record())


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_the_baseline_cannot_take_is_refused_in_one_line(seed):
    """scikit-learn takes random_state 0 to 2**32 - 1; outside it the baseline would crash."""
    from core.contract import OptionError, check_options

    with pytest.raises(OptionError, match="seed"):
        check_options(ExportOptions(out=Path("x"), seed=seed))
