"""What happens when an isolated plugin's process dies: the event, the replay file, the
restart with back-off, and the plugin marked crashed after too many crashes in a row.

The handler runs on the thread that waited for the process. It takes the host's lock for
the bookkeeping, sleeps the back-off without it, and takes it again to restart. A crash
counts "in a row" unless the plugin answered a hook call since the previous crash.

The replay file holds the last hook calls forwarded to the plugin (native record, oldest
first) as pyhost-replay lines (docs/testbench.md), so ``pyhost run --replay FILE
--in-process`` feeds the same events to the plugin loaded in the host's own process, under
a debugger if need be. Calls of hooks that are not standard hooks cannot be replayed; they
appear as comment lines.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Protocol

from pyhost.abi._ffi import lib
from pyhost.abi.hook_specs import spec
from pyhost.abi.hook_types import KINDS
from pyhost.host.events import EventStream, PluginCrashed, PluginRestarted
from pyhost.host.isolation.process import IsolatedPlugin, RunnerProcess, describe_status
from pyhost.host.isolation.wire import Reader, WireError

log = logging.getLogger("pyhost.isolation")

CRASH_DIR = "crashes"
_PROTOCOLS = {0: "adc", 1: "nmdc", 2: "dht"}
_K = {number: name for name, number in KINDS.items()}


class CrashSite(Protocol):
    """What the handler needs of its host."""

    home: Path
    events: EventStream

    def isolation_lock(self) -> Any: ...

    def is_loaded_plugin(self, plugin: IsolatedPlugin) -> bool: ...

    def drop_crashed(self, plugin: IsolatedPlugin, reason: str) -> None: ...


class CrashHandler:
    """Called with (plugin, runner) when a runner ends unasked (see the module)."""

    def __init__(self, site: CrashSite, options):
        self.site = site
        self.options = options

    def __call__(self, plugin: IsolatedPlugin, runner: RunnerProcess) -> None:
        site = self.site
        what, deadline = runner.what, runner.deadline
        sig, code = describe_status(runner.status)
        with site.isolation_lock():
            closed = plugin.closed  # then its native state is gone: report only
            calls = plugin.calls_mark if closed else lib.phn_iso_plugin_calls(plugin.native)
            if calls != plugin.calls_mark:  # it worked in between: a fresh series
                plugin.crashes_in_row = 0
                plugin.calls_mark = calls
            plugin.crashes_in_row += 1
            crashes = plugin.crashes_in_row
            loaded = not closed and plugin.active and site.is_loaded_plugin(plugin)
            if loaded:
                lib.phn_iso_plugin_crashed(plugin.native)  # its subscriptions go
            action = "none"
            if loaded:
                action = "disabled" if crashes >= self.options.max_crashes else "restarting"
            replay = self._replay(plugin, runner, what, sig, code, deadline)
            meta = plugin.meta
            log.error("%s crashed (%s) in %s; %s", plugin.name, runner.describe(),
                      what or "no call", action)
            site.events.emit(PluginCrashed, guid=meta.guid if meta else None, name=plugin.name,
                             signal=sig, exit_code=code, hook=what, deadline=deadline,
                             replay=replay, crashes=crashes, action=action)
            if action == "disabled":
                site.drop_crashed(plugin, f"{plugin.name} crashed {crashes} times in a row "
                                          f"(last: {runner.describe()}); it is disabled until "
                                          "enabled again.")
        runner.reported.set()  # reported; the restart below may take a while
        if action == "restarting":
            self._restart(plugin, crashes)

    def _restart(self, plugin: IsolatedPlugin, crashes: int) -> None:
        time.sleep(self.options.restart_backoff(crashes))
        site = self.site
        with site.isolation_lock():
            if not (plugin.active and site.is_loaded_plugin(plugin)):
                return  # unloaded or replaced meanwhile
            result = plugin.restart()
            if result == "ok":
                site.events.emit(PluginRestarted, guid=plugin.meta.guid, name=plugin.name,
                                 attempt=crashes)
            elif result == "refused":
                site.drop_crashed(plugin, f"{plugin.name} did not load again after a crash "
                                          "(its main returned False for ON_LOAD_RUNTIME).")
            # "crashed": the new runner's own end is handled like this one

    # -- the replay file ----------------------------------------------------------------------
    def _replay(self, plugin: IsolatedPlugin, runner: RunnerProcess, what: Optional[str],
                sig: Optional[str], code: Optional[int], deadline: bool) -> Optional[str]:
        data = runner.history
        if not self.options.history or not data:
            return None
        try:
            lines = replay_lines(data)
        except WireError as exc:
            log.error("the record of %s's last calls is unreadable: %s", plugin.name, exc)
            return None
        if not lines:
            return None
        now = datetime.now(timezone.utc)
        how = "killed after missing its deadline" if deadline else (
            sig or (f"exit status {code}" if code is not None else "ended"))
        guid = plugin.meta.guid if plugin.meta else "?"
        head = [json.dumps({"pyhost_replay": 1}),
                f"# {plugin.name} {guid} crashed at {now.isoformat(timespec='seconds')}: "
                f"{how}, in {what or 'no call'} (runner pid {runner.pid}).",
                f"# The last {len(lines)} hook calls it received, oldest first; the last one "
                "is where it died if a hook call killed it.",
                "# Reproduce in the host's own process: pyhost run --in-process --replay THIS"]
        directory = self.site.home / CRASH_DIR
        directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", plugin.name).strip("-").lower() or "plugin"
        path = directory / f"{slug}-{now.strftime('%Y%m%d-%H%M%S')}-{runner.pid}.jsonl"
        path.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
        return str(path)


def replay_lines(data: bytes) -> list[str]:
    """The native record of hook calls (native/isolation/iso_host.c, phn_iso_history) as
    pyhost-replay lines (comments for what cannot be replayed)."""
    r = Reader(data)
    out = []
    for _ in range(r.u32()):
        guid = r.str() or "?"
        okind, dkind = r.u8(), r.u8()
        values = Reader(r.block())
        text = r.str()
        try:
            std = spec(guid)
        except KeyError:
            out.append(f"# {guid}: not a standard hook, cannot be replayed")
            continue
        obj = _value(values, okind)
        value = _value(values, dkind)
        if std.data == "tags":
            value = text
        elif std.data == "display" and isinstance(value, dict):
            value = value.get("in")
        if obj is None and std.object not in (None, "host") and std.data not in ("tags",
                                                                               "display"):
            out.append(f"# {std.short} with a NULL {std.object}: a replay needs one")
            continue
        event: dict[str, Any] = {"hook": std.short}
        if obj is not None:
            event["object"] = obj
        if value is not None:
            event["data"] = value
        if std.data == "tags" and text is None:
            out.append(f"# {json.dumps(event)}  (the text to tag was not recorded)")
            continue
        out.append(json.dumps(event, ensure_ascii=False))
    return out


def _nonempty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, "")}


def _value(r: Reader, kind: int) -> Any:
    """One value of iso_marshal.c's layout, in the form a replay file gives it."""
    if r.u8() == 0:
        return None
    name = _K.get(kind)
    if name == "hub":
        r.u64()
        url, ip, _obj, port, proto, flags = r.str(), r.str(), r.u64(), r.u32(), r.u32(), r.u32()
        return _nonempty({"url": url, "ip": ip, "port": port,
                          "protocol": _PROTOCOLS.get(proto), "is_op": bool(flags & 1),
                          "is_secure": bool(flags & 2)})
    if name == "user":
        r.u64()
        nick, hub, cid, _obj = r.str(), r.str(), r.str(), r.u64()
        sid, proto, flags = r.u32(), r.u32(), r.u32()
        return _nonempty({"nick": nick, "cid": cid, "hub": hub, "sid": sid,
                          "protocol": _PROTOCOLS.get(proto), "is_op": bool(flags & 1)})
    if name == "connection":
        r.u64()
        ip, _obj, port, proto, flags = r.str(), r.u64(), r.u32(), r.u32(), r.u32()
        return _nonempty({"ip": ip, "port": port, "protocol": _PROTOCOLS.get(proto),
                          "is_op": bool(flags & 1), "is_secure": bool(flags & 2)})
    if name == "queue":
        r.u64()
        target, location, hash_, _obj, size, flags = (r.str(), r.str(), r.str(), r.u64(),
                                                       r.u64(), r.u32())
        return _nonempty({"target": target, "hash": hash_, "size": size,
                          "location": location, "is_file_list": bool(flags & 8)})
    if name == "udp":
        return {"ip": r.str() or "", "port": r.u32()}
    if name in ("host", "tick"):
        return r.u64()
    if name == "text":
        return r.str()
    if name == "tags":
        r.u64(), r.u64(), r.u32()
        return None
    if name == "display":
        return {"in": r.str(), "out": r.str()}
    if name == "command":
        return {"command": r.str() or "", "params": r.str() or ""}
    if name == "bytes":
        r.u64()
        raw = r.raw() or b""
        r.u32()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    raise WireError(f"unknown value kind {kind}")
