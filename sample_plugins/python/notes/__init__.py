"""notes -- a Python plugin with exported methods, events and a UI part of its own.

Clients (the web page, scripts through pyhost.client, ``pyhost call``) call:

  notes.add(text)        -> the new note {id, text}; emits "note_added" (level NORMAL)
  notes.list()           -> every note, oldest first                    (level READONLY)
  notes.clear()          -> how many were deleted; emits "cleared"       (level ADMIN)
  notes.stats()          -> {count, max_notes, greeting}                 (level NONE)

Notes live in memory while the plugin is loaded; the settings "max_notes" (oldest dropped
beyond it), "greeting" (the UI shows it) and "upper" (store notes in capitals) are declared,
so the web page shows them as a form. The directory ui/ is the plugin's own page, shown by
the web page in a sandboxed frame; it calls these methods through /web/plugin-frame.js.
"""
import itertools
import threading

from pyhost.plugin import ADMIN, NONE, READONLY, Plugin, RpcError, export

plugin = Plugin(
    guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}",
    name="Notes",
    version=1.0,
    author="pyhost developers",
    description="Notes kept by the host, added and read by remote user interfaces",
    website="https://example.invalid/pyhost",
    settings={"max_notes": 100, "greeting": "Hello from the notes plugin", "upper": False},
)

_lock = threading.Lock()  # exported methods run on worker threads, several at once
_notes: list[dict] = []
_ids = itertools.count(1)


@export
def add(text):
    """Adds a note: [text]."""
    if not isinstance(text, str) or not text.strip():
        raise RpcError("a note is a non-empty string")
    if plugin.settings["upper"]:
        text = text.upper()
    limit = max(1, plugin.settings["max_notes"])
    with _lock:
        note = {"id": next(_ids), "text": text[:1000]}
        _notes.append(note)
        del _notes[:-limit]
    plugin.emit("note_added", note)
    return note


@export(name="list", level=READONLY)
def list_notes():
    """Every note, oldest first."""
    with _lock:
        return list(_notes)


@export(level=ADMIN)
def clear():
    """Deletes every note; returns how many there were."""
    with _lock:
        count = len(_notes)
        _notes.clear()
    plugin.emit("cleared", {"count": count})
    return count


@export(level=NONE)
def stats():
    """How many notes, and the settings the UI shows."""
    with _lock:
        count = len(_notes)
    return {"count": count, "max_notes": plugin.settings["max_notes"],
            "greeting": plugin.settings["greeting"]}

