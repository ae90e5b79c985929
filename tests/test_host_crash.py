"""SIGKILL at random points of host-level install / update / remove / settings writes.

A child process loops through the real Host operations on one home: install the dev plugin
(ON_INSTALL writes settings), fire chat so the plugin writes settings, update it to version
2, fire again, remove it. The parent kills it at a random moment, then checks the registry
is consistent and that a new host starts cleanly from it. A kill inside the plugin's load
state (the registry says "loading" by the dead child) is what a plugin crashing the process
looks like: the new host skips it as crashed, and enabling it loads it again.
"""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pyhost.host.events import Category
from pyhost.host.host import Host
from pyhost.host.registry import Registry

ROUNDS = int(os.environ.get("PYHOST_HOST_CRASH_ROUNDS", "50"))
DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"

CHILD = textwrap.dedent("""
    import sys
    from pyhost.abi._ffi import ffi
    from pyhost.host.host import Host
    from pyhost.abi.paths import sample_plugin

    home = sys.argv[1]
    v1, v2 = sample_plugin("dev_plugin"), sample_plugin("dev_plugin_v2")
    print("ready", flush=True)
    while True:
        with Host(home, timers=False) as host:
            chat = host.hooks["dcpp.chat.onIncomingChat"]
            if not host.plugins():
                host.install(v1)
            for _ in range(5):
                chat.run(None, ffi.new("char[]", b"hello"))
            if host.plugin("%s").version < 2:
                host.install(v2)
            chat.run(None, ffi.new("char[]", b"hello"))
            host.remove("%s", keep_settings=True)
""" % (DEV, DEV))


@pytest.mark.parametrize("seed", [random.randrange(2**32)])
def test_sigkill_during_host_operations_leaves_a_consistent_registry(tmp_path, seed):
    rng = random.Random(seed)
    home = tmp_path / "home"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    outcomes = {"installed": 0, "empty": 0, "died_loading": 0}
    for round_no in range(ROUNDS):
        child = subprocess.Popen([sys.executable, str(script), str(home)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()

        with Registry(home / "registry.sqlite3") as registry:
            problems = registry.check_integrity()
            assert problems == [], f"seed {seed} round {round_no}: {problems}"
            records = registry.plugins()
            for record in records:
                assert record.guid == DEV and record.version in (1.0, 2.0)
                assert os.path.isfile(record.path)
                assert record.load_state in (None, "loading")
            died_loading = any(r.load_state == "loading" for r in records)
            settings = registry.settings(DEV)
        outcomes["installed" if records else "empty"] += 1
        if settings:
            assert settings["loads"][0] == "int64" and settings["loads"][1] >= 1
        if died_loading:
            outcomes["died_loading"] += 1
            with Host(home, timers=False) as host:
                (failed,) = host.events.poll(Category.ERROR)
                assert "crashed a pyhost process" in failed.reason
                assert host.loaded() == [] and host.plugin(DEV).crashed
                host.enable(DEV)
        # A host starts from whatever state was left, and the plugin (if any) loads.
        with Host(home, timers=False) as host:
            assert host.loaded() == [r.guid for r in records if r.enabled]
            assert host.events.poll(Category.ERROR) == []
    print(f"\nhost crash test: seed {seed}, {outcomes}")
    assert outcomes["installed"] + outcomes["empty"] == ROUNDS
