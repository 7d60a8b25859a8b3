"""Jobs for the executor tests: module-level functions, as a worker must import them."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path


def load_token(config: str) -> dict:
    """A worker's state: which process loaded it, and a token that is new on every load."""
    return {"pid": os.getpid(), "token": random.random(), "config": config}


def square(state: dict, batch: list[int]) -> list[tuple[int, int, float]]:
    """Each item squared, with the process and the state's token that computed it."""
    return [(x * x, state["pid"], state["token"]) for x in batch]


def slow_square(state: dict, batch: list[int]) -> list[tuple[int, int, float]]:
    """As :func:`square`, a quarter of a second per item."""
    time.sleep(0.25 * len(batch))
    return square(state, batch)


def die_on_13(state: dict, batch: list[int]) -> list[tuple[int, int, float]]:
    """Kills its own worker process on item 13, as a hostile image can."""
    if 13 in batch:
        os.kill(os.getpid(), signal.SIGKILL)
    return square(state, batch)


def note_pid_then_sleep(state: dict, batch: list[str]) -> list[int]:
    """Writes this worker's pid into the folder named by the item, then sleeps a minute."""
    for folder in batch:
        (Path(folder) / f"{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(60)
    return [os.getpid() for _ in batch]


def profiling(state: object, batch: list[int]) -> list[tuple[int, bool]]:
    """Per item: the process, and whether Dask's statistical profiler is on in it."""
    import dask

    on = bool(dask.config.get("distributed.worker.profile.enabled"))
    return [(os.getpid(), on) for _ in batch]
