"""Starting Chrome or Chromium through Selenium 4."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

from scraper.config import ScrapeError

log = logging.getLogger("facesift.scraper")

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# What headless Chromium needs to run as root in a container, and to stay quiet.
CHROME_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,1000",
    "--lang=en-US",
)


class Browser:
    """A Selenium Chrome driver; ``quit()`` stops it.

    With ``profile`` the browser keeps its cookies and consent answers in that
    folder between runs (created private, 0700); without, it gets a throw-away
    profile that ``quit()`` removes.
    """

    def __init__(
        self,
        *,
        headful: bool = False,
        driver: Path | None = None,
        binary: Path | None = None,
        page_timeout: float = 30.0,
        profile: Path | None = None,
    ):
        if binary is not None and not Path(binary).exists():
            raise ScrapeError(f"no browser at {binary}")
        found = binary or _which(BROWSER_NAMES)
        service = Service(str(_driver_path(driver)))
        self.keep_profile = profile is not None
        self.profile = (
            private_dir(profile) if profile else Path(tempfile.mkdtemp(prefix="facesift-chrome-"))
        )
        options = webdriver.ChromeOptions()
        if not headful:
            options.add_argument("--headless=new")
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        if found:
            options.binary_location = str(found)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as e:
            if not self.keep_profile:
                shutil.rmtree(self.profile, ignore_errors=True)
            first = (e.msg or str(e)).strip().splitlines()[0] if (e.msg or str(e)) else "?"
            if self.keep_profile and "user data directory is already in use" in first:
                raise ScrapeError(
                    f"the browser profile {self.profile} is in use by another browser; "
                    "close it or pass another --profile"
                ) from None
            raise ScrapeError(
                f"could not start the browser ({first}); install chromium and chromedriver "
                "or pass --browser and --driver"
            ) from None
        self.driver.set_page_load_timeout(page_timeout)
        log.info("browser %s, driver %s", found or "(selenium's choice)", driver or "on PATH")

    def new_page(self) -> None:
        """A fresh tab for the next query; the previous one is closed."""
        d = self.driver
        old = d.current_window_handle
        d.switch_to.new_window("tab")
        new = d.current_window_handle
        d.switch_to.window(old)
        d.close()
        d.switch_to.window(new)

    def quit(self) -> None:
        """Stop the browser and the driver; remove the profile unless it is kept."""
        try:
            self.driver.quit()
        except Exception as e:  # a dead browser must not hide the real error
            log.debug("quitting the browser: %s", e)
        finally:
            if not self.keep_profile:
                shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can read (0700): it holds cookies."""
    path = Path(path).expanduser().resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError as e:
        raise ScrapeError(f"cannot use {path} as the browser profile: {e.strerror}") from None
    if not path.is_dir():
        raise ScrapeError(f"cannot use {path} as the browser profile: not a folder")
    return path


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        if found := shutil.which(name):
            return found
    return None


def _driver_path(explicit: Path | None) -> Path:
    """--driver, else chromedriver on PATH, else one webdriver-manager downloads."""
    if explicit is not None:
        if not Path(explicit).exists():
            raise ScrapeError(f"no chromedriver at {explicit}")
        return Path(explicit)
    if found := shutil.which("chromedriver"):
        return Path(found)
    try:
        from webdriver_manager.chrome import ChromeDriverManager

        return Path(ChromeDriverManager().install())
    except Exception as e:
        raise ScrapeError(f"no chromedriver on PATH and webdriver-manager failed: {e}") from None
