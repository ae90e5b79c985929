"""What extensions cost (docs/extensions.md).

    python docs/bench_extensions.py          # from the checkout, after `npm ci` in tests/extensions

Installs the test chat filter (Node, the official libraries) and the Python test extension
in a temporary home, starts a host with its Web API, and prints: the time from launch to
ready of each (5 starts each, median), and the time `host.fire.incoming_chat` takes when an
extension's hook subscriber answers each message (1,000 messages through the Node filter,
then through the Python extension, each alone; p50 and p99), next to the same with no
extension (the plugins-only baseline of the same run).
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from extension_helpers import FILTER, HUB, PYTHON, Hosted, pack  # noqa: E402

MESSAGES = 1000
STARTS = 5


def ready_time(h: Hosted, name: str) -> float:
    samples = []
    for _ in range(STARTS):
        h.manager.stop(name)
        t0 = time.perf_counter()
        h.manager.start(name)
        ext = h.ext(name)
        while not ext.ready:
            time.sleep(0.002)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def round_trips(h: Hosted) -> tuple[float, float]:
    samples = []
    for n in range(MESSAGES):
        t0 = time.perf_counter()
        h.host.fire.incoming_chat(HUB, f"<bob> message {n}")
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2] * 1e3, samples[int(len(samples) * 0.99)] * 1e3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        packages = pack.pack_all(Path(tmp) / "packages", [FILTER, PYTHON])
        h = Hosted(Path(tmp) / "home", list(packages.values()))
        try:
            h.manager.wait_ready()
            print(f"launch to ready, median of {STARTS}:")
            for name in (FILTER, PYTHON):
                print(f"  {name}: {ready_time(h, name) * 1e3:.0f} ms")
            print(f"incoming chat with one extension hook subscriber, {MESSAGES} messages:")
            for only in (FILTER, PYTHON):
                other = PYTHON if only == FILTER else FILTER
                h.manager.stop(other)
                p50, p99 = round_trips(h)
                print(f"  {only}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
                h.manager.start(other)
                while not h.ext(other).ready:
                    time.sleep(0.002)
            for name in (FILTER, PYTHON):
                h.manager.stop(name)
            p50, p99 = round_trips(h)
            print(f"  no extension: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
        finally:
            h.close()


if __name__ == "__main__":
    main()
