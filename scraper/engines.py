"""Which engine serves which query: the --engine list, the --fallback, pauses and the delay.

A blocked engine is paused for the rest of the run (never asked again: no
hammering) and its queries go to the fallback. Pure bookkeeping; the stage does
the crawling.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import FacesiftError

ENGINES = ("google", "bing", "duckduckgo")
DEFAULT_BASE_URLS = {
    "google": "https://www.google.com",
    "bing": "https://www.bing.com",
    "duckduckgo": "https://duckduckgo.com",
}


class EngineError(FacesiftError, ValueError):
    """An --engine or --fallback that names no known engine."""


def parse_engines(text: str) -> list[str]:
    """``google,bing`` -> ['google', 'bing'] (known engines, no repeats, order kept)."""
    out: list[str] = []
    for word in text.split(","):
        name = word.strip().lower()
        if not name:
            continue
        if name not in ENGINES:
            raise EngineError(f"unknown engine {name!r}: use {', '.join(ENGINES)} or a list")
        if name not in out:
            out.append(name)
    if not out:
        raise EngineError(f"--engine is empty: use {', '.join(ENGINES)} or a list")
    return out


def parse_fallback(text: str | None) -> str | None:
    """The fallback engine, or None for ``none``."""
    name = (text or "none").strip().lower()
    if name == "none":
        return None
    if name not in ENGINES:
        raise EngineError(f"unknown --fallback {name!r}: use {', '.join(ENGINES)} or none")
    return name


@dataclass
class Router:
    """Tracks paused engines and picks the engine that serves each asked one."""

    fallback: str | None
    paused: dict[str, str] = field(default_factory=dict)  # engine -> why

    def pause(self, engine: str, why: str) -> None:
        """Stop asking ``engine`` for the rest of the run."""
        self.paused.setdefault(engine, why)

    def pick(self, asked: str) -> tuple[str | None, str]:
        """(the engine to use for a query asked of ``asked``, or None; why that one)."""
        if asked not in self.paused:
            return asked, ""
        # The block's own message is on the blocked query's row; this says where it went.
        why = f"{asked} paused"
        fb = self.fallback
        if fb is None:
            return None, f"{why}; no fallback"
        if fb in self.paused:
            return None, f"{why}; the fallback {fb} is paused too"
        return fb, f"{why}; served by the fallback {fb}"


@dataclass
class Pacer:
    """Waits ``delay`` seconds (jittered by half either way) between queries of one engine."""

    delay: float
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)

    def wait(self, engine: str) -> float:
        """Sleep until this engine may be asked again; return the seconds slept."""
        if self.delay <= 0 or engine not in self._last:
            return 0.0
        gap = self.delay * self.rng.uniform(0.5, 1.5)
        left = self._last[engine] + gap - self.clock()
        if left > 0:
            self.sleep(left)
            return left
        return 0.0

    def done(self, engine: str) -> None:
        """Note that a query of ``engine`` just ended."""
        self._last[engine] = self.clock()
