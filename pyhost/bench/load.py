"""Plugin load and package install: one-off measurements in milliseconds, after the
repetitions (each in a fresh host home).

- ``load_100``: :meth:`Host.start` loading 100 installed plugins (ELF check, dlopen,
  pluginInit, MetaData checks, per-plugin DCCore, ON_LOAD), copies of
  sample_plugins/bench_load.c under 100 names (it takes its guid from its file name). The
  ELF-check share is timed inside the same start(), by wrapping
  ``pyhost.host.binary.check_loadable``.
- ``dcext``: inspect + install of a multi-platform .dcext package: ``read_package`` (ZIP,
  info.xml, every platform's binary) then ``packages.install`` (extract, identity check,
  registry, ON_INSTALL).
"""
from __future__ import annotations

import contextlib
import gc
import importlib.util
import shutil
import statistics
import time
from pathlib import Path

from pyhost.bench.engine import Context, Group
from pyhost.bench.native import sample_plugin
from pyhost.bench.results import BenchError, Figure, Row, Target

LOAD_PLUGINS = 100


@contextlib.contextmanager
def _timing_elf_checks():
    """Adds up the time the loader spends in pyhost.binary.check_loadable (the ELF/PE
    inspection before dlopen) while the block runs: yields a one-item list of ns."""
    from pyhost.host import binary
    spent = [0]
    original = binary.check_loadable

    def timed(*args, **kwargs):
        t0 = time.perf_counter_ns()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter_ns() - t0
    binary.check_loadable = timed
    try:
        yield spent
    finally:
        binary.check_loadable = original


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def measure_load(ctx: Context) -> dict:
    """Host.start() loading 100 installed plugins: ELF check, dlopen, pluginInit, ON_LOAD."""
    from pyhost.host.host import Host
    tmp = ctx.tmp
    ctx.progress(f"installing {LOAD_PLUGINS} plugins")
    source = sample_plugin("bench_load")
    plugin_dir = tmp / "load-plugins"
    plugin_dir.mkdir()
    paths = []
    for i in range(LOAD_PLUGINS):
        path = plugin_dir / f"bench_load_{i:03d}.so"
        shutil.copyfile(source, path)
        paths.append(path)
    home = tmp / "load-home"
    setup = Host(home, timers=False)
    try:
        setup.start()
        t0 = time.perf_counter_ns()
        for path in paths:
            setup.install(path)
        install_ns = time.perf_counter_ns() - t0
    finally:
        setup.shutdown()
    figure = Figure("load_100", f"load {LOAD_PLUGINS} plugins", "pyhost",
                    "Host.start(): ELF check, dlopen, pluginInit, ON_LOAD", 0,
                    events=LOAD_PLUGINS, unit="100 plugins")
    checks: list[int] = []
    for r in range(ctx.settings.load_repetitions):
        ctx.progress(f"loading {LOAD_PLUGINS} plugins ({r + 1}/"
                      f"{ctx.settings.load_repetitions})")
        host = Host(home, timers=False)
        try:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                with _timing_elf_checks() as in_checks:
                    t0 = time.perf_counter_ns()
                    host.start()
                    elapsed = time.perf_counter_ns() - t0
            finally:
                if was_enabled:
                    gc.enable()
            loaded = len(host.loaded())
        finally:
            host.shutdown()
        if loaded != LOAD_PLUGINS:
            raise BenchError(f"the load figure loaded {loaded} plugins, "
                             f"not {LOAD_PLUGINS}")
        figure.samples.append(float(elapsed))
        checks.append(in_checks[0])
    ctx.add_figure(figure)
    return {"plugins": LOAD_PLUGINS,
            "ms_elf_check": statistics.median(checks) / 1e6,
            "ms_without_elf_check": statistics.median(
                total - check for total, check in zip(figure.samples, checks)) / 1e6,
            "ms_total": figure.ns / 1e6, "us_per_plugin": figure.ns / 1e3 / LOAD_PLUGINS,
            "samples_ms": [s / 1e6 for s in figure.samples],
            "install_ms_total_setup": install_ns / 1e6,
            "what": "Host.start() with 100 enabled plugins in the registry: ELF check, "
                    "dlopen, pluginInit, MetaData checks, per-plugin DCCore, ON_LOAD; "
                    "ms_elf_check is the part spent in pyhost.binary.check_loadable, "
                    "timed inside the same start()"}


def measure_dcext(ctx: Context) -> dict:
    """Inspect + install of a multi-platform .dcext: read_package (ZIP, info.xml, every
    platform's binary checked) then packages.install (extract, identity check, registry,
    ON_INSTALL), into a fresh host home each time."""
    tmp = ctx.tmp
    missing = [m for m in ("pyhost.packages.dcext", "pyhost.packages.installer")
               if not _importable(m)]
    if missing:
        return {"measured": False,
                "reason": f"{' and '.join(missing)} not in this pyhost (the .dcext "
                          "support of issue 4 has not landed)"}
    from pyhost import packages
    from pyhost.host.binary import host_platform
    from pyhost.host.host import Host
    from pyhost.packages import dcext
    if host_platform() is None:
        return {"measured": False, "reason": "this host is none of the .dcext platforms"}
    ctx.progress("building a multi-platform .dcext")
    package_path, platforms, skipped = _build_package(tmp, dcext)
    timings: dict[str, list[float]] = {"inspect": [], "install": [], "total": []}
    for r in range(ctx.settings.load_repetitions):
        ctx.progress(f"installing the .dcext ({r + 1}/{ctx.settings.load_repetitions})")
        host = Host(tmp / f"dcext-home-{r}", timers=False)
        try:
            t0 = time.perf_counter_ns()
            package = dcext.read_package(package_path)
            t1 = time.perf_counter_ns()
            result = packages.install(host, package)
            t2 = time.perf_counter_ns()
            if not host.is_loaded(result.record.guid):
                raise BenchError("the benchmark package installed but did not load")
        finally:
            host.shutdown()
        timings["inspect"].append((t1 - t0) / 1e6)
        timings["install"].append((t2 - t1) / 1e6)
        timings["total"].append((t2 - t0) / 1e6)
    return {"measured": True, "platforms": platforms, "platforms_skipped": skipped,
            "package_bytes": package_path.stat().st_size,
            "ms_inspect": statistics.median(timings["inspect"]),
            "ms_install": statistics.median(timings["install"]),
            "ms_total": statistics.median(timings["total"]),
            "samples_ms_total": timings["total"],
            "what": "dcext.read_package (ZIP + info.xml + every platform's binary) then "
                    "packages.install (extract, identity check, registry, ON_INSTALL)"}


# The .dcext package: this host's plugin is the installed bench_firer; the other platforms
# get this plugin (same guid) compiled with whichever cross toolchains are on the machine.
PACKAGE_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00be7c}"   # sample_plugins/bench_firer.c
_PACKAGE_PLUGIN_C = r"""
#include "dcplugin.h"
static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{ (void)state; (void)core; (void)data; return True; }
DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Bench firer"; info->author = "pyhost developers";
    info->guid = "%s"; info->apiVersion = DCAPI_CORE_VER; info->version = 1.0;
    return plugin_main;
}
"""
_CROSS = {
    "elf-x64": (["gcc", "-m64", "-shared", "-fPIC"], ".so"),
    "elf-x86": (["gcc", "-m32", "-shared", "-fPIC"], ".so"),
    "pe-x64": (["x86_64-w64-mingw32-gcc", "-shared"], ".dll"),
    "pe-x86": (["i686-w64-mingw32-gcc", "-shared", "-Wl,--add-stdcall-alias"], ".dll"),
}


def _build_package(tmp: Path, dcext) -> tuple[Path, list[str], dict[str, str]]:
    """Packs bench.dcext; returns its path, its platforms and why others were left out."""
    import subprocess

    from pyhost.abi.paths import sdk_include_dir
    from pyhost.host.binary import host_platform
    from pyhost.packages.packer import pack
    here = host_platform()
    root = tmp / "package"
    (root / "data").mkdir(parents=True)
    (root / "data" / "readme.txt").write_text("pyhost bench package\n")
    plugins = {here: f"{here}/bench_firer.so"}
    (root / here).mkdir()
    shutil.copyfile(sample_plugin("bench_firer"), root / here / "bench_firer.so")
    source = tmp / "package_plugin.c"
    source.write_text(_PACKAGE_PLUGIN_C % PACKAGE_GUID)
    skipped = {}
    for code, (command, suffix) in _CROSS.items():
        if code == here:
            continue
        if shutil.which(command[0]) is None:
            skipped[code] = f"no {command[0]}"
            continue
        out = root / code / f"bench_firer{suffix}"
        out.parent.mkdir()
        try:
            done = subprocess.run([*command, "-O2", "-I", str(sdk_include_dir()), str(source),
                                   "-o", str(out)], capture_output=True, text=True,
                                  timeout=120)
            error = None if done.returncode == 0 else \
                (done.stderr.strip().splitlines() or ["?"])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        if error is not None:
            skipped[code] = f"{command[0]} failed: {error}"
            shutil.rmtree(out.parent)
            continue
        plugins[code] = f"{code}/{out.name}"
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<dcext>",
             f"  <UUID>{PACKAGE_GUID}</UUID>", "  <Name>Bench firer</Name>",
             "  <Version>1.0</Version>", "  <ApiVersion>8</ApiVersion>",
             "  <Author>pyhost developers</Author>"]
    lines += [f'  <Plugin Platform="{p}">{path}</Plugin>' for p, path in plugins.items()]
    lines += ["  <Files>", "    <File>data/readme.txt</File>", "  </Files>", "</dcext>", ""]
    (root / "info.xml").write_text("\n".join(lines))
    path, _ = pack(root, tmp / "bench.dcext")
    return path, sorted(plugins), skipped


def setup(ctx: Context) -> None:
    ctx.after("load", measure_load)
    ctx.after("dcext", measure_dcext)
    ctx.row(Row("load_100", {}, (Target("< 100 ms", None, 100.0, 7),)))


GROUP = Group("load", "plugin load and package install", setup)
