"""The pages' uploaders without the gateway (loopback, no accounts): a crafted name or an
oversize file is one red line, and the page goes on."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def page() -> None:
    from dataclasses import dataclass

    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    from curation_ui.upload_widget import file_input
    from curation_ui.uploads import IMPORT_EXTS, PHOTO_EXTS

    @dataclass
    class Sent:  # what Streamlit hands over for a file a client uploaded
        name: str
        size: int

    class Crafted:  # Streamlit's own check of the extension raises on every rerun
        def file_uploader(self, *args, **kwargs):
            raise StreamlitAPIException("Invalid file extension: `.exe`. Allowed: ['.png']")

    class Uploaded:
        def file_uploader(self, *args, **kwargs):
            return [Sent("face.png", 1000), Sent("big.png", 3 << 20), Sent("noext", 10)]

    assert file_input("a", types=IMPORT_EXTS, key="a", max_mb=2, where=Crafted()) == []
    kept = file_input("b", types=PHOTO_EXTS, key="b", max_mb=2, multiple=True, where=Uploaded())
    st.write("kept: " + ", ".join(f.name for f in kept))


def test_refused_uploads_are_one_line_each_and_the_page_goes_on():
    at = AppTest.from_function(page, default_timeout=30).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 3 and all("\n" not in e for e in errors)
    assert errors[0].startswith("refused upload: Invalid file extension")
    assert "'big.png': 3.0 MB, this page takes at most 2 MB" in errors[1]
    assert errors[2].startswith("refused upload 'noext'")
    assert at.markdown[-1].value == "kept: face.png"
