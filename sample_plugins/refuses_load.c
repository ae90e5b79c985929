/*
 * refuses_load -- a plugin whose main refuses every load state. Demonstrates the host's
 * failed-load path: the library must be unloaded again and an error reported.
 *
 * Behaviour the tests rely on: main returns False for ON_INSTALL, ON_LOAD and
 * ON_LOAD_RUNTIME without touching the core (it logs nothing and binds nothing); any other
 * state returns True.
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000003}"

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)core;
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        return False;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Refuses load";
    info->author = "pyhost developers";
    info->description = "Returns False from every load state";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
