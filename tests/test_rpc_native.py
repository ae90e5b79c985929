"""The compiled rpc_demo sample built with AddressSanitizer and UBSan, in a real pyhost
process: concurrent calls, results the host copies and hands back to the plugin's release,
failures with a literal (release NULL), events from hooks and from methods, unloading with a
call in flight (the library stays mapped under it) and shutdown."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_app_data_asan import REPORT_MARKERS, _libasan

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

DRIVER = textwrap.dedent("""
    import sys, time
    from concurrent.futures import ThreadPoolExecutor
    from pyhost.host.host import Host
    from pyhost.host.services.rpc import CallError
    home, plugin = sys.argv[1:3]
    with Host(home, timers=False) as host:
        record = host.install(plugin)
        find = host.rpc.lookup
        add, echo, fail, sleep = (find("rpc_demo." + n) for n in ("add", "echo", "fail", "sleep"))
        with ThreadPoolExecutor(8) as pool:
            sums = list(pool.map(lambda i: host.rpc.call(add, [i, i]), range(800)))
        assert sums == [2 * i for i in range(800)], sums[:5]
        for huge in ([2**63 - 1, 1], [-2**63, -1], [10**30, 1]):  # no overflow, no clamping
            try:
                host.rpc.call(add, huge)
            except CallError as exc:
                print("REFUSED", exc.message)
        big = {"text": "x" * 200000, "list": list(range(1000))}
        assert host.rpc.call(echo, big) == big
        for _ in range(50):
            try:
                host.rpc.call(fail)
            except CallError as exc:
                assert exc.message == "rpc_demo failed on purpose"
        for i in range(100):
            host.fire.incoming_chat("adc://hub.example:1511", f"line {i}")
        print("COUNT", host.rpc.call(find("rpc_demo.count")))
        host.rpc.unload_grace = 0.1
        running = host.rpc.submit(sleep, [600])
        time.sleep(0.1)
        host.disable(record.guid)
        print("SLEPT", running.result(10))
        events = [e for e in host.events.poll() if e.kind == "plugin_event"]
        print("EVENTS", len(events))
    print("DONE")
""")


def test_rpc_demo_is_clean_under_asan_and_ubsan(tmp_path):
    libasan = _libasan()
    if libasan is None:
        pytest.skip("gcc has no shared libasan to preload")
    plugin = tmp_path / "rpc_demo.so"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                    "-fno-omit-frame-pointer", "-shared", "-fPIC",
                    "-I", str(ROOT / "sdk_headers"), str(ROOT / "sample_plugins/rpc_demo.c"),
                    "-o", str(plugin)], check=True, capture_output=True, text=True)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "LD_PRELOAD": libasan,
           "ASAN_OPTIONS": "detect_leaks=0 halt_on_error=1 exitcode=67",
           "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1 exitcode=68"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "home"), str(plugin)],
                            capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert not any(m in output for m in REPORT_MARKERS), output
    assert result.returncode == 0, output
    assert "COUNT {'chat': 100, 'calls': 800}" in result.stdout
    assert "SLEPT 600" in result.stdout
    assert result.stdout.count("REFUSED the sum does not fit in 64 bits.") == 2
    assert "REFUSED add takes two integers, e.g. [2, 3]." in result.stdout
    assert "EVENTS 900" in result.stdout          # 800 "added" + 100 "chat_seen"
    assert result.stdout.rstrip().endswith("DONE")
