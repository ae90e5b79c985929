/*
 * A plugin that, like one embedding Lua, opens a module library at load time which calls
 * back into a function the plugin exports (as a Lua C module calls lua_pushstring). The
 * module has no DT_NEEDED on the plugin: it finds the symbol only because the reference
 * host opens plugins with RTLD_GLOBAL. The result, or dlerror(), goes to the settings
 * "module_says" / "module_error". The module is global_module.so next to the plugin.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c4}"

DCEXP const char* pyhost_test_plugin_symbol(void)
{
    return "hello from the plugin";
}

static void store(DCConfigPtr config, const char* key, const char* value)
{
    ConfigStr v = {CFG_TYPE_STRING, value};
    config->set_cfg(PLUGIN_GUID, key, (ConfigValuePtr)&v);
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    if (state != ON_INSTALL && state != ON_LOAD && state != ON_LOAD_RUNTIME)
        return True;
    DCConfigPtr config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    if (!config)
        return False;
    ConfigStrPtr dir = config->get_install_path(PLUGIN_GUID);
    char path[4096];
    snprintf(path, sizeof path, "%sglobal_module.so", dir->value);
    config->release((ConfigValuePtr)dir);
    void* module = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* what Lua's require does */
    if (!module) {
        store(config, "module_error", dlerror());
        return True;
    }
    const char* (*entry)(void) = (const char* (*)(void))dlsym(module, "module_entry");
    store(config, "module_says", entry ? entry() : "no module_entry");
    dlclose(module);
    return True;
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Global symbols";
    info->author = "pyhost tests";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
