"""The downloader against the fake server: every fault gets its reason, good images are kept."""

from __future__ import annotations

import dataclasses
import errno
import os

import pytest
from PIL import Image

from catalog.scrape import Recorder, add_hit, ensure_query, start_run
from scraper.download import DownloadPool, Fetcher
from scraper.records import Hit
from tests.scraper.conftest import TEST_DOWNLOADS
from tests.scraper.fixture_server import FAULTS


def _download_all(cat, urls, opts=TEST_DOWNLOADS, label="happy"):
    qid = ensure_query(cat.conn, "google", f"{label} human face", label)
    run = start_run(cat.conn, qid, "http://test")
    needed = [u for u in urls if add_hit(cat.conn, qid, run, label, Hit(u))[1]]
    pool = DownloadPool(Fetcher(cat.paths.dir, opts), Recorder(cat.conn).record)
    pool.submit(needed)
    pool.wait()
    pool.close()
    rows = cat.conn.execute("SELECT * FROM downloads").fetchall()
    return {r["url"]: r for r in rows}


def test_every_fault_gets_its_reason_and_good_images_are_kept(catalog, fake_search):
    base = fake_search.base
    urls = [base + p + "?q=t" for p in FAULTS] + [base + f"/img/good/{i}.jpg" for i in range(5)]
    rows = _download_all(catalog, urls)
    for path, (status, reason) in FAULTS.items():
        row = rows[base + path + "?q=t"]
        assert (row["status"], row["reason"]) == (status, reason), path
    for i in range(5):
        assert rows[base + f"/img/good/{i}.jpg"]["status"] == "ok"
    assert rows[base + "/fault/500-then-ok.jpg?q=t"]["attempts"] == 2
    assert rows[base + "/fault/429-then-ok.jpg?q=t"]["attempts"] == 2
    assert rows[base + "/fault/404.jpg?q=t"]["http_status"] == 404
    # Exactly the good images are stored, each once, with a provenance and the query label.
    n_ok = sum(1 for r in rows.values() if r["status"] == "ok")
    images = catalog.conn.execute("SELECT * FROM images").fetchall()
    assert len(images) == n_ok == 5 + 2 + 4
    for img in images:
        path = catalog.paths.resolve(img["path"])
        assert path.is_file() and path.stat().st_size == img["bytes"]
    labels = catalog.conn.execute("SELECT source_label FROM image_sources").fetchall()
    assert len(labels) == n_ok and {r[0] for r in labels} == {"happy"}
    # The EXIF-rotated JPEG is recorded upright; the 16-bit PNG and CMYK JPEG as RGB images.
    rotated = rows[base + "/special/exif-rotated.jpg?q=t"]
    img = catalog.conn.execute(
        "SELECT * FROM images WHERE id = ?", (rotated["image_id"],)
    ).fetchone()
    assert (img["width"], img["height"]) == (200, 320)
    png16 = rows[base + "/special/16bit.png?q=t"]
    img = catalog.conn.execute("SELECT * FROM images WHERE id = ?", (png16["image_id"],)).fetchone()
    assert img["format"] == "PNG" and Image.open(catalog.paths.resolve(img["path"])).mode == "I;16"
    # Every request named facesift in its User-Agent.
    assert fake_search.fake.user_agents and all(
        "facesift" in ua for ua in fake_search.fake.user_agents
    )
    assert not list(catalog.paths.dir.rglob("*.facesift-tmp"))


def test_private_addresses_are_refused_unless_allowed(catalog, fake_search):
    opts = dataclasses.replace(TEST_DOWNLOADS, allow_private_hosts=False)
    urls = [
        fake_search.base + "/img/good/1.jpg",
        "http://localhost:9/x.jpg",
        "ftp://example.com/a.jpg",
    ]
    rows = _download_all(catalog, urls, opts)
    assert rows[urls[0]]["reason"] == "private_address"
    assert rows[urls[1]]["reason"] == "private_address"
    assert rows[urls[2]]["reason"] == "unsupported_scheme"
    assert not fake_search.fake.downloader_requests  # refused before any request


def test_the_same_image_from_two_urls_and_two_queries_is_stored_once(catalog, fake_search):
    base = fake_search.base
    a, b = base + "/img/good/2.jpg?copy=a", base + "/img/good/2.jpg?copy=b"
    _download_all(catalog, [a], label="happy")
    _download_all(catalog, [b, a], label="sad")
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 1
    sources = catalog.conn.execute(
        "SELECT s.source_label, r.url FROM image_sources s "
        "JOIN search_results r ON r.id = s.search_result_id ORDER BY s.id"
    ).fetchall()
    assert sorted(map(tuple, sources)) == [("happy", a), ("sad", a), ("sad", b)]
    # URL a was fetched once although two queries found it.
    assert [p for p, _ in fake_search.fake.downloader_requests].count("/img/good/2.jpg") == 2


def test_data_uri_thumbnails_are_stored_without_a_request(catalog, fake_search, image_factory):
    import base64

    uri = "data:image/jpeg;base64," + base64.b64encode(image_factory.thumbnail(0)).decode()
    rows = _download_all(catalog, [uri])
    assert rows[uri]["status"] == "ok"
    assert not fake_search.fake.downloader_requests


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["googlebot: noindex"], None),
        (["googlebot: noindex, facesift: noimageai"], "noimageai"),
        (["FaceSift: NoImageIndex"], "noimageindex"),
        (["unavailable_after: 25 Jun 2030 15:00:00 PST"], None),
        (["nofollow", "otherbot: noai"], None),
        ([], None),
    ],
)
def test_x_robots_tag_opt_outs(header, expected):
    from scraper.robots import opted_out

    assert opted_out(header, "facesift") == expected


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("2606:4700::1111", True),
    ],
)
def test_public_address_classification(address, public):
    from scraper.netguard import is_public_address

    assert is_public_address(address) is public


def test_an_unexpected_error_costs_one_image_not_the_run(catalog, fake_search, monkeypatch):
    import scraper.download as download

    real = download.store_content

    def flaky(dataset_dir, kind, data, ext):
        if data == fake_search.fake.factory.good(1):
            raise RuntimeError("a bug")  # a full disk stops the run instead: see below
        return real(dataset_dir, kind, data, ext)

    monkeypatch.setattr(download, "store_content", flaky)
    urls = [fake_search.base + f"/img/good/{i}.jpg" for i in range(3)]
    rows = _download_all(catalog, urls)
    assert [rows[u]["status"] for u in urls] == ["ok", "failed", "ok"]
    assert rows[urls[1]]["reason"] == "error: RuntimeError: a bug"


def test_a_host_that_resolves_public_then_connects_private_is_refused(
    catalog, fake_search, monkeypatch
):
    # DNS rebinding: the check before the request saw a public address, the connection
    # went to 127.0.0.1. The address actually connected to is checked before the body is read.
    import scraper.download as download

    monkeypatch.setattr(download, "check_url", lambda url, allow_private: None)
    opts = dataclasses.replace(TEST_DOWNLOADS, allow_private_hosts=False)
    url = fake_search.base + "/img/good/1.jpg"
    rows = _download_all(catalog, [url], opts)
    assert (rows[url]["status"], rows[url]["reason"]) == ("failed", "private_address")
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


def test_the_per_host_limit_caps_parallel_requests_to_one_server(catalog, make_fake_search):
    server = make_fake_search(image_delay_s=0.3)  # long enough for requests to overlap
    opts = dataclasses.replace(TEST_DOWNLOADS, concurrency=8, per_host=2)
    urls = [server.base + f"/img/good/{i}.jpg" for i in range(8)]
    rows = _download_all(catalog, urls, opts)
    assert all(rows[u]["status"] == "ok" for u in urls)
    assert server.fake.max_in_flight == 2


def test_retry_after_is_honoured(catalog, fake_search):
    url = fake_search.base + "/fault/429-then-ok.jpg"
    rows = _download_all(catalog, [url])
    assert (rows[url]["status"], rows[url]["attempts"]) == ("ok", 2)
    (_, first), (_, second) = fake_search.fake.request_times
    assert second - first >= 1.0  # the server said Retry-After: 1


def test_a_full_disk_stops_the_downloads_and_is_raised_once(tmp_path):
    import threading
    from types import SimpleNamespace

    from core.space import DiskFull, disk_full

    calls, done = [], []

    def fetch(url):
        calls.append(url)
        raise disk_full(tmp_path, 1234, "writing x.jpg")

    def raw(url):  # a full disk that no write put in words yet
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    fetcher = SimpleNamespace(
        opts=SimpleNamespace(concurrency=1), fetch=fetch, stop=threading.Event()
    )
    pool = DownloadPool(fetcher, done.append)
    pool.submit([f"https://example.com/{i}.jpg" for i in range(3)])
    with pytest.raises(DiskFull, match=r"^disk full: writing x\.jpg needs 1\.2 kB"):
        pool.wait()
    assert fetcher.stop.is_set() and not done  # nothing recorded as a per-image failure
    pool.close()
    fetcher = SimpleNamespace(
        opts=SimpleNamespace(concurrency=1), fetch=raw, stop=threading.Event(), dir=tmp_path
    )
    pool = DownloadPool(fetcher, done.append)
    pool.submit(["https://example.com/a.jpg"])
    with pytest.raises(DiskFull, match=r"^disk full: downloading https://example\.com/a\.jpg"):
        pool.wait()
    assert fetcher.stop.is_set() and not done
    pool.close()
