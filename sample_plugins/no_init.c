/*
 * no_init -- a shared library that is not a plugin: it exports `plugin_init` (a plausible
 * misspelling) but no `pluginInit`. Demonstrates the host's missing-entry-point check.
 *
 * Behaviour the tests rely on: dlsym(handle, "pluginInit") fails; "plugin_init" exists and
 * would otherwise behave like a valid plugin's pluginInit (guid ...0008, apiVersion 8).
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000008}"

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)state;
    (void)core;
    (void)data;
    return True;
}

/* Wrong name on purpose; there is no pluginInit in this library. */
DCEXP DCMAIN DCAPI plugin_init(MetaDataPtr info);

DCEXP DCMAIN DCAPI plugin_init(MetaDataPtr info)
{
    info->name = "No init";
    info->author = "pyhost developers";
    info->description = "Exports plugin_init instead of pluginInit";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
