/*
 * dep_cycle_a -- one half of a dependency cycle: depends on dep_cycle_b,
 * which depends on this plugin. Demonstrates that the loader must detect the cycle instead of
 * loading either plugin (or recursing forever).
 *
 * Behaviour the tests rely on: MetaData.dependencies = { "...0013" } (numDependencies 1),
 * guid ...0012; main returns True for every state (the cycle is the only fault).
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000012}"
#define OTHER_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000013}"

static const char* dependencies[] = { OTHER_GUID };

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)state;
    (void)core;
    (void)data;
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Dependency cycle A";
    info->author = "pyhost developers";
    info->description = "Depends on Dependency cycle B, which depends on it";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->dependencies = dependencies;
    info->numDependencies = 1;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
