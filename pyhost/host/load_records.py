"""Remembering that a host process died inside a plugin's load state.

Before calling a plugin's main for ON_LOAD or ON_LOAD_RUNTIME the host records "loading, by
this process" in the plugin's registry row, and clears it when main returns, whatever it
answered. A row still saying "loading" by a process that no longer exists means that
process died there (a segfault, an abort, a kill): the plugin is then marked "crashed" and
skipped until the user enables it again or removes it. The records are committed without
an fsync: they only have to outlive the process, not the machine.
"""
from __future__ import annotations

import logging
import os

from pyhost.host.registry import PluginRecord, Registry, RegistryError

log = logging.getLogger("pyhost.host")


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists and looks like a Python one (a pid reused by an
    unrelated program does not keep a crash record alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read(4096)
    except OSError:
        return True  # no /proc: trust the pid
    return b"python" in command or b"pyhost" in command


def crashed(record: PluginRecord) -> bool:
    """Whether ``record`` crashed a host: marked so, or "loading" by a process that is gone
    (not marked yet: no host has started since)."""
    if record.load_state == "crashed":
        return True
    return record.load_state == "loading" and record.load_pid != os.getpid() and \
        not (record.load_pid is not None and process_alive(record.load_pid))


def crashed_sentence(record: PluginRecord) -> str:
    what = "crashed its own process too often" if record.isolated else \
        "crashed a pyhost process while loading"
    return (f"{record.name} {what}, so it is skipped: "
            f"`pyhost enable {record.guid}` tries it again, `pyhost remove {record.guid}` "
            "removes it.")


class LoadRecorder:
    """The registry side of the "loading" records of one host."""

    def __init__(self, registry: Registry):
        self._registry = registry

    def skip_reason(self, record: PluginRecord) -> str | None:
        """Why ``record`` must not be loaded (it crashed a host), or None to load it."""
        if record.load_state == "crashed":
            return crashed_sentence(record)
        if record.load_state != "loading":
            return None
        pid = record.load_pid
        if pid == os.getpid():  # this very process, before: it did not die there
            self.done(record.guid)
            return None
        if pid is not None and process_alive(pid):
            return None  # another host is loading it right now
        try:
            self._registry.mark_crashed(record.guid, pid)
        except RegistryError as exc:
            log.debug("cannot record that %s crashed: %s", record.name, exc)
        return crashed_sentence(record)

    def start(self, guid: str) -> bool:
        """Records that this process enters a load state of ``guid`` (False when there is
        no row yet, e.g. during ON_INSTALL, or the registry cannot be written)."""
        try:
            return self._registry.mark_loading(guid, os.getpid())
        except RegistryError as exc:
            log.debug("cannot record the load of %s: %s", guid, exc)
            return False

    def done(self, guid: str) -> None:
        try:
            self._registry.mark_loaded(guid)
        except RegistryError as exc:
            log.debug("cannot record the end of the load of %s: %s", guid, exc)
