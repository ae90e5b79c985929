/*
 * no_guid -- pluginInit fills every MetaData field except guid (left NULL, as the host
 * zero-filled it) and returns a working main. Demonstrates the host's MetaData validation.
 *
 * Behaviour the tests rely on: MetaData.guid == NULL, everything else valid (apiVersion 8);
 * main returns True for every state. (Its reserved guid, ...0010, is deliberately not set.)
 */
#include <stddef.h>

#include "dcplugin.h"

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)state;
    (void)core;
    (void)data;
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "No guid";
    info->author = "pyhost developers";
    info->description = "Leaves MetaData.guid NULL";
    info->web = "https://example.invalid/pyhost";
    /* info->guid deliberately left as the host set it (NULL). */
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
