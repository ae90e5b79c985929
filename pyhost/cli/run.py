"""``pyhost run``: load the enabled plugins and run them, with timers, a replay, or both.

    pyhost run                          # until Ctrl-C, timers firing every second
    pyhost run --seconds 10             # 10 seconds
    pyhost run --replay events.jsonl    # feed the events, print one JSON line each, stop
    pyhost run --replay e.jsonl --seconds 5   # replay, then 5 seconds of timers

The application behind DCHub, DCQueue, ... is the simulated world (pyhost.world). During a
replay no real-time timer runs (timer hooks come from the file, so the output is
reproducible); timers run only for the live part. The end (``--seconds`` elapsed, the end
of the replay, Ctrl-C or SIGTERM) is always clean: ON_UNLOAD for each plugin in reverse
load order; a plugin that does not return from a hook or from ON_UNLOAD cannot hold the
process (see pyhost.cli.stopping). Host events are followed from before the start, so a
plugin that fails to load is shown (--json) and counted among the errors of the summary.
"""
from __future__ import annotations

import io
import os
import stat
import sys
import time
from pathlib import Path

from pyhost.cli import extensions, stopping
from pyhost.cli.errors import CommandError
from pyhost.cli.common import escape_controls, path_argument
from pyhost.host.events import Category
from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.testbench.replay import EXAMPLES, bounded_lines, dumps


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "run", parents=[common], help="run the enabled plugins (timers, replayed events)",
        description="Load the enabled plugins and run them: timers fire every second until "
                    "Ctrl-C or --seconds; --replay feeds events from a JSON Lines file and "
                    "prints one line per event with what the plugins did (JSON with --json; "
                    "the plugin test bench, the schema is in docs/testbench.md). Plugins are "
                    "unloaded cleanly at the end (ON_UNLOAD, reverse load order); a second "
                    "Ctrl-C, or 5 s without progress, ends the process at once.")
    p.add_argument("--seconds", type=float, metavar="N",
                   help="stop after N seconds of running (after the replay, if any)")
    p.add_argument("--replay", metavar="FILE.jsonl", type=path_argument,
                   help="events to fire, one JSON object per line ('-' reads stdin, "
                        "example:NAME a file shipped with pyhost, e.g. example:chat)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output: one JSON line per replayed event, effects "
                        "and host events as JSON lines, and a final summary line (without "
                        "it, one readable line per event)")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 when a plugin raised an exception or failed to "
                        "load")
    p.add_argument("--listen", metavar="[HOST:]PORT",
                   help="serve the Web API (AirDC++'s, REST and WebSocket) on this address "
                        "while running (host default 127.0.0.1; docs/web-api.md)")
    p.add_argument("--tls-cert", metavar="FILE", type=path_argument,
                   help="TLS certificate for --listen")
    p.add_argument("--tls-key", metavar="FILE", type=path_argument,
                   help="TLS private key for --listen")
    p.add_argument("--insecure-http", action="store_true",
                   help="allow --listen on a non-loopback address without TLS")
    extensions.add_run_options(p)
    p.add_argument("--in-process", action="store_true",
                   help="load every plugin in the host's process, isolated ones too (to "
                        "reproduce a crash under a debugger from its replay file)")
    p.set_defaults(handler=cmd_run)


def _out(record: dict) -> None:
    sys.stdout.write(dumps(record) + "\n")  # always valid JSON (no NaN / Infinity)
    sys.stdout.flush()


def _describe(effect) -> str:
    return escape_controls(_describe_dict(effect.to_dict()))


def _short(value) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return _short(next(iter(value.values())))
    if isinstance(value, str):
        return repr(value)
    return dumps(value)


def _readable(record: dict) -> str:
    """One replay output record as a line for people (``run --replay`` without --json)."""
    if "error" in record:
        return f"line {record['line']}: skipped: {record['error'].split(': ', 1)[-1]}"
    if record.get("startup"):
        head = "start-up"
    else:
        what = record.get("hook") or f"{record.get('action')}"
        head = f"event {record['event']} (line {record['line']}) {what}"
        if "handled" in record:
            head += ": handled" if record["handled"] else ": not handled"
        if record.get("replacement") is not None:
            head += f", shown as {record['replacement']!r}"
        if record.get("tags") is not None:
            head += f", tags {dumps(record['tags'])}"
    parts = [head] + [_describe_dict(e) for e in record.get("effects", ())]
    default = record.get("default")
    if isinstance(default, dict) and default.get("action"):
        # what the application itself did with the event (or left undone: it was handled)
        parts.append(f"the application {'did' if default.get('done') else 'skipped'} "
                     f"{default['action']}")
    parts += [f"{e.get('plugin') or 'a plugin'} raised {e['error']}"
              + (f" in {e['hook']}" if e.get("hook") else "") for e in record.get("errors", ())]
    parts += [f"warning: {w}" for w in record.get("warnings", ())]
    return escape_controls("; ".join(parts))


def _describe_dict(effect: dict) -> str:
    """An effect in words: ``DCHub.send_message(hub='adc://h', message='pong')``."""
    args = ", ".join(f"{k}={_short(v)}" for k, v in effect.get("args", {}).items())
    text = f"{effect['interface']}.{effect['function']}({args})"
    if effect.get("error") is not None:
        return f"{text} failed: {effect['error']}"
    if effect.get("result") is not None:
        return f"{text} -> {_short(effect['result'])}"
    return text


def _replay_path(value: str) -> Path:
    """A file, or ``example:NAME`` for one of the JSONL files shipped with pyhost."""
    if not value.startswith("example:"):
        return Path(value)
    name = value.removeprefix("example:").removesuffix(".jsonl")
    path = EXAMPLES / f"{name}.jsonl"
    if not name or "/" in name or not path.is_file():
        known = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.jsonl"))) or "none"
        raise CommandError(f"There is no shipped example {name!r} (known: {known}).")
    return path


def _is_null_device(st: os.stat_result) -> bool:
    null = os.stat(os.devnull)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _open_replay(value: str):
    """The replay source: stdin for "-", else a regular file (a FIFO or a device is
    refused before it is opened for reading: it would block or never end)."""
    if value == "-":
        st = os.fstat(sys.stdin.fileno())
        if stat.S_ISCHR(st.st_mode) and not sys.stdin.isatty() and not _is_null_device(st):
            raise CommandError("The standard input is a device (not a terminal, a pipe or "
                               "a file); refusing to read events from it.")
        return sys.stdin
    path = _replay_path(value)
    try:
        if _is_null_device(os.stat(path)):
            return io.StringIO("")  # /dev/null: an empty replay
    except OSError:
        pass  # said below, by the open
    try:
        return open_regular(path, "replay file", binary=False)
    except FileTypeError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"Cannot read {value}: {exc.strerror or exc}.") from None


class _Tally:
    """Plugin failures and exceptions over the whole run (from before the start), and the
    replayed events so far (progress, for the stopper)."""

    def __init__(self):
        self.plugin_errors = 0
        self.events = 0

    def __call__(self, event) -> None:
        from pyhost.server.hook_bridge import ApiHookSkipped, ApiHookTimedOut
        if isinstance(event, (ApiHookTimedOut, ApiHookSkipped)):
            return  # an API client's doing, reported as it happens; no plugin failed
        self.plugin_errors += 1


def _isolation(args) -> dict:
    if not getattr(args, "in_process", False):
        return {}
    from pyhost.host.isolation import IsolationOptions
    return {"isolation": IsolationOptions(mode="none")}


def cmd_run(args) -> int:
    from pyhost.cli.common import open_host
    from pyhost.testbench.replay import ReplayError, replay

    if args.seconds is not None and not 0 <= args.seconds < 10**9:
        raise CommandError(f"--seconds must be a non-negative number, not {args.seconds:g}.")
    _check_listen(args)
    extensions.check_run_options(args)
    source = None if args.replay is None else _open_replay(args.replay)

    stopper = stopping.current
    if stopper is not None:
        stopper.interruptible = False  # the run polls stopper.requested between events
    should_stop = (lambda: False) if stopper is None else stopper.requested.is_set
    host = None
    server = None
    unsubscribe = []
    started = time.monotonic()
    summary = None
    tally = _Tally()
    interrupted = False
    try:
        try:
            host = open_host(args, **_isolation(args))
            # Subscribed before the start: plugin_loaded / plugin_failed of the start-up.
            unsubscribe.append(host.events.subscribe(tally, Category.ERROR))
            if args.json:
                unsubscribe.append(host.events.subscribe(
                    lambda e: _out({"host_event": e.to_dict()}),
                    Category.PLUGIN | Category.ERROR))
            host.start()
            server = _start_server(host, args)
            server = extensions.start_for_run(host, args, server)  # stopped by server.stop
            if stopper is not None:
                stopper.extra_progress = lambda: tally.events
            if source is not None and not should_stop():
                show = _out if args.json else (lambda r: print(_readable(r), flush=True))

                def out(record: dict) -> None:
                    tally.events += 1  # progress, for the stopper
                    show(record)
                try:
                    summary = replay(host, bounded_lines(source), out, should_stop)
                except ReplayError as exc:
                    raise CommandError(str(exc)) from None
            if (source is None or args.seconds is not None) and not should_stop():
                _live(host, args, unsubscribe, stopper)
            interrupted = should_stop()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                if server is not None:
                    server.stop()  # its hook subscribers go before the bus does
                if host is not None:
                    host.shutdown()  # ON_UNLOAD, reverse load order (still reported)
            finally:
                for stop in unsubscribe:
                    stop()
    finally:
        if source is not None and source is not sys.stdin:
            source.close()

    elapsed = time.monotonic() - started
    events = summary.events if summary is not None else 0
    error_lines = summary.error_lines if summary is not None else []
    errors = len(error_lines) + tally.plugin_errors
    if args.json:
        _out({"summary": {"seconds": round(elapsed, 3), "interrupted": interrupted,
                          "events": events, "errors": errors, "error_lines": error_lines,
                          "plugin_errors": tally.plugin_errors}})
    else:
        if interrupted:
            print(f"pyhost: stopped after {elapsed:.1f}s", file=sys.stderr)
        if source is not None or tally.plugin_errors:
            print(f"pyhost: {events} event(s), {errors} error(s): {len(error_lines)} "
                  f"malformed line(s), {tally.plugin_errors} plugin error(s).",
                  file=sys.stderr)
    if error_lines:
        lines = ", ".join(map(str, error_lines[:10]))
        more = "" if len(error_lines) <= 10 else ", ..."
        print(f"pyhost: {len(error_lines)} malformed line(s) skipped (line {lines}{more}).",
              file=sys.stderr)
        return 2
    if args.strict and tally.plugin_errors:
        print(f"pyhost: --strict: {tally.plugin_errors} plugin error(s) (a plugin raised or "
              "failed to load).", file=sys.stderr)
        return 1
    return 0


def _check_listen(args) -> None:
    """Refuses a bad --listen before anything starts."""
    if args.listen is None:
        if args.tls_cert or args.tls_key or args.insecure_http:
            raise CommandError("--tls-cert, --tls-key and --insecure-http go with --listen.")
        return
    from pyhost.server.listen import is_loopback, parse_listen
    try:
        address, _ = parse_listen(args.listen)
    except ValueError as exc:
        raise CommandError(f"--listen: {exc}") from None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CommandError("TLS needs both --tls-cert and --tls-key.")
    if not args.tls_cert and not args.insecure_http and not is_loopback(address):
        raise CommandError(f"Refusing to serve the Web API on {address} (not a loopback "
                           "address) without TLS: give --tls-cert and --tls-key, or "
                           "--insecure-http to send passwords and tokens in clear.")
    if args.tls_cert:
        from pyhost.server import ServerError
        from pyhost.server.listen import tls_context
        try:
            tls_context(args.tls_cert, args.tls_key)  # readable and matching, or refused now
        except ServerError as exc:
            raise CommandError(str(exc)) from None


def _start_server(host, args):
    if args.listen is None:
        return None
    from pyhost.server import ServerError, serve
    try:
        server = serve(host, args.listen, tls_cert=args.tls_cert, tls_key=args.tls_key,
                       insecure_http=args.insecure_http)
    except ServerError as exc:
        raise CommandError(str(exc)) from None
    page = server.url.removesuffix("api/v1/")
    print(f"pyhost: Web API on {server.url}, web page on {page}", file=sys.stderr, flush=True)
    return server


def _live(host, args, unsubscribe, stopper) -> None:
    """Timers until --seconds or Ctrl-C / SIGTERM, showing what plugins do."""
    from pyhost.host.timers import Timer

    if args.json:
        unsubscribe.append(host.effects.subscribe(lambda e: _out({"effect": e.to_dict()})))
    else:
        unsubscribe.append(host.effects.subscribe(lambda e: print(_describe(e), flush=True)))
        names = ", ".join(host.plugin(g).name for g in host.loaded()) or "no plugins"
        until = f"for {args.seconds:g}s" if args.seconds is not None else "until Ctrl-C"
        print(f"pyhost: running {names} {until}", file=sys.stderr)
    host.effects.drain()  # what was shown already (or belongs to the replay)
    timer = Timer(host.tick)
    timer.start()
    try:
        if stopper is None:
            time.sleep(args.seconds if args.seconds is not None else 10**9)
        else:
            stopper.requested.wait(args.seconds)  # None: forever, until a signal
    finally:
        timer.stop()
