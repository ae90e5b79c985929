"""The blocking client: the asyncio client on a private event-loop thread."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Optional

from pyhost.client.aio import DEFAULT_URL, AsyncClient, Event, _Namespace
from pyhost.client.errors import ClientError


class Client:
    """Same methods as :class:`AsyncClient`, blocking. Callbacks given to :meth:`on` run on
    the client's own thread."""

    def __init__(self, url: str = DEFAULT_URL, *, username: Optional[str] = None,
                 password: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0, ssl: Any = None, connect: bool = True):
        self._inner = AsyncClient(url, username=username, password=password, token=token,
                                  timeout=timeout, ssl=ssl)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="pyhost-client")
        self._thread.start()
        if connect:
            try:
                self.connect()
            except BaseException:
                self._stop_loop()
                raise

    def _run(self, coro, timeout: Any = "default") -> Any:
        """Runs a coroutine on the client's loop; waits ``timeout`` seconds (None: as long
        as it takes; by default a little longer than the request time-out)."""
        if not self._thread.is_alive():
            coro.close()
            raise ClientError("This client is closed.")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self.timeout + 5 if timeout == "default" else timeout)
        except FutureTimeout:
            future.cancel()
            raise ClientError("pyhost did not answer in time.") from None

    def connect(self) -> "Client":
        self._run(self._inner.connect())
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self._run(self._inner.close(), 10)
            finally:
                self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def user(self) -> Optional[dict]:
        return self._inner.user

    @property
    def token(self) -> Optional[str]:
        return self._inner.token

    def request(self, method: str, path: str, data: Any = None) -> Any:
        return self._run(self._inner.request(method, path, data))

    def call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._inner.call(name, *args, **kwargs))

    def methods(self) -> list[dict]:
        return self._run(self._inner.methods())

    def listen(self, event: str, entity: Optional[str] = None,
               area: Optional[str] = None) -> None:
        self._run(self._inner.listen(event, entity, area))

    def on(self, event: str, callback: Callable[[Event], Any]) -> None:
        self._loop.call_soon_threadsafe(self._inner.on, event, callback)

    def next_event(self, timeout: Optional[float] = None) -> Event:
        """The oldest event not taken yet; TimeoutError after ``timeout`` seconds."""
        try:
            return self._run(self._inner.next_event(timeout),
                             None if timeout is None else timeout + 5)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no event within {timeout:g} s") from None

    def __getattr__(self, namespace: str) -> _Namespace:
        if namespace.startswith("_"):
            raise AttributeError(namespace)
        return _Namespace(self.call, namespace)
