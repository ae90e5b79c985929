"""Host events about extensions (``pyhost run --json`` prints them as ``host_event`` lines;
the API's event log shows the errors)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from pyhost.host.events import Category, Event


@dataclass(frozen=True)
class ExtensionStarted(Event):
    """An extension process was launched."""

    category: ClassVar[Category] = Category.PLUGIN
    name: str
    pid: int
    engine: str


@dataclass(frozen=True)
class ExtensionExited(Event):
    """An extension process ended without being asked to; ``restart_in_s`` is when it is
    started again (a restart request, exit code 124, 74 or 75: after 3 s; any other code:
    exponential back-off)."""

    category: ClassVar[Category] = Category.PLUGIN
    name: str
    exit_code: int
    failures: int
    restart_in_s: float
    reason: str


@dataclass(frozen=True)
class ExtensionCrashed(Event):
    """An extension failed too many times in a row and is no longer restarted."""

    category: ClassVar[Category] = Category.PLUGIN | Category.ERROR
    name: str
    exit_code: int
    failures: int
    reason: str


@dataclass(frozen=True)
class ExtensionFailed(Event):
    """An extension could not be started (no engine, an incompatible package...)."""

    category: ClassVar[Category] = Category.PLUGIN | Category.ERROR
    name: str
    reason: str


@dataclass(frozen=True)
class ExtensionStopped(Event):
    """An extension process was stopped on request (or at pyhost's end)."""

    category: ClassVar[Category] = Category.PLUGIN
    name: str
    exit_code: Optional[int]


@dataclass(frozen=True)
class ExtensionReadyTimedOut(Event):
    """Start-up went on without an extension that had not signalled ready (or, without
    signalReady, connected) in time (a warning: it keeps running)."""

    category: ClassVar[Category] = Category.PLUGIN
    name: str
    timeout_s: float
    reason: str
