/*
 * dep_missing -- depends on a guid that no plugin has. Demonstrates the loader's
 * missing-dependency error.
 *
 * Behaviour the tests rely on: MetaData.dependencies =
 * { "{00000000-0000-0000-0000-000000000000}" } (numDependencies 1), guid ...0014; main returns
 * True for every state (the missing dependency is the only fault).
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000014}"
#define MISSING_GUID "{00000000-0000-0000-0000-000000000000}"

static const char* dependencies[] = { MISSING_GUID };

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)state;
    (void)core;
    (void)data;
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Dependency missing";
    info->author = "pyhost developers";
    info->description = "Depends on a guid that no plugin has";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->dependencies = dependencies;
    info->numDependencies = 1;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
