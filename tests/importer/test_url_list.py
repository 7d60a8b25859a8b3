"""URL lists (img2dataset's formats): every URL through the scrape downloader, resumable."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from importer.errors import ImportRefused
from importer.url_list import import_url_list, is_url_list
from takedown.stage import TakedownOptions, takedown
from tests.scraper.conftest import TEST_DOWNLOADS


def sources(cat):
    return cat.conn.execute(
        "SELECT kind, source_name, import_path, url, source_label, caption FROM image_sources "
        "ORDER BY import_path"
    ).fetchall()


def test_text_list_downloads_with_every_guard_and_a_rerun_fetches_nothing(
    catalog, fake_search, tmp_path
):
    base = fake_search.base
    good = [f"{base}/img/good/{i}.jpg" for i in range(3)]
    lines = [
        "# a comment",
        *good,
        good[0],  # listed twice: fetched once, two provenances
        f"{base}/fault/404.jpg",
        f"{base}/fault/noai.jpg",
        f"{base}/fault/huge.jpg",
        f"{base}/fault/html.jpg",
        "ftp://example.com/x.jpg",
        "",
    ]
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(lines))
    assert is_url_list(urls)
    s = import_url_list(catalog, urls, download=TEST_DOWNLOADS)
    assert (s.rows, s.images_new, s.images_known, s.sources_new) == (9, 3, 1, 4)
    assert s.failed == {"http_404": 1, "too_large": 1, "not_an_image": 1}
    assert s.skipped == {"opted_out": 1}
    assert s.refused == {"bad_url": 1}
    got = sources(catalog)
    assert {r["kind"] for r in got} == {"url_list"}
    assert [(r["import_path"], r["url"]) for r in got] == [
        ("urls.txt:2", good[0]),
        ("urls.txt:3", good[1]),
        ("urls.txt:4", good[2]),
        ("urls.txt:5", good[0]),
    ]
    err = catalog.conn.execute("SELECT import_path, reason FROM import_errors").fetchall()
    assert [(r[0], r[1][:7]) for r in err] == [("urls.txt:10", "bad_url")]
    fetched = len(fake_search.fake.downloader_requests)

    again = import_url_list(catalog, urls, download=TEST_DOWNLOADS)
    assert len(fake_search.fake.downloader_requests) == fetched  # nothing fetched twice
    assert (again.images_new, again.images_known, again.sources_new) == (0, 4, 0)
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 3


def test_a_killed_run_resumes_with_the_pending_urls(catalog, fake_search, tmp_path):
    base = fake_search.base
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{base}/img/good/0.jpg\n{base}/img/good/1.jpg\n")
    # What a run killed after queueing leaves: pending downloads, no images.
    catalog.conn.execute(
        "INSERT INTO downloads (url, updated_at) VALUES (?, 'x'), (?, 'x')",
        (f"{base}/img/good/0.jpg", f"{base}/img/good/1.jpg"),
    )
    s = import_url_list(catalog, urls, download=TEST_DOWNLOADS)
    assert s.images_new == 2
    statuses = catalog.conn.execute("SELECT DISTINCT status FROM downloads").fetchall()
    assert [r[0] for r in statuses] == ["ok"]


def test_private_addresses_are_refused_without_the_test_flag(catalog, fake_search, tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{fake_search.base}/img/good/0.jpg\n")
    opts = dataclasses.replace(TEST_DOWNLOADS, allow_private_hosts=False)
    s = import_url_list(catalog, urls, download=opts)
    assert (s.kept, s.failed) == (0, {"private_address": 1})
    assert fake_search.fake.downloader_requests == []


def test_csv_with_labels_and_captions(catalog, fake_search, tmp_path):
    base = fake_search.base
    urls = tmp_path / "list.csv"
    urls.write_text(
        "URL,label,caption\n"
        f"{base}/img/good/0.jpg,Happiness,a smiling man\n"
        f"{base}/img/good/1.jpg,contempt,a sneer\n"  # kept, without a label
        f"{base}/img/good/2.jpg,,\n"
    )
    assert is_url_list(urls)
    s = import_url_list(catalog, urls, download=TEST_DOWNLOADS)
    assert (s.kept, s.labelled, s.refused) == (3, 1, {"unknown_label": 1})
    got = [(r["import_path"], r["source_label"], r["caption"]) for r in sources(catalog)]
    assert got == [
        ("list.csv:1", "happy", "a smiling man"),
        ("list.csv:2", None, "a sneer"),
        ("list.csv:3", None, None),
    ]


def test_parquet_with_named_columns(catalog, fake_search, tmp_path):
    base = fake_search.base
    path = tmp_path / "shard.parquet"
    table = pa.table(
        {"link": [f"{base}/img/good/{i}.jpg" for i in range(2)], "emotion": ["sad", "fear"]}
    )
    pq.write_table(table, path)
    s = import_url_list(
        catalog, path, download=TEST_DOWNLOADS, url_column="link", label_column="emotion"
    )
    assert (s.kept, s.labelled) == (2, 2)
    assert [r["source_label"] for r in sources(catalog)] == ["sad", "fear"]
    with pytest.raises(ImportRefused, match="no URL column"):
        import_url_list(catalog, path, download=TEST_DOWNLOADS)


def test_a_taken_down_url_or_image_is_never_stored_again(catalog, fake_search, tmp_path):
    base = fake_search.base
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{base}/img/good/0.jpg\n{base}/img/good/1.jpg\n")
    import_url_list(catalog, urls, download=TEST_DOWNLOADS)
    takedown(catalog, TakedownOptions(url=f"{base}/img/good/0.jpg"))
    # The same bytes under another URL (the query string differs): blocked by hash.
    again = tmp_path / "again.txt"
    again.write_text(f"{base}/img/good/0.jpg\n{base}/img/good/0.jpg?copy=1\n")
    s = import_url_list(catalog, again, download=TEST_DOWNLOADS)
    assert s.kept == 0 and s.skipped == {"taken_down": 2}
    live = "SELECT COUNT(*) FROM images WHERE taken_down_at IS NULL"
    assert catalog.conn.execute(live).fetchone()[0] == 1


def test_which_files_are_url_lists(tmp_path):
    cases = {
        "a.txt": b"http://x/1.jpg\n",
        "b.csv": b"url,label\nhttp://x/1.jpg,happy\n",
        "c.csv": b"emotion,pixels,Usage\n3,1 2 3 4,Training\n",  # FER2013
        "d.csv": b"emotion,pixels,Usage\r3,1 2 3 4,Training\r",  # old Mac line endings
        "e.csv": b"file,label\na.png,happy\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    got = {name: is_url_list(tmp_path / name) for name in cases}
    assert got == {"a.txt": True, "b.csv": True, "c.csv": False, "d.csv": False, "e.csv": False}
