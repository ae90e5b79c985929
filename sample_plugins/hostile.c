/*
 * hostile -- a plugin that breaks on request, to show what isolation contains.
 *
 * Loaded in the host's process, every one of these takes the host down or hangs it; in a
 * process of its own (pyhost install --isolated) only its runner goes.
 *
 * Behaviour the tests rely on:
 *   - Load states: if its INT setting "crash_on_load" is not 0, it dereferences NULL.
 *     Otherwise it binds dcpp.chat.onIncomingChat, registers "sample.hostile.Echo" version 1
 *     = { int twice(int n) = 2 n; const char* name(void) = "hostile echo" } and logs
 *     "hostile ready". False when a bind or the registration fails.
 *   - Chat messages (returns True, handled, for the ones it knows):
 *       "!ok"             nothing bad: True
 *       "!segv"           writes through a NULL pointer (SIGSEGV)
 *       "!abort"          abort() (SIGABRT)
 *       "!loop"           loops forever (only a deadline ends it)
 *       "!exit3"          exit(3)
 *       "!double-release" gets a DCConfig value and releases it twice: pyhost checks
 *                         releases and refuses the second one; True, nothing breaks
 *       "!double-free"    frees memory of its own twice (the C library aborts)
 *       "!bad-handle"     runs a hook through a handle that was never created
 *   - Unload: releases the subscription and the interface.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000bad}"
#define ECHO_GUID "sample.hostile.Echo"

typedef struct HostileEcho {
    uint32_t apiVersion;
    int (DCAPI* twice)(int n);
    const char* (DCAPI* name)(void);
} HostileEcho;

static DCCorePtr host_core;
static DCHooksPtr hooks;
static DCConfigPtr config;
static DCLogPtr logger;
static subsHandle on_chat;
static intfHandle echo_handle;

static int DCAPI echo_twice(int n) { return 2 * n; }
static const char* DCAPI echo_name(void) { return "hostile echo"; }
static HostileEcho echo = {1, echo_twice, echo_name};

static volatile int* volatile nowhere;  /* volatile: the compiler must emit the write */

static int32_t get_int(const char* setting)
{
    int32_t result = 0;
    ConfigValuePtr value = config->get_cfg(PLUGIN_GUID, setting, CFG_TYPE_INT);
    if (value) {
        if (value->type == CFG_TYPE_INT)
            result = ((ConfigIntPtr)value)->value;
        config->release(value);
    }
    return result;
}

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    const char* message = data;
    if (!message)
        return False;
    if (strcmp(message, "!ok") == 0)
        return True;
    if (strcmp(message, "!segv") == 0) {
        *nowhere = 1;
        return True;
    }
    if (strcmp(message, "!abort") == 0)
        abort();
    if (strcmp(message, "!loop") == 0) {
        for (volatile unsigned long spin = 0;; spin = spin + 1)
            ;
    }
    if (strcmp(message, "!exit3") == 0)
        exit(3);
    if (strcmp(message, "!double-release") == 0) {
        ConfigValuePtr value = config->get_cfg(PLUGIN_GUID, "anything", CFG_TYPE_STRING);
        config->release(value);
        config->release(value);
        return True;
    }
    if (strcmp(message, "!double-free") == 0) {
        char* volatile mine = malloc(64);
        free(mine);
        free(mine);
        return True;
    }
    if (strcmp(message, "!bad-handle") == 0)
        return hooks->run_hook((hookHandle)(uintptr_t)0x10, NULL, NULL);
    return False;
}

static Bool on_unload(void)
{
    if (hooks && on_chat)
        hooks->release_hook(on_chat);
    if (host_core && echo_handle)
        host_core->release_interface(echo_handle);
    on_chat = NULL;
    echo_handle = NULL;
    hooks = NULL;
    return True;
}

static Bool on_load(DCCorePtr core)
{
    host_core = core;
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    if (!hooks || !config || !logger)
        return False;
    if (get_int("crash_on_load") != 0)
        *nowhere = 1;
    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    echo_handle = core->register_interface(ECHO_GUID, &echo);
    if (!on_chat || !echo_handle) {
        on_unload();
        return False;
    }
    logger->log("hostile ready");
    return True;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        return on_load(core);
    case ON_UNLOAD:
    case ON_UNINSTALL:
        return on_unload();
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Hostile";
    info->author = "pyhost developers";
    info->description = "Crashes, hangs and exits on request (crash isolation tests)";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
