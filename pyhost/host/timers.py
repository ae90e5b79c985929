"""The host's timer: fires dcpp.timer.onSecond every second and dcpp.timer.onMinute every
minute while the host runs, from its own thread, with the tick in milliseconds (a monotonic
clock, as DC++'s GET_TICK) as data (``uint64_t*``)."""
from __future__ import annotations

import threading
import time
from typing import Callable


def tick_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class Timer:
    """Calls ``fire(tick_ms, is_minute)`` once a second on a background thread."""

    def __init__(self, fire: Callable[[int, bool], None], interval: float = 1.0):
        self._fire = fire
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pyhost-timer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        seconds = 0
        next_at = time.monotonic() + self._interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            seconds += 1
            self._fire(tick_ms(), seconds % 60 == 0)
            next_at += self._interval
