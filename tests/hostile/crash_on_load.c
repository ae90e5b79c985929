/*
 * crash_on_load -- a hostile plugin: it installs fine (ON_INSTALL returns True), then
 * crashes the whole process with a segmentation fault in ON_LOAD and ON_LOAD_RUNTIME.
 * The host must remember that it died there, skip it at the next start, show it as
 * `crashed`, and let it be removed without running it again.
 */
#include <stddef.h>

#include "dcplugin.h"

#ifndef PLUGIN_GUID
#define PLUGIN_GUID "{0bad0bad-0000-4000-8000-00000000c0de}"
#endif

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)core;
    (void)data;
    if (state == ON_LOAD || state == ON_LOAD_RUNTIME) {
        volatile int *nowhere = NULL;
        *nowhere = 1; /* SIGSEGV */
    }
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Crash on load";
    info->author = "pyhost tests";
    info->description = "Segfaults in ON_LOAD";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
