/*
 * bench_load -- a plugin for the "100 plugins load" figure of `pyhost bench`.
 *
 * Its guid and name come from its own file name (found with dladdr), so one compiled
 * file copied under 100 names is 100 distinct plugins: bench_load_042.so is
 * "pyhost.bench.load.bench_load_042". On load it does what a typical plugin does: queries
 * DCHooks and binds one hook (dcpp.timer.onSecond, when the host has it); on unload it
 * releases it.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dcplugin.h"

#define GUID_PREFIX "pyhost.bench.load."

static char guid[256];
static char name[256];
static DCHooksPtr hooks;
static subsHandle on_second;

static Bool DCAPI on_tick(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)data;
    (void)common;
    (void)bBreak;
    return False;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
        if (!hooks)
            return False;
        on_second = hooks->bind_hook(HOOK_TIMER_SECOND, on_tick, NULL);
        return True;
    case ON_UNINSTALL:
    case ON_UNLOAD:
        if (on_second)
            hooks->release_hook(on_second);
        on_second = NULL;
        hooks = NULL;
        return True;
    default:
        return True;
    }
}

/* "bench_load_042" from ".../bench_load_042.so"; NULL if this file cannot be found. */
static const char* file_stem(char* out, size_t size)
{
    Dl_info self;
    if (!dladdr((void*)&plugin_main, &self) || !self.dli_fname)
        return NULL;
    const char* base = strrchr(self.dli_fname, '/');
    base = base ? base + 1 : self.dli_fname;
    size_t len = strcspn(base, ".");
    if (len == 0 || len >= size)
        return NULL;
    memcpy(out, base, len);
    out[len] = '\0';
    return out;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    char stem[128];
    if (!file_stem(stem, sizeof stem))
        return NULL;
    snprintf(guid, sizeof guid, GUID_PREFIX "%s", stem);
    snprintf(name, sizeof name, "Bench load %s", stem);
    info->name = name;
    info->author = "pyhost developers";
    info->description = "One of many identical plugins for the load benchmark";
    info->web = "https://example.invalid/pyhost";
    info->guid = guid;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
