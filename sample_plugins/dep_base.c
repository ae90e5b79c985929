/*
 * dep_base -- the provider half of the dependency samples: registers a plugin-defined
 * interface through DCCore so that another plugin (dep_child) can depend on it.
 *
 * Behaviour the tests rely on: on any load state registers "sample.depbase.Greeter" version 1
 * = { apiVersion = 1; add(a, b) = a + b } and fails (False) if register_interface returns NULL;
 * on ON_UNLOAD / ON_UNINSTALL releases the interface with release_interface(the handle it got)
 * and returns True.
 */
#include <stddef.h>
#include <stdint.h>

#include "dcplugin.h"
#include "depbase_greeter.h"

#define PLUGIN_GUID DEPBASE_GUID

/* The provider's own definition of the table; depbase_greeter.h has the consumers' copy. */
typedef struct GreeterTable {
    uint32_t apiVersion;
    int (DCAPI* add)(int a, int b);
} GreeterTable;

_Static_assert(sizeof(GreeterTable) == sizeof(DepBaseGreeter), "Greeter layout drifted");
_Static_assert(offsetof(GreeterTable, apiVersion) == offsetof(DepBaseGreeter, apiVersion),
               "Greeter layout drifted");
_Static_assert(offsetof(GreeterTable, add) == offsetof(DepBaseGreeter, add),
               "Greeter layout drifted");

static int DCAPI greeter_add(int a, int b)
{
    return a + b;
}

static GreeterTable greeter = { DEPBASE_GREETER_VER, greeter_add };

static DCCorePtr host_core;
static intfHandle greeter_handle;

static Bool on_load(DCCorePtr core)
{
    greeter_handle = core->register_interface(DEPBASE_GREETER_INTF, &greeter);
    if (!greeter_handle)
        return False;
    host_core = core; /* ON_UNLOAD gets no core: keep the one that holds the registration */
    return True;
}

static Bool on_unload(void)
{
    if (host_core && greeter_handle)
        host_core->release_interface(greeter_handle);
    greeter_handle = NULL;
    host_core = NULL;
    return True;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        return on_load(core);
    case ON_UNLOAD:
    case ON_UNINSTALL:
        return on_unload();
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Dependency base";
    info->author = "pyhost developers";
    info->description = "Registers the sample.depbase.Greeter interface for dep_child";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
