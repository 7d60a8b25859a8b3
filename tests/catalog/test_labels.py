import pytest

from catalog import Catalog, LabelError, LabelSet


def test_default_label_set_is_fer2013_in_index_order():
    labels = LabelSet.default()
    assert labels.names == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert [labels.index(n) for n in labels.names] == list(range(7))


def test_parse_resolves_aliases_and_named_sets():
    assert LabelSet.parse("Happy, sadness").names == ("happy", "sad")
    assert LabelSet.parse("fer2013") == LabelSet.default()
    assert LabelSet.default().index("disgusted") == 1


@pytest.mark.parametrize("text", ["happy,happy", "", "Happy Face", "../x", "a" * 41])
def test_bad_label_sets_are_refused(text):
    with pytest.raises(LabelError):
        LabelSet.parse(text)


def test_unknown_label_is_a_clear_error():
    with pytest.raises(LabelError, match="this dataset's labels are happy,sad"):
        LabelSet.parse("happy,sad").index("angry")


def test_custom_label_set_is_stored_and_checked(data_root):
    with Catalog.open(data_root, "four", labels=LabelSet.parse("happy,sad,neutral,surprise")):
        pass
    with Catalog.open(data_root, "four") as cat:
        assert cat.labels.names == ("happy", "sad", "neutral", "surprise")
        rows = cat.conn.execute("SELECT idx, name FROM labels ORDER BY idx").fetchall()
        assert [tuple(r) for r in rows] == [
            (0, "happy"),
            (1, "sad"),
            (2, "neutral"),
            (3, "surprise"),
        ]
    with pytest.raises(LabelError, match="not happy,sad"):
        Catalog.open(data_root, "four", labels=LabelSet.parse("happy,sad"))
