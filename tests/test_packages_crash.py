"""SIGKILL at random points of package install / update / remove (and host restarts).

A child process loops over random package operations on one home, journaling each before
it starts ("op" line) and after it ends ("done"); the parent kills it with SIGKILL at a
random moment, then checks, before any host touches the home again:

- Registry.check_integrity() is clean, and every registry row's library and Files exist;
- the installed version is the journal's: every "done" operation applied, the one in flight
  either entirely applied or not at all;

and then, after a new Host has started on the home (which runs package recovery):

- no staging leftovers and no version directory but the one the registry points into;
- the plugin loads, and the code that runs is the registry's version; or, when the kill
  landed inside the plugin's load state (the registry says "loading" by the dead child),
  the new host treats it as a plugin that crashed a host: skipped, reported as crashed,
  and loaded again once enabled (a kill there cannot be told from a segfault there).

Kills land inside the steps of an operation because pyhost.packages calls ``pyhost.host.plugin_files.checkpoint``
between its steps: the child journals each step it reaches (so the test reports where the
kills landed) and pauses there for up to 4 ms (half of the time in odd rounds, a tenth of
the time in even ones).

Children are forked from a small server process that has imported pyhost (and built the
XML schema) once, so a round costs milliseconds to start instead of an interpreter start.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dcext_fixtures import PKG_GUID, builds, package_bytes  # noqa: F401
from pyhost.host.events import Category
from pyhost.host.host import Host
from pyhost.host.registry import Registry

ROUNDS = int(os.environ.get("PYHOST_PACKAGE_CRASH_ROUNDS", "80"))
VERSIONS = ("1.0", "2.0", "3.0")

SERVER = r'''
import json, logging, os, random, sys, time, traceback

from pyhost.packages import dcext
from pyhost.packages import manifest
from pyhost import packages
from pyhost.host import plugin_files
from pyhost.host.host import Host

GUID = sys.argv[1]
manifest.schema()  # built once here, inherited by every child
logging.disable(logging.CRITICAL)


def plan(rng, state, versions):
    if state is None:
        return {"kind": "install", "version": rng.choice(versions[:2])}
    r = rng.random()
    higher = [v for v in versions if float(v) > state]
    if r < 0.45 and higher:
        return {"kind": "update", "version": rng.choice(higher)}
    if r < 0.75:
        return {"kind": "remove", "keep": rng.random() < 0.5}
    if r < 0.87:
        return {"kind": "refused", "version": rng.choice([v for v in versions
                                                           if float(v) <= state])}
    return {"kind": "restart"}


def installed(host):
    rows = host.plugins()
    return rows[0].version if rows else None


def child(args, ready):
    try:
        rng = random.Random(args["seed"])
        stall_rng = random.Random(args["seed"] + 1)
        journal = open(args["journal"], "w")

        def checkpoint(step):  # journal the step reached, then maybe pause
            journal.write("step " + step + "\n")
            journal.flush()
            if stall_rng.random() < args["stall"]:
                time.sleep(stall_rng.uniform(0, 0.004))
        plugin_files.checkpoint = checkpoint
        host = Host(args["home"], timers=False)
        host.start()
        os.write(ready, b"r")
        os.close(ready)
        with journal:
            while True:
                op = plan(rng, installed(host), args["versions"])
                journal.write(json.dumps(op) + "\n")
                journal.flush()
                kind = op["kind"]
                if kind in ("install", "update"):
                    result = packages.install(host, args["packages"][op["version"]])
                    assert result.action == ("installed" if kind == "install" else "updated")
                elif kind == "refused":
                    try:
                        packages.install(host, args["packages"][op["version"]])
                    except packages.PackageError:
                        pass
                    else:
                        raise AssertionError("a same or lower version was installed")
                elif kind == "remove":
                    packages.remove(host, GUID, keep_settings=op["keep"])
                else:
                    host.shutdown()
                    host = Host(args["home"], timers=False)
                    host.start()
                journal.write("done\n")
                journal.flush()
    except BaseException:
        with open(args["journal"] + ".err", "w") as err:
            traceback.print_exc(file=err)
    finally:
        os._exit(3)


for line in sys.stdin:
    request = json.loads(line)
    if request["cmd"] == "spawn":
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            child(request, w)
        os.close(w)
        ready = os.read(r, 1) == b"r"
        os.close(r)
        reply = {"pid": pid, "ready": ready}
    else:
        _, status = os.waitpid(request["pid"], 0)
        reply = {"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                 "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
'''


class Server:
    def __init__(self, tmp_path: Path):
        script = tmp_path / "crash_server.py"
        script.write_text(SERVER)
        self.proc = subprocess.Popen([sys.executable, str(script), PKG_GUID], cwd=tmp_path,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the crash server died (status {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def read_journal(path: Path):
    """(operations marked done, the operation in flight or None). The operation in flight
    carries "step": the last checkpoint it reached before the kill ("start" if none)."""
    if not path.exists():
        return [], None
    lines = path.read_text().split("\n")
    lines.pop()  # after the last newline: nothing, or a line cut short (that op never began)
    done, in_flight = [], None
    for line in lines:
        if line.startswith("step "):
            if in_flight is not None:
                in_flight["step"] = line[5:]
        elif line == "done":
            done.append(in_flight)
            in_flight = None
        else:
            assert in_flight is None, f"two operations without 'done' in {path}"
            in_flight = dict(json.loads(line), step="start")
    return done, in_flight


def apply(state, op):
    if op["kind"] in ("install", "update"):
        return float(op["version"])
    if op["kind"] == "remove":
        return None
    return state


def check_home(home: Path, where: str):
    """The checks before any host touches the home; returns the installed version and
    whether a host process died inside its load state."""
    with Registry(home / "registry.sqlite3") as registry:
        problems = registry.check_integrity()
        assert problems == [], f"{where}: {problems}"
        rows = registry.plugins()
    for row in rows:
        assert row.guid == PKG_GUID, where
        library = Path(row.path)
        assert library.is_file(), f"{where}: the registry points at missing {library}"
        assert (library.parent / "data" / "hello.txt").is_file(), f"{where}: Files missing"
        assert row.load_state in (None, "loading"), where
    if not rows:
        return None, False
    return rows[0].version, rows[0].load_state == "loading"


def check_after_start(home: Path, version, where: str, died_loading: bool = False):
    root = home / "local" / "Plugins"
    if died_loading:
        with Host(home, timers=False) as host:
            (failed,) = host.events.poll(Category.ERROR)
            assert "crashed a pyhost process while loading" in failed.reason, where
            assert host.loaded() == [] and host.plugin(PKG_GUID).crashed, where
            host.enable(PKG_GUID)  # the user's "try it again"
    with Host(home, timers=False) as host:
        rows = host.plugins()
        assert host.events.poll(Category.ERROR) == [], where
        if version is None:
            assert rows == [] and host.loaded() == [], where
        else:
            assert host.loaded() == [PKG_GUID], where
            loaded = host.registry.get_setting(PKG_GUID, "loaded_version")
            assert loaded == ("string", f"{version:.1f}"), f"{where}: {loaded}"
    # recovery ran: nothing but the installed version directory is left
    left = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*")) \
        if root.exists() else []
    hidden = sorted(p.name for p in root.iterdir() if p.name.startswith(".")) \
        if root.exists() else []
    assert hidden == [], f"{where}: leftovers {hidden}"
    expected = [] if version is None else [
        Path(rows[0].path).parent.relative_to(root.resolve()).as_posix()]
    assert left == expected, f"{where}: {left} != {expected}"


def test_sigkill_during_package_operations_never_leaves_an_inconsistent_home(tmp_path,
                                                                            builds):
    seed = int(os.environ.get("PYHOST_CRASH_SEED", random.randrange(2**31)))
    rng = random.Random(seed)
    pkgs = {}
    for v in VERSIONS:
        path = tmp_path / f"pkg-{v}.dcext"
        path.write_bytes(package_bytes(builds.pkg_plugin(v), version=v))
        pkgs[v] = str(path)
    home = tmp_path / "home"
    server = Server(tmp_path)
    stats = {"rounds": 0, "done_ops": 0, "applied": 0, "not_applied": 0, "idle": 0,
             "died_loading": 0}
    killed_in: dict[str, int] = {}
    state = None
    started = time.monotonic()
    try:
        for n in range(ROUNDS):
            journal = tmp_path / f"journal-{n}.jsonl"
            where = f"round {n} (seed {seed}, journal {journal})"
            spawned = server.ask(cmd="spawn", home=str(home), journal=str(journal),
                                 seed=seed + n, stall=0.5 if n % 2 else 0.1,
                                 packages=pkgs, versions=list(VERSIONS))
            err = Path(str(journal) + ".err")
            assert spawned["ready"], f"{where}: the child did not start: " \
                f"{err.read_text() if err.exists() else ''}"
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(spawned["pid"], signal.SIGKILL)
            reaped = server.ask(cmd="reap", pid=spawned["pid"])
            assert reaped["signal"] == signal.SIGKILL, \
                f"{where}: the child died by itself: {err.read_text() if err.exists() else ''}"

            done, in_flight = read_journal(journal)
            for op in done:
                state = apply(state, op)
            stats["done_ops"] += len(done)
            actual, died_loading = check_home(home, where)
            stats["died_loading"] += died_loading
            if in_flight is None:
                stats["idle"] += 1
                assert actual == state, f"{where}: registry {actual}, journal {state}"
            else:
                point = f"{in_flight['kind']}@{in_flight['step']}"
                killed_in[point] = killed_in.get(point, 0) + 1
                after = apply(state, in_flight)
                assert actual in (state, after), \
                    f"{where}: {in_flight} is neither applied nor absent ({actual})"
                stats["applied" if actual == after != state else "not_applied"] += 1
                state = actual
            check_after_start(home, state, where, died_loading)
            stats["rounds"] += 1
    finally:
        server.close()
    elapsed = time.monotonic() - started
    print(f"\npackage crash test: seed {seed}, {elapsed:.1f} s, {stats}, "
          f"killed at: {dict(sorted(killed_in.items()))}")
    assert stats["rounds"] == ROUNDS >= 50
    assert stats["done_ops"] > ROUNDS  # kills landed among operations, not only at start
    # every kind of operation was interrupted, at many different steps
    kinds = {point.split("@")[0] for point in killed_in}
    assert {"install", "update", "remove"} <= kinds, killed_in
    assert len(killed_in) >= 10, killed_in
