"""The bus under concurrency, built with ThreadSanitizer and with ASan + UBSan.

Two threads fire the same hooks (1e6 events in all) while a third binds and releases
subscribers in a loop (tests/native/stress_bus.c). Any sanitizer report fails the test.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NATIVE_SOURCES = ["native/bus.c", "native/core.c", "native/epoch.c", "native/bus_handles.c",
                  "native/handle_set.c"]
REPORT_MARKERS = ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "runtime error:",
                  "ERROR: LeakSanitizer")
SANITIZER_ENV = {
    "TSAN_OPTIONS": "halt_on_error=1 exitcode=66 second_deadlock_stack=1",
    "ASAN_OPTIONS": "detect_leaks=1 halt_on_error=1 exitcode=67",
    "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1 exitcode=68",
}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def build(tmp_path: Path, sanitize: str, sources: list[str]) -> Path:
    exe = tmp_path / f"stress_{sanitize.replace(',', '_')}"
    cmd = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
           f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-pthread",
           "-I", str(ROOT / "native"), "-I", str(ROOT / "sdk_headers"),
           *sources, str(ROOT / "tests/native/stress_bus.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run(exe: Path, events: int = 500_000) -> subprocess.CompletedProcess:
    env = {**os.environ, **SANITIZER_ENV}
    return subprocess.run([str(exe), str(events)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("sanitize", ["thread", "address,undefined"])
def test_concurrent_fire_bind_release_is_clean(tmp_path, sanitize):
    exe = build(tmp_path, sanitize, [str(ROOT / s) for s in NATIVE_SOURCES])
    result = run(exe)
    output = result.stdout + result.stderr
    assert not any(m in output for m in REPORT_MARKERS), output
    assert result.returncode == 0, output
    assert "events: 1000000" in result.stdout
    assert "failures: 0" in result.stdout
    assert "pending after quiesce: 0" in result.stdout


def test_stress_catches_a_broken_reclaim(tmp_path):
    """The harness has teeth: freeing retired arrays at once is reported by ASan."""
    broken = tmp_path / "epoch_broken.c"
    source = (ROOT / "native/epoch.c").read_text()
    assert "if (node->stamp < oldest) {" in source
    broken.write_text(source.replace("node->stamp < oldest", "node->stamp < oldest || oldest"))
    shutil.copy(ROOT / "native/epoch.h", tmp_path / "epoch.h")
    sources = [str(ROOT / s) for s in NATIVE_SOURCES if not s.endswith("epoch.c")]
    sources.append(str(broken))
    exe = build(tmp_path, "address,undefined", sources)
    result = run(exe)
    assert result.returncode != 0
    assert "heap-use-after-free" in result.stderr
