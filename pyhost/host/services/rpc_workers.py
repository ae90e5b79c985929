"""A small pool of daemon worker threads for exported method calls.

Why not concurrent.futures.ThreadPoolExecutor: its threads are joined when the interpreter
exits, so one exported method that never returns would keep ``pyhost run`` from ever
exiting. These threads are daemons; a call that hangs is abandoned at exit (its plugin's
library is never unmapped under it: see RpcService.withdraw).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable


class DaemonPool:
    def __init__(self, workers: int, name: str):
        self.max_workers = max(1, int(workers))
        self._name = name
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0        # threads waiting for work that no queued call has claimed
        self._unclaimed = 0   # queued calls waiting for a thread to finish its call
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            self._queue.put((future, fn, args))
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._name}-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
            else:
                self._unclaimed += 1
        return future

    @property
    def busy(self) -> int:
        """Threads running a call now."""
        with self._lock:
            return len(self._threads) - self._idle

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to whoever waits for the call
                    future.set_exception(exc)
            del item, future, fn, args
            with self._lock:
                if self._unclaimed:
                    self._unclaimed -= 1
                else:
                    self._idle += 1

    def close(self) -> None:
        """Queued calls are cancelled; running ones are left to finish (or not)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = len(self._threads)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in range(threads):
            self._queue.put(None)
