"""Which upload names and sizes the app takes."""

from __future__ import annotations

import pytest

from curation_ui.uploads import IMPORT_EXTS, MB, PHOTO_EXTS, name_refusal, size_refusal


@pytest.mark.parametrize(
    "name",
    ["x.exe", "noext", "..", ".", "", "a/b.png", "..\\x.png", "a\x00.png", "a\n.png", "zip"],
)
def test_names_a_browser_could_not_send_are_refused_in_one_line(name):
    why = name_refusal(name)
    assert why and why.startswith("refused upload") and "\n" not in why


@pytest.mark.parametrize("name", ["face.JPG", "faces.zip", "fer2013.csv", "clip.mp4", "a b.png"])
def test_the_import_pages_names_pass(name):
    assert name_refusal(name, IMPORT_EXTS) is None


def test_a_photo_page_takes_images_only_and_sizes_are_bounded():
    assert name_refusal("faces.zip", PHOTO_EXTS)
    assert name_refusal("face.webp", PHOTO_EXTS) is None
    assert size_refusal("a.png", 2 * MB, 2 * MB) is None
    why = size_refusal("a.png", 3 * MB, 2 * MB)
    assert why == "refused upload 'a.png': 3.0 MB, this page takes at most 2 MB"
