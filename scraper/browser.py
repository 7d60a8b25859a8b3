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
    """A Selenium Chrome driver with its own throw-away profile; ``quit()`` removes both."""

    def __init__(
        self,
        *,
        headful: bool = False,
        driver: Path | None = None,
        binary: Path | None = None,
        page_timeout: float = 30.0,
    ):
        if binary is not None and not Path(binary).exists():
            raise ScrapeError(f"no browser at {binary}")
        found = binary or _which(BROWSER_NAMES)
        service = Service(str(_driver_path(driver)))
        self.profile = Path(tempfile.mkdtemp(prefix="facesift-chrome-"))
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
            shutil.rmtree(self.profile, ignore_errors=True)
            first = (e.msg or str(e)).strip().splitlines()[0] if (e.msg or str(e)) else "?"
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
        """Stop the browser and the driver and remove the profile."""
        try:
            self.driver.quit()
        except Exception as e:  # a dead browser must not hide the real error
            log.debug("quitting the browser: %s", e)
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()


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
