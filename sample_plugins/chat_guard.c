/*
 * chat_guard -- the first sample plugin: drops incoming hub chat that contains a banned
 * word. Shows the minimum a plugin needs: pluginInit filling MetaData, a main function
 * handling the lifecycle states, and one DCHooks subscription.
 *
 * Behaviour the tests rely on: a message containing "spam" is handled (True) and stops the
 * dispatch; any other message is left alone (False).
 */
#include <stddef.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}"

static DCHooksPtr hooks;
static subsHandle on_chat;

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    const char* message = data;
    if (message && strstr(message, "spam")) {
        *bBreak = True;
        return True;
    }
    return False;
}

static Bool on_load(DCCorePtr core)
{
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    if (!hooks)
        return False;
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
    case ON_UNINSTALL:
    case ON_UNLOAD:
        if (on_chat)
            hooks->release_hook(on_chat);
        on_chat = NULL;
        hooks = NULL;
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Chat guard";
    info->author = "pyhost developers";
    info->description = "Drops incoming chat that contains a banned word";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
