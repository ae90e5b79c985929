"""``pyhost run``: load the enabled plugins and run them, with timers, a replay, or both.

    pyhost run                          # until Ctrl-C, timers firing every second
    pyhost run --seconds 10             # 10 seconds
    pyhost run --replay events.jsonl    # feed the events, print one JSON line each, stop
    pyhost run --replay e.jsonl --seconds 5   # replay, then 5 seconds of timers

The application behind DCHub, DCQueue, ... is the simulated world (pyhost.world). During a
replay no real-time timer runs (timer hooks come from the file, so the output is
reproducible); timers run only for the live part. The end (``--seconds`` elapsed, the end
of the replay, Ctrl-C or SIGTERM) is always clean: ON_UNLOAD for each plugin in reverse
load order.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from pyhost.cli.errors import CommandError
from pyhost.host.events import Category
from pyhost.testbench.replay import EXAMPLES


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "run", parents=[common], help="run the enabled plugins (timers, replayed events)",
        description="Load the enabled plugins and run them: timers fire every second until "
                    "Ctrl-C or --seconds; --replay feeds events from a JSON Lines file and "
                    "prints one JSON line per event with what the plugins did (the plugin "
                    "test bench; the schema is in docs/testbench.md). Plugins are unloaded "
                    "cleanly at the end (ON_UNLOAD, reverse load order).")
    p.add_argument("--seconds", type=float, metavar="N",
                   help="stop after N seconds of running (after the replay, if any)")
    p.add_argument("--replay", metavar="FILE.jsonl",
                   help="events to fire, one JSON object per line ('-' reads stdin, "
                        "example:NAME a file shipped with pyhost, e.g. example:chat)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output: effects and host events as JSON lines, "
                        "and a final summary line")
    p.add_argument("--listen", metavar="[HOST:]PORT",
                   help="serve the Web API (AirDC++'s, REST and WebSocket) on this address "
                        "while running (host default 127.0.0.1; docs/web-api.md)")
    p.add_argument("--tls-cert", metavar="FILE", help="TLS certificate for --listen")
    p.add_argument("--tls-key", metavar="FILE", help="TLS private key for --listen")
    p.add_argument("--insecure-http", action="store_true",
                   help="allow --listen on a non-loopback address without TLS")
    p.set_defaults(handler=cmd_run)


def _out(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _describe(effect) -> str:
    args = ", ".join(f"{k}={_short(v)}" for k, v in effect.args.items())
    text = f"{effect.interface}.{effect.function}({args})"
    if effect.error is not None:
        return f"{text} failed: {effect.error}"
    if effect.result is not None:
        return f"{text} -> {_short(effect.result)}"
    return text


def _short(value) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return _short(next(iter(value.values())))
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends the run as cleanly as Ctrl-C does."""
    def on_term(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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


def cmd_run(args) -> int:
    from pyhost.cli.common import open_host
    from pyhost.testbench.replay import ReplayError, replay

    if args.seconds is not None and not 0 <= args.seconds < 10**9:
        raise CommandError(f"--seconds must be a non-negative number, not {args.seconds:g}.")
    _check_listen(args)
    source = None
    if args.replay is not None:
        if args.replay == "-":
            source = sys.stdin
        else:
            try:
                source = open(_replay_path(args.replay), encoding="utf-8", errors="replace")
            except OSError as exc:
                raise CommandError(f"Cannot read {args.replay}: "
                                   f"{exc.strerror or exc}.") from None

    host = None
    server = None
    unsubscribe = []
    started = time.monotonic()
    summary = None
    interrupted = False
    try:
        with _sigterm_as_interrupt():
            try:
                host = open_host(args, start=True)
                server = _start_server(host, args)
                if args.json:
                    unsubscribe.append(host.events.subscribe(
                        lambda e: _out({"host_event": e.to_dict()}),
                        Category.PLUGIN | Category.ERROR))
                if source is not None:
                    try:
                        summary = replay(host, source, _out)
                    except ReplayError as exc:
                        raise CommandError(str(exc)) from None
                if source is None or args.seconds is not None:
                    _live(host, args, unsubscribe)
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
    if args.json:
        record = {"seconds": round(elapsed, 3), "interrupted": interrupted}
        if summary is not None:
            record.update(events=summary.events, errors=summary.errors,
                          error_lines=summary.error_lines)
        _out({"summary": record})
    elif interrupted:
        print(f"pyhost: stopped after {elapsed:.1f}s", file=sys.stderr)
    if summary is not None and summary.errors:
        lines = ", ".join(map(str, summary.error_lines[:10]))
        more = "" if len(summary.error_lines) <= 10 else ", ..."
        print(f"pyhost: {summary.errors} malformed line(s) skipped (line {lines}{more}).",
              file=sys.stderr)
        return 2
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
    print(f"pyhost: Web API on {server.url}", file=sys.stderr, flush=True)
    return server


def _live(host, args, unsubscribe) -> None:
    """Timers until --seconds or Ctrl-C, showing what plugins do."""
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
        threading.Event().wait(args.seconds)  # None: forever, until Ctrl-C
    finally:
        timer.stop()
