/*
 * interop_c_user -- a C plugin that depends on a Python plugin (interop_py): it binds the
 * hook the Python plugin created, calls the interface table the Python plugin registered,
 * and subscribes to the C owner's hook after the Python subscriber (see interop.h).
 *
 * Behaviour the tests rely on (settings under this plugin's guid):
 *   - MetaData.dependencies = { interop_py's guid }.
 *   - Load fails (False) unless has_plugin(interop_py) is True and query_interface(
 *     "sample.python.Calculator", 1) gives a table; then INT "sum" = add(40, 2) and STRING
 *     "described" = describe(7) (copied at once: the string belongs to the provider). Then
 *     binds sample.python.onGreeting and sample.interop.onPing; False if either fails.
 *   - onGreeting (data char* name): INT "greetings" += 1, STRING "last_greeting" = name;
 *     returns True (handled) for "handle"; sets *bBreak (not handled) for "stop".
 *   - onPing (data StringData*): INT "tail_calls" += 1; returns True for the text
 *     "tail-handles", otherwise False.
 *   - Unload: releases both subscriptions.
 */
#include <stddef.h>
#include <string.h>

#include "dcplugin.h"
#include "interop.h"

#define PLUGIN_GUID INTEROP_C_USER_GUID

static const char* dependencies[] = { INTEROP_PY_GUID };

static DCHooksPtr hooks;
static DCConfigPtr config;
static subsHandle on_greeting;
static subsHandle on_ping;

static int32_t get_int(const char* setting)
{
    int32_t result = 0;
    ConfigValuePtr value = config->get_cfg(PLUGIN_GUID, setting, CFG_TYPE_INT);
    if (value) {
        if (value->type == CFG_TYPE_INT)
            result = ((ConfigIntPtr)value)->value;
        config->release(value);
    }
    return result;
}

static void set_int(const char* setting, int32_t v)
{
    ConfigInt value = { CFG_TYPE_INT, v };
    config->set_cfg(PLUGIN_GUID, setting, (ConfigValuePtr)&value);
}

static void set_string(const char* setting, const char* v)
{
    ConfigStr value = { CFG_TYPE_STRING, v };
    config->set_cfg(PLUGIN_GUID, setting, (ConfigValuePtr)&value);
}

static Bool DCAPI on_greeting_hook(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    const char* name = data;
    set_int("greetings", get_int("greetings") + 1);
    set_string("last_greeting", name ? name : "(null)");
    if (name && strcmp(name, "stop") == 0) {
        *bBreak = True;
        return False;
    }
    return (name && strcmp(name, "handle") == 0) ? True : False;
}

static Bool DCAPI on_ping_tail(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    StringData* ping = data;
    set_int("tail_calls", get_int("tail_calls") + 1);
    return (ping && ping->in && strcmp(ping->in, "tail-handles") == 0) ? True : False;
}

static Bool on_unload(void)
{
    if (hooks) {
        if (on_greeting)
            hooks->release_hook(on_greeting);
        if (on_ping)
            hooks->release_hook(on_ping);
    }
    on_greeting = on_ping = NULL;
    hooks = NULL;
    config = NULL;
    return True;
}

static Bool on_load(DCCorePtr core)
{
    if (core->has_plugin(INTEROP_PY_GUID) != True)
        return False;
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    const InteropCalculator* calc =
        (const InteropCalculator*)core->query_interface(INTEROP_CALC_INTF, INTEROP_CALC_VER);
    if (!hooks || !config || !calc || !calc->add || !calc->describe) {
        on_unload();
        return False;
    }
    set_int("sum", calc->add(40, 2));
    const char* described = calc->describe(7);
    set_string("described", described ? described : "(null)");

    on_greeting = hooks->bind_hook(INTEROP_GREETING_HOOK, on_greeting_hook, NULL);
    on_ping = hooks->bind_hook(INTEROP_PING_HOOK, on_ping_tail, NULL);
    if (!on_greeting || !on_ping) {
        on_unload();
        return False;
    }
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
    info->name = "Interop C user";
    info->author = "pyhost developers";
    info->description = "Depends on a Python plugin; binds its hook and calls its interface";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->dependencies = dependencies;
    info->numDependencies = 1;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
