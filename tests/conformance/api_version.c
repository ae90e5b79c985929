/*
 * A valid plugin in every respect but MetaData.apiVersion, which is PLUGIN_API_VERSION
 * (given on the compiler's command line). The reference loads a plugin only when the
 * version equals 8, so one built for a newer API is refused as surely as an older one.
 * main records that it ran in a setting: a conforming host never calls it.
 */
#include <stddef.h>

#include "dcplugin.h"

#ifndef PLUGIN_API_VERSION
#  error "build with -DPLUGIN_API_VERSION=N"
#endif

#define PLUGIN_GUID "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c5}"

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    if (state <= ON_LOAD_RUNTIME && core) {
        DCConfigPtr config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
        ConfigBool yes = {CFG_TYPE_BOOL, True};
        if (config)
            config->set_cfg(PLUGIN_GUID, "main_ran", (ConfigValuePtr)&yes);
    }
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "API version";
    info->author = "pyhost tests";
    info->description = "Declares an apiVersion other than 8";
    info->web = "";
    info->guid = PLUGIN_GUID;
    info->dependencies = NULL;
    info->numDependencies = 0;
    info->apiVersion = PLUGIN_API_VERSION;
    info->version = 1.0;
    return plugin_main;
}
