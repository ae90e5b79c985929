"""Effects: every call a plugin makes to an application interface, recorded.

Each call is an :class:`Effect` (interface, function, arguments, then result or error) in the
host's :class:`EffectLog` (``host.effects``), which the test bench reads per event and
callbacks may follow live.
"""
from __future__ import annotations

import base64
import collections
import enum
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

log = logging.getLogger("pyhost.app")

@dataclass
class Effect:
    """One call a plugin made to an application interface (or, with interface "world", an
    event the simulated world fired in response)."""
    seq: int
    interface: str
    function: str
    args: dict
    result: Any = None
    error: Optional[str] = None

    def to_dict(self) -> dict:
        d = {"interface": self.interface, "function": self.function, "args": self.args}
        if self.result is not None:
            d["result"] = self.result
        if self.error is not None:
            d["error"] = self.error
        return d


class EffectLog:
    """A bounded, thread-safe record of effects. Subscribers are called as each effect
    starts (its result is filled in when the call returns)."""

    def __init__(self, maxlen: int = 100_000):
        self._lock = threading.Lock()
        self._effects: collections.deque[Effect] = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._subscribers: tuple[Callable[[Effect], None], ...] = ()
        self.dropped = 0

    def begin(self, interface: str, function: str, args: dict) -> Effect:
        with self._lock:
            effect = Effect(next(self._seq), interface, function, args)
            if len(self._effects) == self._effects.maxlen:
                self.dropped += 1
            self._effects.append(effect)
        return effect

    def drain(self) -> list[Effect]:
        """Removes and returns the recorded effects, oldest first."""
        with self._lock:
            out = list(self._effects)
            self._effects.clear()
        return out

    def snapshot(self) -> list[Effect]:
        with self._lock:
            return list(self._effects)

    def subscribe(self, callback: Callable[[Effect], None]) -> Callable[[], None]:
        """Calls ``callback(effect)`` once each effect is complete; returns an unsubscribe."""
        with self._lock:
            self._subscribers += (callback,)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)
        return unsubscribe

    def _finished(self, effect: Effect) -> None:
        for callback in self._subscribers:
            try:
                callback(effect)
            except Exception:
                log.exception("effect subscriber %r failed", callback)


def jsonable(value: Any) -> Any:
    """Effect arguments and results as plain JSON values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (int, float)):
        return value
    summary = getattr(value, "summary", None)
    if callable(summary):
        return summary()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


