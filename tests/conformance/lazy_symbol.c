/*
 * A plugin that calls a function defined nowhere, on a path that never runs (ON_CONFIGURE,
 * which the test never sends). The reference host opens plugins with RTLD_LAZY, so it
 * loads there; a host that binds everything at dlopen (RTLD_NOW) refuses it.
 */
#include "dcplugin.h"

extern int pyhost_test_defined_nowhere(void);

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)core;
    (void)data;
    if (state == ON_CONFIGURE)
        return pyhost_test_defined_nowhere() ? True : False;
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Lazy symbol";
    info->author = "pyhost tests";
    info->guid = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c3}";
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
