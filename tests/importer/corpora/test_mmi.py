"""The MMI reader: its XML files, detection, the frames it keeps and every bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from importer.corpora.mmi import (
    Markers,
    XmlRefused,
    action_unit_markers,
    detect,
    emotion_code,
    parse_xml,
    read,
    session_subject,
    subject_from_name,
)
from tests.importer.corpora.frames import (
    EMOTION_XML,
    FRAMES,
    OAO_XML,
    SESSION_XML,
    find_no_face,
    items_of,
    rate_by_brightness,
    session,
)

# --- the XML --------------------------------------------------------------------------


def test_emotion_code_from_the_metatag():
    assert emotion_code(ET.fromstring(EMOTION_XML.format(code="6"))) == "6"
    assert (
        emotion_code(ET.fromstring("<Metatags><Metatag Name='Gender' Value='M'/></Metatags>"))
        is None
    )


def test_markers_span_and_apexes_with_lettered_action_units():
    m = action_unit_markers(ET.fromstring(OAO_XML))
    assert m.span == (5, 15) and m.apex == (9, 10)
    broken = (
        "<ActionUnits><ActionUnit Number='1'>"
        "<Marker Frame='x' Type='2'/><Marker Frame='0'/></ActionUnit></ActionUnits>"
    )
    assert action_unit_markers(ET.fromstring(broken)) == Markers((), ())


def test_subject_from_the_session_or_the_file_name():
    assert session_subject(ET.fromstring(SESSION_XML.format(sid=1, take="001"))) is None
    assert session_subject(ET.fromstring("<session><subject id='S042'/></session>")) == "S042"
    assert session_subject(ET.fromstring("<session subjectId='S007'/>")) == "S007"
    assert subject_from_name("S001-001.avi") == "S001"
    assert subject_from_name("s12_003.jpg") == "S12"
    assert subject_from_name("video.avi") is None


@pytest.mark.parametrize(
    "text,why",
    [
        (b"<Metatags><Metatag Name='Emotion' Value='4'>", "malformed"),
        (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><l>&a;&a;</l>', "DOCTYPE"),
        (b"<a>" + b" " * (5 << 20) + b"</a>", "bytes is over"),
    ],
)
def test_bad_xml_is_refused_with_its_reason(text, why):
    with pytest.raises(XmlRefused, match=why):
        parse_xml(text)


# --- detection ------------------------------------------------------------------------


def test_detects_the_sessions_layout(tmp_path):
    (tmp_path / "Sessions" / "1").mkdir(parents=True)
    assert not detect(tmp_path)
    (tmp_path / "Sessions" / "1" / "session.xml").write_text("<session/>")
    assert detect(tmp_path)
    assert detect(tmp_path / "Sessions")  # pointed at the Sessions folder itself
    (tmp_path / "plain").mkdir()
    assert not detect(tmp_path / "plain")


# --- reading --------------------------------------------------------------------------


def test_a_video_gives_its_first_frame_as_neutral_and_its_apex_as_the_label(
    tmp_path, write_video, monkeypatch
):
    rate_by_brightness(monkeypatch)
    session(tmp_path, 12, write_video=write_video)
    kept, refused = items_of(read, tmp_path)
    assert not refused
    first, *peak = kept
    assert (first.label_word, first.frame_how, first.frame_index) == ("neutral", "first", 1)
    assert first.import_path == "Sessions/12/S001-001.avi#frame=1"
    assert len(peak) == 3
    assert {c.label_word for c in peak} == {"happy"} and {c.label_code for c in peak} == {"4"}
    assert {c.frame_how for c in peak} == {"apex:prior"}
    # The brightest frames are the last ones: the peak is at the end of the clip.
    assert max(c.frame_index for c in peak) >= FRAMES - 1 and min(c.frame_index for c in peak) > 20
    assert all(c.import_path.endswith(f"#frame={c.frame_index}") for c in peak)
    assert all(c.annotator == "mmi" and c.subject == "S001" for c in kept)
    assert all(c.data[:2] == b"\xff\xd8" for c in kept)  # JPEG frames
    assert peak[0].frame_time == pytest.approx((peak[0].frame_index - 1) / 10, abs=0.01)


def test_markers_bound_the_apex(tmp_path, write_video, monkeypatch):
    rate_by_brightness(monkeypatch)
    session(tmp_path, 3, markers=True, write_video=write_video)
    kept, refused = items_of(read, tmp_path)
    peak = [c for c in kept if c.frame_how != "first"]
    assert not refused and peak
    # Brighter frames follow frame 15, but the markers say the expression is 5..15.
    assert all(5 <= c.frame_index <= 15 for c in peak)
    assert {c.frame_how for c in peak} == {"apex:markers"}
    assert max(c.frame_index for c in peak) == 15


def test_apex_frames_and_no_neutral_vote_when_asked(tmp_path, write_video, monkeypatch):
    rate_by_brightness(monkeypatch)
    session(tmp_path, 3, write_video=write_video)
    kept, _ = items_of(read, tmp_path, apex_frames=1, neutral_first=False)
    assert len(kept) == 1 and kept[0].frame_how == "apex:prior"


def test_no_face_falls_back_on_the_apex_markers(tmp_path, write_video, monkeypatch):
    find_no_face(monkeypatch)
    session(tmp_path, 1, markers=True, write_video=write_video)
    session(tmp_path, 2, take="002", write_video=write_video)  # no markers either
    kept, refused = items_of(read, tmp_path)
    by_take = {c.import_path for c in kept}
    assert (
        "Sessions/1/S001-001.avi#frame=9" in by_take
        and "Sessions/1/S001-001.avi#frame=10" in by_take
    )
    assert [r.reason for r in refused] == ["no_apex"]
    assert refused[0].import_path == "Sessions/2/S001-002.avi"
    assert "Sessions/2/S001-002.avi#frame=1" in by_take  # its neutral first frame is kept


def test_an_image_session_and_an_unmapped_code(tmp_path, face_crop, write_video, monkeypatch):
    rate_by_brightness(monkeypatch)
    folder = session(tmp_path, 5, code="4", media=None)
    (folder / "S001-001.jpg").write_bytes(face_crop(1, fmt="JPEG"))
    session(tmp_path, 6, take="006", code="9", write_video=write_video)
    kept, _ = items_of(read, tmp_path)
    image = next(c for c in kept if c.import_path == "Sessions/5/S001-001.jpg")
    assert (image.label_word, image.subject, image.frame_index) == ("happy", "S001", None)
    odd = [c for c in kept if c.import_path.startswith("Sessions/6/") and c.frame_how != "first"]
    assert odd and all(c.label_word is None and c.refused_code == "9" for c in odd)


def test_frames_all_samples_at_fps_unlabelled(tmp_path, write_video):
    session(tmp_path, 4, write_video=write_video)
    kept, refused = items_of(read, tmp_path, frames="all", fps=2.0)
    assert not refused
    assert [c.frame_index for c in kept] == [1, 6, 11, 16, 21, 26, 31, 36]
    assert all(c.label_word is None and c.subject == "S001" and c.annotator == "mmi" for c in kept)
    assert kept[1].import_path == "Sessions/4/S001-001.avi#frame=6"


def test_bad_inputs_are_each_one_reason_and_the_rest_is_read(tmp_path, write_video, monkeypatch):
    rate_by_brightness(monkeypatch)
    good = session(tmp_path, 1, write_video=write_video)
    bad_label = session(tmp_path, 2, take="002", write_video=write_video)
    (bad_label / "S001-002.xml").write_text("<Metatags><Metatag Name='Emotion' Value='4'>")
    bad_markers = session(tmp_path, 3, take="003", write_video=write_video)
    (bad_markers / "S001-003-oao_aucs.xml").write_text("<ActionUnits><ActionUnit>")
    session(tmp_path, 4, take="004", media=None)  # its label file names a missing video
    broken = session(tmp_path, 5, take="005", media=None)
    (broken / "S001-005.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI not really a video")
    evil = session(tmp_path, 6, take="006", write_video=write_video)
    (evil / "session.xml").write_text('<!DOCTYPE s [<!ENTITY x "y">]><session>&x;</session>')
    kept, refused = items_of(read, tmp_path)
    reasons = {r.import_path: r.reason for r in refused}
    assert reasons == {
        "Sessions/2/S001-002.xml": "bad_xml",
        "Sessions/3/S001-003-oao_aucs.xml": "bad_xml",
        "Sessions/4/S001-004.xml": "missing_file",
        "Sessions/5/S001-005.avi": "not_a_video",
        "Sessions/6/session.xml": "bad_xml",
    }
    sessions = {c.import_path.split("/")[1] for c in kept}
    assert sessions == {"1", "2", "3", "6"}  # each readable video still gives its frames
    assert all(
        c.label_word in (None, "neutral") for c in kept if c.import_path.startswith("Sessions/2/")
    )
    assert good.is_dir()
