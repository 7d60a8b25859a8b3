"""The corpora in the review app: the queue's source filter, "MMI: happy", the Stats table."""

from __future__ import annotations

from catalog.events import record, set_labels_per_face
from catalog.images import ImageSource
from catalog.votes import ImageVote, add_image_votes
from curation_ui.components.queue.testing import view
from tests.curation_ui.conftest import open_page


def mmi_face(cat, make_face, label: str, *, frame: int = 12) -> int:
    """A face of an MMI frame whose label MMI gives (a vote of annotator mmi)."""
    src = ImageSource(
        "import",
        source_name="mmi-download",
        import_path=f"Sessions/1/S001-{frame}.avi",
        frame_index=frame,
        frame_how="apex:markers",
        subject="1",
    )
    fid = make_face(cat, source=src)
    image_id = cat.conn.execute("SELECT image_id FROM faces WHERE id = ?", (fid,)).fetchone()[0]
    add_image_votes(cat.conn, image_id, [ImageVote("mmi", "label", label, origin=f"f{frame}")])
    return fid


def test_queue_source_filter_lists_the_corpora_and_a_face_shows_the_corpus_label(
    app_env, make_face
):
    cat = app_env.cat
    happy = mmi_face(cat, make_face, "happy", frame=12)
    sad = mmi_face(cat, make_face, "sad", frame=30)
    at = open_page("queue")
    source = at.selectbox(key="q_source")
    assert "MMI: its labels" in source.options  # the corpus by its name
    assert "mmi-download" in source.options  # the import source is still there
    at.selectbox(key="q_subset").select("all").run()
    source.set_value("corpus:mmi").run()
    assert not at.exception
    shown = view(at)["faces"]
    assert [f["id"] for f in shown] == [happy, sad]  # only the faces MMI labelled
    assert shown[0]["hints"][0]["text"] == "MMI: happy"
    assert shown[1]["hints"][0]["text"] == "MMI: sad"
    # The source view says which frame it is and how it was chosen.
    at.toggle(key="q_show_source").set_value(True).run()
    assert any("frame 12 · apex:markers" in t.value for t in at.text)
    # A second opinion sees no one's label, the corpus's neither.
    set_labels_per_face(cat.conn, 2)
    blind = open_page("queue")
    assert blind.selectbox(key="q_subset").value == "second"
    blind.selectbox(key="q_source").set_value("corpus:mmi").run()
    assert view(blind)["faces"] and all(not f["hints"] for f in view(blind)["faces"])


def test_stats_page_shows_how_people_agree_with_each_corpus(app_env, make_face):
    cat = app_env.cat
    kept = mmi_face(cat, make_face, "happy", frame=1)
    changed = mmi_face(cat, make_face, "happy", frame=2)
    record(cat.conn, kept, "ann", "label", label="happy")
    record(cat.conn, changed, "ann", "label", label="sad")
    at = open_page("stats")
    assert not at.exception
    assert "Agreement with the corpora" in [h.value for h in at.subheader]
    assert any(
        "people agree with MMI on 1 of 2 decided faces (50%)" in m.value for m in at.markdown
    )
    table = next(d.value for d in at.dataframe if d.value.index.name == "corpus label")
    assert table.loc["happy", "happy"] == 1 and table.loc["happy", "sad"] == 1
