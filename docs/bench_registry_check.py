"""Cost of the integrity check every registry open runs (docs/faults.md).

    python docs/bench_registry_check.py

Builds registries of 0, 10, 100 and 1,000 plugins (five settings each) in a temporary
directory, and prints the median time of: SQLite's ``PRAGMA quick_check``, its
``PRAGMA integrity_check`` (what pyhost runs: quick_check misses an index that no longer
matches its table), and a whole ``Registry(path)`` open with and without the check, and the
time of the load-state records written around each plugin load (the second figure of
``mark_loading`` + ``mark_loaded``: no fsync).
"""
import os
import sqlite3
import statistics
import tempfile
import time

from pyhost.host.registry import PluginRecord, Registry

SIZES = (0, 10, 100, 1000)
ROUNDS = 31


def median_us(fn, rounds=ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def build(path: str, plugins: int) -> None:
    with Registry(path) as registry:
        for i in range(plugins):
            guid = "{%08d-0000-4000-8000-000000000000}" % i
            registry.add(PluginRecord(guid=guid, name=f"Plugin {i}", version=1.0,
                                      path=f"/plugins/{i}.so"))
            for k in range(5):
                registry.set_setting(guid, f"key{k}", "string", "some value " * 3)


def main() -> None:
    print(f"SQLite {sqlite3.sqlite_version}; median of {ROUNDS} runs, microseconds")
    print(f"{'plugins':>8} {'file KiB':>9} {'quick_check':>12} {'integrity':>10} "
          f"{'open':>8} {'open -chk':>10} {'load marks':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = os.path.join(tmp, f"r{n}.sqlite3")
            build(path, n)
            conn = sqlite3.connect(path)
            quick = median_us(lambda: conn.execute("PRAGMA quick_check").fetchall())
            full = median_us(lambda: conn.execute("PRAGMA integrity_check").fetchall())
            conn.close()
            checked = median_us(lambda: Registry(path).close())
            unchecked = median_us(lambda: Registry(path, check=False).close())
            with Registry(path) as registry:
                registry.add(PluginRecord(guid="{marks}", name="m", version=1.0, path="/m"))

                def marks():
                    registry.mark_loading("{marks}", os.getpid())
                    registry.mark_loaded("{marks}")
                loads = median_us(marks)
            size = os.path.getsize(path) / 1024
            print(f"{n:>8} {size:>9.0f} {quick:>12.0f} {full:>10.0f} {checked:>8.0f} "
                  f"{unchecked:>10.0f} {loads:>11.0f}")


if __name__ == "__main__":
    main()
