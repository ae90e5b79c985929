"""The ownership rules of the application interfaces under AddressSanitizer.

1. native/app_data.c (the copy / release / free code behind DCHub, DCQueue, DCConnection and
   DCDataAccess) driven by tests/native/app_data_driver.c, built with ASan + UBSan and
   LeakSanitizer: copies own their strings, every block is freed exactly once, refused
   releases never touch the pointer, the live-block set survives growth, scrambled deletion
   and four threads, and nothing leaks.
2. The harness has teeth: a release that frees without consulting the live set (what the
   reference host does for a copy) turns the driver's double release into an ASan report.
3. The real thing: the App demo plugin, built with -fsanitize=address, runs in a pyhost
   process with ASan's runtime preloaded and replays every standard hook; a plugin that keeps
   a host-owned HubData past the hub's onOffline is caught reading freed memory.
"""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1 halt_on_error=1 exitcode=67",
    "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1 exitcode=68",
}
APP_DEMO_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def build_driver(tmp_path: Path, app_data: Path) -> Path:
    exe = tmp_path / "app_data_driver"
    cmd = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
           "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-pthread",
           "-I", str(ROOT / "native"), "-I", str(ROOT / "sdk_headers"),
           str(app_data), str(ROOT / "native/handle_set.c"),
           str(ROOT / "tests/native/app_data_driver.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run(exe: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **SANITIZER_ENV})


def test_app_data_is_clean_under_asan_ubsan_lsan(tmp_path):
    result = run(build_driver(tmp_path, ROOT / "native/app_data.c"))
    output = result.stdout + result.stderr
    assert not any(m in output for m in REPORT_MARKERS), output
    assert result.returncode == 0, output
    assert "app_data: ok" in result.stdout
    assert "refused: unknown=80002 managed=1 wrong_kind=1" in result.stdout


def test_asan_catches_a_release_that_trusts_the_pointer(tmp_path):
    source = (ROOT / "native/app_data.c").read_text()
    guarded = "    if (reason < 0)\n        free(block);\n"
    assert guarded in source
    broken = tmp_path / "app_data.c"
    broken.write_text(source.replace(guarded, "    free(block);\n"))
    shutil.copy(ROOT / "native/app_data.h", tmp_path / "app_data.h")
    result = run(build_driver(tmp_path, broken))
    assert result.returncode != 0
    assert "double-free" in result.stderr


# ---- a plugin built with ASan inside a real pyhost process --------------------------------

def _libasan() -> str | None:
    path = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def build_plugin(tmp_path: Path, source: Path, name: str) -> Path:
    out = tmp_path / f"{name}.so"
    subprocess.run(["gcc", "-std=c11", "-O1", "-g", "-fsanitize=address",
                    "-fno-omit-frame-pointer", "-shared", "-fPIC",
                    "-I", str(ROOT / "sdk_headers"), str(source), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    return out


DRIVER = textwrap.dedent("""
    import json, sys
    from pyhost.abi._ffi import lib
    from pyhost.host.host import Host
    from pyhost.testbench.replay import replay
    home, plugin, events, trace = sys.argv[1:5]
    with Host(home, timers=False) as host:
        record = host.install(plugin)
        if trace == "1":
            host.registry.set_setting(record.guid, "trace", "bool", True)
        summary = replay(host, open(events), lambda r: print(json.dumps(r)))
        print("LIVE", host.app_services.live_copies())
    print("ALL", lib.phn_app_live(lib.PHN_ARENA_ALL, 0, -1))
    print("DONE", summary.events, summary.errors)
""")


def run_under_asan(tmp_path: Path, plugin: Path, events: Path, trace: bool = False):
    libasan = _libasan()
    if libasan is None:
        pytest.skip("gcc has no shared libasan to preload")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "LD_PRELOAD": libasan,
           # Python itself is not built for LeakSanitizer: only memory errors count here.
           "ASAN_OPTIONS": "detect_leaks=0 halt_on_error=1 exitcode=67"}
    return subprocess.run([sys.executable, str(script), str(tmp_path / "home"), str(plugin),
                           str(events), "1" if trace else "0"],
                          capture_output=True, text=True, timeout=300, env=env)


def test_app_demo_built_with_asan_replays_every_hook_cleanly(tmp_path):
    plugin = build_plugin(tmp_path, ROOT / "sample_plugins/app_demo.c", "app_demo")
    result = run_under_asan(tmp_path, plugin, ROOT / "tests/replay/every_hook.jsonl",
                            trace=True)
    output = result.stdout + result.stderr
    assert not any(m in output for m in REPORT_MARKERS), output
    assert result.returncode == 0, output
    events = [line for line in (ROOT / "tests/replay/every_hook.jsonl").read_text().splitlines()
              if line.strip() and not line.startswith("#") and "pyhost_replay" not in line]
    assert f"DONE {len(events)} 0" in result.stdout and len(events) == 61
    assert "LIVE {'HubData': 1}" in result.stdout  # its last_hub copy, released at unload
    assert "ALL 0" in result.stdout                 # ...and everything else was given back


KEEPS_MANAGED = r"""
#include <string.h>
#include "dcplugin.h"
static DCHooksPtr hooks;
static DCLogPtr logger;
static subsHandle subs[2];
static HubDataPtr kept; /* WRONG: a host-owned HubData kept without a copy */

static Bool DCAPI on_online(dcptr_t object, dcptr_t data, dcptr_t common, Bool* brk)
{
    (void)data; (void)common; (void)brk;
    if (!kept)
        kept = object;
    return False;
}

static Bool DCAPI on_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* brk)
{
    (void)object; (void)data; (void)common; (void)brk;
    if (kept)
        logger->log(kept->url); /* reads the block after its hub went offline */
    return False;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    if (state == ON_INSTALL || state == ON_LOAD || state == ON_LOAD_RUNTIME) {
        hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
        logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
        subs[0] = hooks->bind_hook(HOOK_HUB_ONLINE, on_online, NULL);
        subs[1] = hooks->bind_hook(HOOK_CHAT_IN, on_chat, NULL);
        return True;
    }
    if (state == ON_UNLOAD || state == ON_UNINSTALL) {
        hooks->release_hook(subs[0]);
        hooks->release_hook(subs[1]);
    }
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Keeps managed";
    info->guid = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffeebad001}";
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
"""


def test_asan_catches_a_plugin_keeping_a_host_object_past_its_lifetime(tmp_path):
    source = tmp_path / "keeps_managed.c"
    source.write_text(KEEPS_MANAGED)
    plugin = build_plugin(tmp_path, source, "keeps_managed")
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"hook": "hubs.onOnline", "object": "adc://a.example"}\n'
        '{"hook": "chat.onIncomingChat", "object": "adc://a.example", "data": "fine"}\n'
        '{"hook": "hubs.onOffline", "object": "adc://a.example"}\n'
        '{"hook": "chat.onIncomingChat", "object": "adc://b.example", "data": "boom"}\n')
    result = run_under_asan(tmp_path, plugin, events)
    assert result.returncode != 0
    assert "heap-use-after-free" in result.stderr
    assert '"event": 2' in result.stdout      # the events before went through
    assert '"event": 4' not in result.stdout  # ASan stopped it at the bad read
