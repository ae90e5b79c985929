/*
 * bench_firer -- the C side of `pyhost bench`: fires hooks in a C loop, and is the C
 * subscriber every benchmark calls.
 *
 * It registers the interface "pyhost.bench.Firer", version 1, through its DCCore:
 *   create(guid)                  creates a hook through this plugin's DCHooks
 *   destroy(hook)                 destroys one of them
 *   fire(hook, object, data, n)   calls DCHooks::run_hook n times in a loop; returns how many
 *                                 events were handled
 *   subscriber                    the benchmark's C subscriber: a DCHOOK doing the same work
 *                                 wherever it is called from (bus, floor, lock baseline)
 *   chat_subscriber               a second one with a chat filter's work, for one row
 * The subscriber's work: add the 64-bit weight its `common` points to into the 64-bit
 * accumulator the event's `data` points to, and return False (not handled, no break), so
 * every subscriber of a hook runs for every event. It writes only to the event, so threads
 * firing their own events share nothing but the read-only weight.
 * The chat subscriber's work is chat_guard's: look for the word `common` points to in the
 * message `data` points to; handled (and break) when it is there.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00be7c}"
#define FIRER_GUID "pyhost.bench.Firer"
#define FIRER_VERSION 1
#define MAX_HOOKS 64

typedef struct BenchFirer {
    uint32_t apiVersion;
    hookHandle (DCAPI* create)(const char* guid);
    Bool (DCAPI* destroy)(hookHandle hook);
    uint64_t (DCAPI* fire)(hookHandle hook, dcptr_t object, dcptr_t data, uint64_t n);
    DCHOOK subscriber;
    DCHOOK chat_subscriber;
} BenchFirer;

static DCCorePtr core;
static DCHooksPtr hooks;
static intfHandle registered;
static hookHandle created[MAX_HOOKS];

static Bool DCAPI bench_subscriber(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)bBreak;
    uint64_t* accumulator = data;
    const uint64_t* weight = common;
    if (accumulator && weight)
        *accumulator += *weight;
    return False;
}

static Bool DCAPI chat_subscriber(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    const char* message = data;
    const char* banned = common;
    if (message && banned && strstr(message, banned)) {
        *bBreak = True;
        return True;
    }
    return False;
}

static uint64_t DCAPI fire(hookHandle hook, dcptr_t object, dcptr_t data, uint64_t n)
{
    DCHooksPtr h = hooks;
    uint64_t handled = 0;
    if (!h)
        return 0;
    for (uint64_t i = 0; i < n; ++i)
        handled += h->run_hook(hook, object, data) == True;
    return handled;
}

static hookHandle DCAPI create(const char* guid)
{
    if (!hooks)
        return NULL;
    for (int i = 0; i < MAX_HOOKS; ++i) {
        if (!created[i]) {
            created[i] = hooks->create_hook(guid, NULL);
            return created[i];
        }
    }
    return NULL;
}

static Bool DCAPI destroy(hookHandle hook)
{
    for (int i = 0; hook && hooks && i < MAX_HOOKS; ++i) {
        if (created[i] == hook) {
            created[i] = NULL;
            return hooks->destroy_hook(hook);
        }
    }
    return False;
}

static BenchFirer firer = {FIRER_VERSION, create, destroy, fire, bench_subscriber,
                           chat_subscriber};

static Bool on_load(DCCorePtr c)
{
    core = c;
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    if (!hooks)
        return False;
    registered = core->register_interface(FIRER_GUID, &firer);
    return registered ? True : False;
}

static void on_unload(void)
{
    for (int i = 0; hooks && i < MAX_HOOKS; ++i) {
        if (created[i])
            hooks->destroy_hook(created[i]);
        created[i] = NULL;
    }
    if (registered)
        core->release_interface(registered);
    registered = NULL;
    hooks = NULL;
    core = NULL;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr c, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        return on_load(c);
    case ON_UNINSTALL:
    case ON_UNLOAD:
        on_unload();
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Bench firer";
    info->author = "pyhost developers";
    info->description = "Fires hooks in a C loop for pyhost bench";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
