/*
 * wrong_api -- a plugin built for an older core: MetaData.apiVersion is 7. Demonstrates the
 * host's API-version check.
 *
 * Behaviour the tests rely on: pluginInit fills valid MetaData (guid, name, ...) except that
 * apiVersion is 7, and returns a working main (True for every state), so the only reason to
 * refuse it is the version. main must never be called by a conforming host.
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000007}"
#define WRONG_API_VERSION 7

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)state;
    (void)core;
    (void)data;
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Wrong API";
    info->author = "pyhost developers";
    info->description = "Declares apiVersion 7 instead of 8";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = WRONG_API_VERSION;
    info->version = 1.0;
    return plugin_main;
}
