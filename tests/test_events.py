"""The host event stream: typed events, categories, bounded queue, subscribers, threads."""
from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

import pytest

from pyhost.host.events import (
    Category,
    Event,
    EventsDropped,
    EventStream,
    PluginConfigured,
    PluginFailed,
    PluginInstalled,
    PluginLoaded,
    PluginLog,
    PluginRemoved,
    PluginUnloaded,
    PluginUpdated,
    SubscriberException,
)

# One valid field set per emittable event class.
SAMPLES = {
    PluginInstalled: dict(guid="{g}", name="n", version="1.0", path="/p/n.so"),
    PluginLoaded: dict(guid="{g}", name="n", version="1.0", state="ON_LOAD"),
    PluginFailed: dict(guid=None, name=None, path="/p/x.so", reason="x.so is not an ELF file."),
    PluginUnloaded: dict(guid="{g}", name="n", kept_mapped=True),
    PluginUpdated: dict(guid="{g}", name="n", old_version="1.0", new_version="1.1"),
    PluginRemoved: dict(guid="{g}", name="n", kept_settings=False),
    PluginConfigured: dict(guid="{g}", name="n", result=True),
    PluginLog: dict(guid="{g}", name="n", message="héllo"),
    SubscriberException: dict(
        hook="dcpp.timer.onSecond", subscriber="tick", plugin=None,
        error="ValueError: boom", traceback="Traceback ...\nValueError: boom\n",
    ),
}

KINDS = {
    PluginInstalled: "plugin_installed",
    PluginLoaded: "plugin_loaded",
    PluginFailed: "plugin_failed",
    PluginUnloaded: "plugin_unloaded",
    PluginUpdated: "plugin_updated",
    PluginRemoved: "plugin_removed",
    PluginConfigured: "plugin_configured",
    PluginLog: "plugin_log",
    SubscriberException: "subscriber_exception",
    EventsDropped: "events_dropped",
}


def log_msg(stream: EventStream, i: int):
    return stream.emit(PluginLog, guid="{g}", name="n", message=str(i))


# -- the events themselves --------------------------------------------------------------

@pytest.mark.parametrize("cls", list(SAMPLES))
def test_emit_builds_frozen_event_with_seq_time_kind(cls):
    stream = EventStream()
    before = time.time()
    ev = stream.emit(cls, **SAMPLES[cls])
    assert type(ev) is cls
    assert ev.seq == 1
    assert before <= ev.time <= time.time()
    assert ev.kind == KINDS[cls] == cls.kind
    for k, v in SAMPLES[cls].items():
        assert getattr(ev, k) == v
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.seq = 5  # type: ignore[misc]


def test_kinds_and_categories():
    assert EventsDropped.kind == "events_dropped"
    assert PluginFailed.category == Category.PLUGIN | Category.ERROR
    assert SubscriberException.category == Category.ERROR
    assert PluginLog.category == Category.LOG
    for cls in (PluginInstalled, PluginLoaded, PluginUnloaded, PluginUpdated,
                PluginRemoved, PluginConfigured):
        assert cls.category == Category.PLUGIN
    assert Category.ALL == Category.PLUGIN | Category.LOG | Category.ERROR | Category.HOOK


@pytest.mark.parametrize("cls", list(SAMPLES))
def test_to_dict_is_json(cls):
    ev = EventStream().emit(cls, **SAMPLES[cls])
    d = ev.to_dict()
    back = json.loads(json.dumps(d))
    assert back["kind"] == KINDS[cls]
    assert back["seq"] == 1 and isinstance(back["time"], float)
    assert back["category"] == [c.name for c in (Category.PLUGIN, Category.LOG,
                                                 Category.ERROR, Category.HOOK)
                                if c in cls.category]
    for k, v in SAMPLES[cls].items():
        assert back[k] == v


def test_to_dict_of_events_dropped_and_failed():
    stream = EventStream(maxlen=1)
    stream.emit(PluginFailed, **SAMPLES[PluginFailed])
    stream.emit(PluginFailed, **SAMPLES[PluginFailed])
    dropped, failed = stream.poll()
    d = json.loads(json.dumps(dropped.to_dict()))
    assert d["kind"] == "events_dropped" and d["count"] == 1
    assert d["category"] == ["PLUGIN", "LOG", "ERROR", "HOOK"]
    assert json.loads(json.dumps(failed.to_dict()))["category"] == ["PLUGIN", "ERROR"]


def test_emit_rejects_bad_calls():
    stream = EventStream()
    with pytest.raises(TypeError):
        stream.emit(PluginLog, guid="g", name="n", message="m", seq=3)
    with pytest.raises(TypeError):
        stream.emit(PluginLog, guid="g", name="n", message="m", time=1.0)
    with pytest.raises(TypeError):
        stream.emit(PluginLog, guid="g", name="n")  # missing field
    with pytest.raises(TypeError):
        stream.emit(PluginLog, guid="g", name="n", message="m", bogus=1)
    with pytest.raises(TypeError):
        stream.emit(EventsDropped, count=3)  # only the stream reports losses
    with pytest.raises(TypeError):
        stream.emit(Event)
    with pytest.raises(TypeError):
        stream.emit(dict, a=1)  # type: ignore[arg-type]
    # a failed emit consumes no seq and queues nothing
    assert len(stream) == 0
    assert log_msg(stream, 0).seq == 1


def test_bad_arguments():
    with pytest.raises(ValueError):
        EventStream(maxlen=0)
    with pytest.raises(ValueError):
        EventStream().poll(limit=-1)


# -- seq and poll -------------------------------------------------------------------------

def test_seq_monotonic_and_poll_order():
    stream = EventStream()
    emitted = [log_msg(stream, i) for i in range(50)]
    assert [e.seq for e in emitted] == list(range(1, 51))
    assert len(stream) == 50
    got = stream.poll()
    assert got == emitted
    assert stream.poll() == [] and len(stream) == 0
    assert log_msg(stream, 99).seq == 51  # seq keeps going after a poll


def test_poll_limit_keeps_the_rest_in_order():
    stream = EventStream()
    for i in range(10):
        log_msg(stream, i)
    assert stream.poll(limit=0) == []
    first = stream.poll(limit=3)
    assert [e.message for e in first] == ["0", "1", "2"]
    rest = stream.poll()
    assert [e.message for e in rest] == [str(i) for i in range(3, 10)]


def test_poll_by_category_leaves_others_queued():
    stream = EventStream()
    a = stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
    b = log_msg(stream, 1)
    c = stream.emit(PluginFailed, **SAMPLES[PluginFailed])
    d = stream.emit(SubscriberException, **SAMPLES[SubscriberException])
    e = log_msg(stream, 2)
    assert stream.poll(Category.LOG) == [b, e]
    # PluginFailed is PLUGIN|ERROR: an ERROR poller gets it
    assert stream.poll(Category.ERROR) == [c, d]
    assert stream.poll(Category.HOOK) == []
    assert stream.poll(Category.PLUGIN) == [a]
    assert len(stream) == 0


def test_poll_by_category_with_limit():
    stream = EventStream()
    for i in range(5):
        log_msg(stream, i)
        stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
    logs = stream.poll(Category.LOG, limit=2)
    assert [e.message for e in logs] == ["0", "1"]
    assert len(stream) == 8
    rest = stream.poll()
    assert [e.seq for e in rest] == sorted(e.seq for e in rest)


# -- category mask ------------------------------------------------------------------------

def test_category_mask_filters_at_emit():
    stream = EventStream(maxlen=2)
    seen = []
    stream.subscribe(seen.append)
    assert stream.categories == Category.ALL
    stream.set_categories(Category.PLUGIN)
    assert stream.categories == Category.PLUGIN
    assert not stream.wants(PluginLog) and stream.wants(PluginLoaded)
    assert stream.wants(PluginFailed)  # PLUGIN|ERROR intersects PLUGIN
    for i in range(10):
        assert log_msg(stream, i) is None  # not built, not queued, not counted
    assert seen == [] and len(stream) == 0
    ev = stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
    assert ev.seq == 1  # filtered events consume no seq
    assert stream.poll() == [ev]  # no EventsDropped: filtered events are not "dropped"
    assert seen == [ev]
    stream.set_categories(Category.ALL)
    assert log_msg(stream, 1) is not None


def test_mask_none_switches_everything_off():
    stream = EventStream()
    stream.set_categories(Category(0))
    for cls, fields in SAMPLES.items():
        assert stream.emit(cls, **fields) is None
    assert stream.poll() == []


# -- overflow ----------------------------------------------------------------------------

def test_overflow_reports_exact_count_once():
    stream = EventStream(maxlen=5)
    for i in range(12):
        log_msg(stream, i)
    assert len(stream) == 5
    got = stream.poll()
    assert isinstance(got[0], EventsDropped)
    assert got[0].count == 7
    assert got[0].seq == 13  # taken when reported
    # the newest events survive, in order
    assert [e.message for e in got[1:]] == ["7", "8", "9", "10", "11"]
    # reported exactly once
    log_msg(stream, 12)
    again = stream.poll()
    assert [type(e) for e in again] == [PluginLog]
    assert stream.poll() == []


def test_overflow_count_resets_and_accumulates_again():
    stream = EventStream(maxlen=3)
    for i in range(4):
        log_msg(stream, i)
    assert stream.poll()[0].count == 1
    for i in range(3 + 5):
        log_msg(stream, i)
    got = stream.poll()
    assert got[0].count == 5 and len(got) == 4


def test_overflow_report_reaches_category_and_limited_pollers_and_subscribers():
    stream = EventStream(maxlen=2)
    seen = []
    stream.subscribe(seen.append, Category.HOOK)  # EventsDropped is in every category
    for _ in range(4):
        stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
    got = stream.poll(Category.LOG, limit=1)
    assert [type(e) for e in got] == [EventsDropped]
    assert got[0].count == 2
    assert seen == got
    assert len(stream) == 2  # the PLUGIN events are still queued
    assert all(type(e) is PluginLoaded for e in stream.poll())
    assert len(seen) == 1


def test_limit_zero_does_not_consume_the_report():
    stream = EventStream(maxlen=1)
    log_msg(stream, 0)
    log_msg(stream, 1)
    assert stream.poll(limit=0) == []
    assert stream.poll()[0].count == 1


def test_subscribers_see_every_event_despite_overflow():
    stream = EventStream(maxlen=3)
    seen = []
    stream.subscribe(seen.append)
    for i in range(100):
        log_msg(stream, i)
    assert [e.seq for e in seen] == list(range(1, 101))
    got = stream.poll()
    assert got[0].count == 97
    assert seen[-1] is got[0]


# -- subscribers ---------------------------------------------------------------------------

def test_subscribe_filters_and_unsubscribes():
    stream = EventStream()
    logs, errors, everything = [], [], []
    unsub_logs = stream.subscribe(logs.append, Category.LOG)
    stream.subscribe(errors.append, Category.ERROR)
    stream.subscribe(everything.append)
    a = log_msg(stream, 0)
    b = stream.emit(PluginFailed, **SAMPLES[PluginFailed])
    c = stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
    assert logs == [a] and errors == [b] and everything == [a, b, c]
    unsub_logs()
    unsub_logs()  # harmless twice
    log_msg(stream, 1)
    assert logs == [a] and len(everything) == 4
    # subscribing does not consume the queue
    assert len(stream.poll()) == 4


def test_same_callback_subscribed_twice_unsubscribes_separately():
    stream = EventStream()
    seen = []
    u1 = stream.subscribe(seen.append)
    stream.subscribe(seen.append)
    log_msg(stream, 0)
    assert len(seen) == 2
    u1()
    log_msg(stream, 1)
    assert len(seen) == 3


def test_subscriber_exception_is_isolated(caplog):
    stream = EventStream()
    before, after = [], []

    def bad(event):
        raise RuntimeError("subscriber bug")

    stream.subscribe(before.append)
    stream.subscribe(bad)
    stream.subscribe(after.append)
    with caplog.at_level(logging.ERROR, logger="pyhost.events"):
        ev = log_msg(stream, 0)
    assert ev is not None
    assert before == [ev] and after == [ev]
    assert stream.poll() == [ev]
    recs = [r for r in caplog.records if r.name == "pyhost.events"]
    assert len(recs) == 1 and "subscriber bug" in recs[0].exc_text
    assert "plugin_log" in recs[0].getMessage()


def test_reentrant_emit_from_callback():
    stream = EventStream()
    seen = []

    def on_failed(event):
        # a subscriber reacting to a failure by emitting another event, on the same thread
        stream.emit(PluginLog, guid="h", name="host", message=f"saw {event.reason}")

    stream.subscribe(on_failed, Category.ERROR)
    stream.subscribe(seen.append)
    done = threading.Event()

    def run():
        stream.emit(PluginFailed, **SAMPLES[PluginFailed])
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert done.wait(5), "emit from a subscriber deadlocked"
    kinds = [e.kind for e in stream.poll()]
    assert kinds == ["plugin_failed", "plugin_log"]
    assert {e.kind for e in seen} == {"plugin_failed", "plugin_log"}


def test_callback_may_poll_subscribe_and_unsubscribe():
    stream = EventStream(maxlen=1)
    polled = []
    holder = {}

    def cb(event):
        if event.kind == "plugin_log":
            polled.extend(stream.poll())  # may deliver EventsDropped re-entrantly
            holder["unsub"]()
            stream.subscribe(lambda e: None)

    holder["unsub"] = stream.subscribe(cb)
    done = threading.Event()

    def run():
        stream.emit(PluginLoaded, **SAMPLES[PluginLoaded])
        log_msg(stream, 0)  # overflows, then cb polls
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(5), "poll/subscribe from a subscriber deadlocked"
    assert [e.kind for e in polled] == ["events_dropped", "plugin_log"]


# -- threads ------------------------------------------------------------------------------

def test_many_threads_emitting():
    threads, per_thread = 8, 2000
    stream = EventStream(maxlen=threads * per_thread)
    seen = []
    seen_lock = threading.Lock()

    def record(event):
        with seen_lock:
            seen.append(event.seq)

    stream.subscribe(record)
    start = threading.Barrier(threads)

    def worker(t):
        start.wait()
        for i in range(per_thread):
            stream.emit(PluginLog, guid=str(t), name=f"t{t}", message=str(i))

    ts = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
        assert not t.is_alive(), "emitting thread deadlocked"
    got = stream.poll()
    total = threads * per_thread
    assert len(got) == total
    assert [e.seq for e in got] == list(range(1, total + 1))  # unique, in order
    assert sorted(seen) == list(range(1, total + 1))
    # per thread, messages arrive in the order that thread emitted them
    for t in range(threads):
        assert [int(e.message) for e in got if e.guid == str(t)] == list(range(per_thread))


def test_threads_with_overflow_and_concurrent_poller():
    threads, per_thread, maxlen = 6, 3000, 100
    stream = EventStream(maxlen=maxlen)
    collected = []
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            collected.extend(stream.poll(limit=37))
        collected.extend(stream.poll())

    def worker(t):
        for i in range(per_thread):
            stream.emit(PluginLog, guid=str(t), name="n", message=str(i))

    p = threading.Thread(target=poller, daemon=True)
    p.start()
    ws = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join(30)
        assert not w.is_alive()
    stop.set()
    p.join(30)
    assert not p.is_alive()
    collected.extend(stream.poll())

    logs = [e for e in collected if isinstance(e, PluginLog)]
    dropped = sum(e.count for e in collected if isinstance(e, EventsDropped))
    # nothing silently lost: every event was either delivered or counted as dropped
    assert len(logs) + dropped == threads * per_thread
    seqs = [e.seq for e in collected]
    assert len(set(seqs)) == len(seqs)
    log_seqs = [e.seq for e in logs]
    assert log_seqs == sorted(log_seqs)
