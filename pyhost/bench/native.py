"""The native pieces of the benchmark: the baselines library (native/bench/, opened with
cffi in ABI mode), the bench plugins (sample_plugins/bench_firer.c, bench_load.c) and the
table the firer plugin registers.

libpyhost_bench holds the C baselines (floor, nosync, lock-per-dispatch) and the thread
runner; nothing in pyhost links it. The firer plugin fires hooks in a C loop through its own
DCHooks table and carries the C subscribers every path calls, so the work per subscriber is
the same machine code on every path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cffi

from pyhost.abi._ffi import ffi
from pyhost.abi.paths import INSTALL_DIR
from pyhost.bench.results import BenchError

FIRER_GUID = "pyhost.bench.Firer"
FIRER_VERSION = 1

CDEF = r"""
typedef int Bool;
typedef Bool (*DCHOOK)(void* object, void* data, void* common, Bool* bBreak);
typedef uint64_t (*phb_fire_fn)(void* hook, void* object, void* data, uint64_t n);

typedef struct BenchFirer {
    uint32_t apiVersion;
    void* (*create)(const char* guid);
    Bool (*destroy)(void* hook);
    uint64_t (*fire)(void* hook, void* object, void* data, uint64_t n);
    DCHOOK subscriber;
    DCHOOK chat_subscriber;
} BenchFirer;

uint64_t phb_floor(const DCHOOK* procs, void* const* commons, size_t k, void* object,
                   void* data, uint64_t n);
typedef struct phb_floor_set { const DCHOOK* procs; void* const* commons; size_t k; }
    phb_floor_set;
uint64_t phb_floor_fire(void* set, void* object, void* data, uint64_t n);

typedef struct phb_nosync_hook phb_nosync_hook;
phb_nosync_hook* phb_nosync_hook_new(DCHOOK def_proc);
void phb_nosync_hook_free(phb_nosync_hook* hook);
int phb_nosync_bind(phb_nosync_hook* hook, DCHOOK proc, void* common);
uint64_t phb_nosync_fire(void* hook, void* object, void* data, uint64_t n);

typedef struct phb_lock_hook phb_lock_hook;
phb_lock_hook* phb_lock_hook_new(DCHOOK def_proc);
void phb_lock_hook_free(phb_lock_hook* hook);
int phb_lock_bind(phb_lock_hook* hook, DCHOOK proc, void* common);
uint64_t phb_lock_fire(void* hook, void* object, void* data, uint64_t n);

uint64_t phb_run_threads(phb_fire_fn fire, void* hook, void* object, void* const* datas,
                         uint64_t n, int threads, uint64_t* handled);
"""


def open_library() -> tuple[Any, Any]:
    """The bench FFI and libpyhost_bench opened with it."""
    bffi = cffi.FFI()
    bffi.cdef(CDEF)
    path = INSTALL_DIR / "libpyhost_bench.so"
    if not path.is_file():
        raise BenchError(f"the native benchmark library is missing ({path}); "
                         "rebuild pyhost (pip install -e .)")
    return bffi, bffi.dlopen(str(path))


def sample_plugin(name: str) -> Path:
    path = INSTALL_DIR / "sample_plugins" / f"{name}.so"
    if not path.is_file():
        raise BenchError(f"the bench plugin {name}.so is missing ({path}); rebuild pyhost")
    return path


def addr(cdata) -> int:
    """Address of a pointer cdata of either FFI (pyhost's compiled one or the bench one),
    for handing a pointer from one FFI to the other."""
    return int(ffi.cast("uintptr_t", cdata))


def firer_table(bffi, host) -> Any:
    """The BenchFirer* the installed firer plugin registered (bench FFI)."""
    table = host.bus.query_interface(FIRER_GUID, FIRER_VERSION)
    if table is None:
        raise BenchError(f"the bench plugin did not register {FIRER_GUID}")
    return bffi.cast("BenchFirer*", addr(table))
