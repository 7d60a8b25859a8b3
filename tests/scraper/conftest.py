"""Fixtures of the scrape tests: the fake search server, test download options, a browser."""

from __future__ import annotations

import pytest

from scraper.config import DownloadOptions
from tests.scraper.fixture_images import ImageFactory
from tests.scraper.fixture_server import FakeSearch, Server

# Small limits so that every fault is reached quickly: 1 MB bodies, 0.5 s reads.
TEST_DOWNLOADS = DownloadOptions(
    concurrency=8,
    per_host=8,
    connect_timeout=2.0,
    read_timeout=0.5,
    total_timeout=3.0,
    retries=2,
    backoff=0.05,
    max_retry_after=2.0,
    max_bytes=1_000_000,
    max_redirects=4,
    allow_private_hosts=True,
)


@pytest.fixture(scope="session")
def image_factory(photos) -> ImageFactory:
    """Distinct real-photo JPEGs and every special and broken image."""
    return ImageFactory([p.path for p in photos])


@pytest.fixture
def fake_search(image_factory):
    """A running fake search engine; yields the Server (``.base``, ``.fake``)."""
    with Server(FakeSearch(image_factory)) as server:
        yield server


@pytest.fixture
def make_fake_search(image_factory):
    """Start fake search engines with other settings (n_good, faults, delays)."""
    servers: list[Server] = []

    def make(**settings) -> Server:
        server = Server(FakeSearch(image_factory, **settings)).__enter__()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.__exit__(None, None, None)
