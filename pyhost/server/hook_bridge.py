"""API hook subscribers, bridged to the host's hook bus.

For every hook the API offers (``hubs/hooks/hub_incoming_message_hook`` ->
``dcpp.chat.onIncomingChat``, ...) the bridge binds ONE Python subscriber on the bus when the
server starts. When the hook fires (from the application, ``host.fire``, a replay, or an API
action), that subscriber runs on the firing thread and calls the API subscribers of the hook
one after the other, in the order they subscribed: each call is pushed to the client as
``{"event": <hook>, "completion_id": N, "data": ...}`` (thread-safely, through the server's
loop) and the firing thread waits, without the GIL, until the client answers
``.../<N>/resolve`` or ``.../<N>/reject``, or until the hook's timeout. A reject means
handled: the subscriber returns HANDLED | BREAK, so later subscribers are not called and the
first reject wins. A subscriber that does not answer in time, or whose socket goes away,
counts as accepted; a timeout is reported (an ``api_hook_timed_out`` host event, an error in
the event log). A hook fired on the server's own loop thread is never waited for (that would
deadlock): its API subscribers are skipped and the skip is reported; the API's own actions
that fire hooks run in worker threads so this does not happen.

Bind order: the bridge's subscriber is bound when the server starts, so it comes after every
subscriber bound before (plugins loaded at host start) and before those bound later (plugins
enabled while the server runs). Within it, API subscribers run in subscription order.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

from pyhost.abi.bus import BREAK, HANDLED
from pyhost.host.events import Category, Event
from pyhost.server.protocol import ApiError, dumps

log = logging.getLogger("pyhost.server")


@dataclass(frozen=True)
class ApiHookTimedOut(Event):
    """An API hook subscriber did not answer within the hook's timeout (it counted as
    accepted)."""

    category: ClassVar[Category] = Category.ERROR | Category.HOOK
    hook: str
    subscriber: str
    user: str
    timeout_s: float


@dataclass(frozen=True)
class ApiHookSkipped(Event):
    """A hook fired on the server's loop thread could not wait for its API subscribers."""

    category: ClassVar[Category] = Category.ERROR | Category.HOOK
    hook: str
    reason: str


@dataclass
class BridgedHook:
    """One bus hook the API sees. ``name`` is the API hook (None: listeners only). A hook
    with no ``guid`` is the API's own (menus): nothing is bound on the bus; the server asks
    its subscribers with :meth:`HookBridge.collect`."""
    guid: Optional[str]
    module: str
    name: Optional[str]
    permission: Optional[str]
    timeout: float
    serialize: Callable[[Any, Any], Any]        # (object, data) -> JSON-able payload
    on_pass: Optional[Callable[[Any], None]] = None   # payload of an event nobody rejected
    wanted: Callable[[], bool] = lambda: False        # does on_pass have listeners?


@dataclass
class _Subscriber:
    connection: Any
    hook: str
    id: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass
class _Pending:
    completion_id: int
    subscriber: _Subscriber
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Optional[tuple] = None  # ("resolve", data) / ("reject", id, message) / ("gone",)


class HookBridge:
    def __init__(self, host: Any, timeouts: Optional[dict[str, float]] = None):
        self.host = host
        self.hooks: dict[str, BridgedHook] = {}      # API hook name -> definition
        self._by_guid: dict[str, BridgedHook] = {}
        self._timeouts = dict(timeouts or {})
        self._subs: dict[str, tuple[_Subscriber, ...]] = {}
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._bound: list[Any] = []
        self._stopped = False  # set by stop(): no call waits for a client any more
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None
        self.on_error: list[Callable[[str], None]] = []

    # -- definitions and binding ----------------------------------------------------------
    def define(self, hook: BridgedHook) -> None:
        if hook.name is not None:
            hook.timeout = self._timeouts.get(hook.name, hook.timeout)
            self.hooks[hook.name] = hook
        if hook.guid is not None:
            self._by_guid[hook.guid] = hook

    def start(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        self.loop = loop
        self._loop_thread = thread_id
        self._stopped = False
        for guid, hook in self._by_guid.items():
            self._bound.append(self.host.bus.bind(
                guid, lambda obj, data, common, h=hook: self._fire(h, obj, data)))

    def stop(self) -> None:
        for sub in self._bound:
            sub.release()
        self._bound.clear()
        with self._lock:
            self._stopped = True
            pending = list(self._pending.values())
            self._pending.clear()
            self._subs = {}
        for call in pending:
            call.outcome = ("gone",)
            call.done.set()

    # -- subscribers (server loop) --------------------------------------------------------
    def subscribe(self, connection: Any, hook_name: str, sub_id: str, name: str) -> None:
        with self._lock:
            current = self._subs.get(hook_name, ())
            session = connection.session
            if any(s.connection.session is session for s in current):
                raise ApiError(409, f"This session has a subscriber for {hook_name} already.")
            self._subs = {**self._subs,
                          hook_name: current + (_Subscriber(connection, hook_name, sub_id,
                                                            name),)}

    def unsubscribe(self, connection: Any, hook_name: str) -> bool:
        with self._lock:
            current = self._subs.get(hook_name, ())
            rest = tuple(s for s in current if s.connection is not connection)
            if len(rest) == len(current):
                return False
            self._subs = {**self._subs, hook_name: rest}
            gone = [p for p in self._pending.values()
                    if p.subscriber.connection is connection and p.subscriber.hook == hook_name]
        for call in gone:
            self._finish(call, ("gone",))
        return True

    def remove_connection(self, connection: Any) -> None:
        with self._lock:
            self._subs = {h: tuple(s for s in subs if s.connection is not connection)
                          for h, subs in self._subs.items()}
            gone = [p for p in self._pending.values() if p.subscriber.connection is connection]
        for call in gone:
            self._finish(call, ("gone",))

    def subscribers(self, hook_name: str) -> list[dict]:
        return [{"id": s.id, "name": s.name} for s in self._subs.get(hook_name, ())]

    def complete(self, connection: Any, hook_name: str, completion_id: int,
                 outcome: tuple) -> None:
        with self._lock:
            call = self._pending.get(completion_id)
            if call is None or call.subscriber.hook != hook_name or \
                    call.subscriber.connection.session is not connection.session:
                raise ApiError(404, f"No {hook_name} action with completion id "
                                    f"{completion_id} is waiting (it may have timed out).")
        self._finish(call, outcome)

    def _finish(self, call: _Pending, outcome: tuple) -> None:
        with self._lock:
            if self._pending.pop(call.completion_id, None) is None:
                return
        call.outcome = outcome
        call.done.set()

    # -- firing (any thread) --------------------------------------------------------------
    def _fire(self, hook: BridgedHook, obj: Any, data: Any) -> int:
        subs = self._subs.get(hook.name, ()) if hook.name is not None else ()
        wanted = hook.on_pass is not None and hook.wanted()
        if not subs and not wanted:
            return 0
        payload = hook.serialize(obj, data)
        if subs:
            on_loop = threading.get_ident() == self._loop_thread
            if on_loop:
                self._report_skip(hook, "it was fired on the server's loop thread, which "
                                        "cannot wait for its own clients")
            else:
                for sub in subs:
                    if self._call(hook, sub, payload):
                        return HANDLED | BREAK
        if wanted:
            hook.on_pass(payload)
        return 0

    def collect(self, hook_name: str, payload: Any) -> list[tuple[Any, Any]]:
        """Asks each API subscriber of an API-only hook in turn (never from the loop
        thread); returns ``(subscriber, resolve data)`` of those that resolved in time."""
        hook = self.hooks[hook_name]
        if threading.get_ident() == self._loop_thread:
            self._report_skip(hook, "it was fired on the server's loop thread")
            return []
        out = []
        for sub in self._subs.get(hook_name, ()):
            outcome = self._ask(hook, sub, payload)
            if outcome is not None and outcome[0] == "resolve":
                out.append((sub, outcome[1]))
        return out

    def _call(self, hook: BridgedHook, sub: _Subscriber, payload: Any) -> bool:
        """Runs one API subscriber; True when it rejected."""
        outcome = self._ask(hook, sub, payload)
        if outcome is None or outcome[0] != "reject":
            return False
        _, reject_id, message = outcome
        self._record(f"{hook.name}.reject", {"subscriber": sub.label,
                                             "user": _user(sub.connection),
                                             "reject_id": reject_id, "message": message})
        return True

    def _ask(self, hook: BridgedHook, sub: _Subscriber, payload: Any) -> Optional[tuple]:
        """Pushes one call and waits for its answer: the outcome, or None (timed out)."""
        loop = self.loop
        if loop is None or sub.connection.closed:
            return None
        call = _Pending(next(self._ids), sub)
        with self._lock:
            if self._stopped:  # a hook that fired while the server stopped: not waited for
                return None
            self._pending[call.completion_id] = call
        frame = dumps({"event": hook.name, "completion_id": call.completion_id,
                       "data": payload})
        try:
            loop.call_soon_threadsafe(sub.connection.send, frame)
        except RuntimeError:  # the loop is gone
            self._finish(call, ("gone",))
            return None
        if not call.done.wait(hook.timeout):
            with self._lock:
                still_waiting = self._pending.pop(call.completion_id, None) is not None
            if still_waiting:
                self._report_timeout(hook, sub)
                return None
        return call.outcome or ("gone",)

    # -- reporting -----------------------------------------------------------------------
    def _record(self, function: str, args: dict) -> None:
        try:
            self.host.app_services.call("api", function, args, lambda: None)
        except Exception:
            log.exception("recording an API hook effect failed")

    def _report_timeout(self, hook: BridgedHook, sub: _Subscriber) -> None:
        user = _user(sub.connection)
        message = (f"API hook subscriber {sub.label} of {user} did not answer {hook.name} "
                   f"within {hook.timeout:g} s; the event was accepted")
        log.warning("%s", message)
        self._record(f"{hook.name}.timeout", {"subscriber": sub.label, "user": user,
                                              "timeout_s": hook.timeout})
        self.host.events.emit(ApiHookTimedOut, hook=hook.name, subscriber=sub.label,
                              user=user, timeout_s=hook.timeout)
        self._tell(message)

    def _report_skip(self, hook: BridgedHook, reason: str) -> None:
        message = f"API subscribers of {hook.name} were skipped: {reason}"
        log.error("%s", message)
        self.host.events.emit(ApiHookSkipped, hook=hook.name or hook.guid, reason=reason)
        self._tell(message)

    def _tell(self, message: str) -> None:
        for callback in self.on_error:
            try:
                callback(message)
            except Exception:
                log.exception("hook error callback failed")


def _user(connection: Any) -> str:
    session = connection.session
    return session.user.name if session is not None else "-"
