/*
 * refuses_unload -- a plugin that says "I cannot be unloaded at runtime": it returns False
 * from ON_UNLOAD and ON_UNINSTALL and keeps its hook subscription. Demonstrates that the host
 * must then keep the library mapped (never dlclose it) until the host itself shuts down, since
 * the bus still holds a pointer into this library's code.
 *
 * Behaviour the tests rely on: loads fine (False only if DCHooks 8 is missing or the bind
 * fails); binds dcpp.chat.onIncomingChat and returns True (handled) for the exact message
 * "!sticky", False otherwise; ON_UNLOAD / ON_UNINSTALL return False and release nothing (if
 * DCLog 1 was available at load, they log "I cannot be unloaded at runtime").
 */
#include <stddef.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000004}"

static DCHooksPtr hooks;
static DCLogPtr logger;
static subsHandle on_chat;

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    const char* message = data;
    return (message && strcmp(message, "!sticky") == 0) ? True : False;
}

static Bool on_load(DCCorePtr core)
{
    /* Always bind afresh: the library stays mapped after a refused unload, so a later host in
     * the same process may load it again with stale statics from the previous one. */
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    if (!hooks)
        return False;
    logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    return on_chat ? True : False;
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
        /* Deliberately keep on_chat bound. */
        if (logger)
            logger->log("I cannot be unloaded at runtime");
        return False;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Refuses unload";
    info->author = "pyhost developers";
    info->description = "Returns False from ON_UNLOAD/ON_UNINSTALL and keeps its hook bound";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
