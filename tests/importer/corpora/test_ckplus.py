"""The CK+ reader: detection, the emotion files, the frames kept and every bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from importer.corpora.ckplus import detect, parse_emotion, read
from tests.conftest import SHARED_FER
from tests.importer.corpora.frames import find_no_face, items_of, rate_by_brightness, sequence

FER = SHARED_FER
# Two real FER2013 faces the prior rates far apart (1 - p(neutral): 0.07 and 0.9997).
NEUTRAL_FACE = FER / "neutral" / "PrivateTest_12091739.jpg"
HAPPY_FACE = FER / "happy" / "PrivateTest_12306951.jpg"


def test_parse_emotion():
    assert parse_emotion("   3.0000000e+00\n") == "3"
    assert parse_emotion("7") == "7"
    for bad in ("", "   \n", "2.5", "3 4", "three"):
        with pytest.raises(ValueError):
            parse_emotion(bad)


def test_detects_the_images_folder(tmp_path):
    assert not detect(tmp_path)
    (tmp_path / "extended-cohn-kanade-images" / "cohn-kanade-images").mkdir(parents=True)
    assert detect(tmp_path)
    (tmp_path / "other" / "Emotion").mkdir(parents=True)
    assert not detect(tmp_path / "other")


def test_a_sequence_gives_the_first_frame_as_neutral_and_the_peak_labelled(tmp_path, monkeypatch):
    rate_by_brightness(monkeypatch)
    sequence(tmp_path)  # 12 frames, brighter every frame: the last is the peak
    (tmp_path / "FACS" / "S005" / "001").mkdir(parents=True)  # not read
    (tmp_path / "FACS" / "S005" / "001" / "S005_001_00000012_facs.txt").write_text("1 2\n")
    kept, refused = items_of(read, tmp_path)
    assert not refused
    first, *peak = kept
    assert (first.label_word, first.frame_how, first.frame_index) == ("neutral", "first", 1)
    assert first.import_path == "cohn-kanade-images/S005/001/S005_001_00000001.png"
    # The last third (frames 9..12) is searched; the plateau's ends and the best are kept.
    assert [c.frame_index for c in peak] == [10, 11, 12]
    assert {c.label_word for c in peak} == {"disgust"} and {c.label_code for c in peak} == {"3"}
    assert {c.frame_how for c in peak} == {"apex:prior"}
    assert all(c.subject == "S005" and c.annotator == "ckplus" for c in kept)
    stored = tmp_path / peak[-1].import_path
    assert peak[-1].data == stored.read_bytes()  # the frame's own PNG, not re-encoded


def test_contempt_is_the_corpus_word_for_the_ingest_to_judge(tmp_path, monkeypatch):
    rate_by_brightness(monkeypatch)
    sequence(tmp_path, code="2.0000000e+00")
    kept, _ = items_of(read, tmp_path, apex_frames=1)
    assert [(c.label_word, c.label_code) for c in kept] == [("neutral", None), ("contempt", "2")]


def test_unlabelled_sequences_and_frames_all(tmp_path, monkeypatch):
    rate_by_brightness(monkeypatch)
    sequence(tmp_path, subject="S010", seq="002", levels=range(10, 60, 10), code=None)
    kept, refused = items_of(read, tmp_path)
    # Frames 3..5 are searched; 4 and 5 are within PEAK_SHARE of the brightest.
    assert not refused and [c.label_word for c in kept] == ["neutral", None, None]
    assert [c.frame_index for c in kept] == [1, 4, 5]
    every, _ = items_of(read, tmp_path, frames="all")
    assert [c.frame_index for c in every] == [1, 2, 3, 4, 5]
    assert all(c.label_word is None and c.frame_how is None and c.subject == "S010" for c in every)


def test_identical_peak_frames_are_one_image(tmp_path, monkeypatch):
    rate_by_brightness(monkeypatch)
    sequence(tmp_path, levels=[10] * 8 + [200] * 4)  # a still peak: frames 9..12 alike
    kept, _ = items_of(read, tmp_path)
    assert [c.frame_index for c in kept] == [1, 9]


def test_no_face_keeps_the_last_frame_as_the_corpus_peak(tmp_path, monkeypatch):
    find_no_face(monkeypatch)
    sequence(tmp_path)
    kept, _ = items_of(read, tmp_path)
    assert [(c.frame_index, c.frame_how) for c in kept] == [(1, "first"), (12, "apex:last")]


def test_bad_inputs_are_each_one_reason_and_the_rest_is_read(tmp_path, monkeypatch):
    rate_by_brightness(monkeypatch)
    sequence(tmp_path, "S005", "001")
    sequence(tmp_path, "S005", "002", code="")  # an emotion file with no number
    sequence(tmp_path, "S006", "001", code="9.0000000e+00")  # not a CK+ code
    folder = sequence(tmp_path, "S007", "001", code=None)
    (folder / "S007_001_00000011.png").write_bytes(b"not a png")  # in the searched part
    (tmp_path / "cohn-kanade-images" / "S008" / "001").mkdir(parents=True)  # no frames
    orphan = tmp_path / "Emotion" / "S009" / "004"
    orphan.mkdir(parents=True)
    (orphan / "S009_004_00000020_emotion.txt").write_text("1.0")
    kept, refused = items_of(read, tmp_path)
    reasons = {r.import_path: r.reason for r in refused}
    assert reasons == {
        "Emotion/S005/002/S005_002_00000012_emotion.txt": "bad_label_file",
        "Emotion/S006/001/S006_001_00000012_emotion.txt": "bad_label_file",
        "cohn-kanade-images/S007/001/S007_001_00000011.png": "not_an_image",
        "cohn-kanade-images/S008/001": "missing_file",
        "Emotion/S009/004/S009_004_00000020_emotion.txt": "missing_file",
    }
    labelled = {
        c.import_path.split("/")[1:3] == ["S005", "001"]
        for c in kept
        if c.label_word not in (None, "neutral")
    }
    assert labelled == {True}  # only the good sequence has a label (besides neutral votes)
    subjects = {c.subject for c in kept}
    assert subjects == {"S005", "S006", "S007"}  # unlabelled sequences still give frames


@pytest.mark.slow  # loads dlib's models and the prior: about 2 s alone, more on a busy machine
@pytest.mark.skipif(not FER.is_dir(), reason="needs ../shared/testdata/fer2013_privatetest")
def test_the_prior_finds_the_expressive_frames(tmp_path):
    def frame(path, grey=120):
        face = Image.open(path).convert("RGB").resize((160, 160), Image.Resampling.BICUBIC)
        img = Image.new("RGB", (320, 256), (grey, grey, grey))
        img.paste(face, (80, 48))
        return img

    neutral, happy = frame(NEUTRAL_FACE), frame(HAPPY_FACE)
    # 12 frames: neutral up to frame 10, happy for the last two (the searched part is 9..12);
    # the two happy frames differ by their background (identical bytes are kept once).
    sequence(tmp_path, levels=[neutral] * 10 + [happy, frame(HAPPY_FACE, 121)], code="5")
    kept, refused = items_of(read, tmp_path)
    assert not refused
    assert [(c.frame_index, c.label_word) for c in kept] == [
        (1, "neutral"),
        (11, "happy"),
        (12, "happy"),
    ]
