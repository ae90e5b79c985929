/*
 * hang_in_hook -- a hostile plugin whose subscriber of HANG_HOOK (by default
 * dcpp.chat.onIncomingChat) never returns: it spins in C, holding no Python lock. Signals
 * must still stop the host: the first asks for a clean stop, a second one (or 5 s without
 * progress) ends the process naming the plugin and the hook.
 */
#include <stddef.h>

#include "dcplugin.h"

#ifndef HANG_HOOK
#define HANG_HOOK "dcpp.chat.onIncomingChat"
#endif

static DCHooksPtr hooks;
static subsHandle subscription;
static volatile unsigned long spins;

static Bool DCAPI never_returns(dcptr_t object, dcptr_t data, dcptr_t common, Bool *brk)
{
    (void)object;
    (void)data;
    (void)common;
    (void)brk;
    for (;;)
        spins++;
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
        if (hooks == NULL)
            return False;
        subscription = hooks->bind_hook(HANG_HOOK, never_returns, NULL);
        return subscription != NULL ? True : False;
    case ON_UNLOAD:
    case ON_UNINSTALL:
        if (subscription != NULL)
            hooks->release_hook(subscription);
        subscription = NULL;
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Hang in hook";
    info->author = "pyhost tests";
    info->description = "Never returns from its subscriber";
    info->guid = "{0bad0bad-0000-4000-8000-0000000000a6}";
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
