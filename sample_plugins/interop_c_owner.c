/*
 * interop_c_owner -- the C side that Python plugins use: creates and fires a hook, and
 * registers an interface (see interop.h for the whole picture).
 *
 * Behaviour the tests rely on (settings under this plugin's guid):
 *   - Load: creates hook sample.interop.onPing (object NULL, data StringData*), binds its own
 *     subscriber to it first, binds dcpp.chat.onIncomingChat, registers sample.interop.CMath
 *     v1 = { mul(a, b) = a * b; name() = "C math" }. Any failure undoes the rest: False.
 *   - Its onPing subscriber increments INT "c_calls"; for the text "c-break" it sets *bBreak
 *     and returns True (handled); otherwise False.
 *   - Chat "!ping TEXT": fires onPing with StringData { in = TEXT, out = NULL } and, as the
 *     host of that event, copies the result: INT "pings" += 1, BOOL "ping_handled" = the
 *     result, STRING "ping_out" = out, or "(null)" when no subscriber set it. The subscriber
 *     that set out owns that string: this plugin only reads it. Returns True (consumed).
 *   - Unload: releases its subscriptions, destroys the hook, releases the interface.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dcplugin.h"
#include "interop.h"

#define PLUGIN_GUID INTEROP_C_OWNER_GUID
#define PING_COMMAND "!ping "

static DCCorePtr host_core;
static DCHooksPtr hooks;
static DCConfigPtr config;
static hookHandle ping_hook;
static subsHandle on_ping;
static subsHandle on_chat;
static intfHandle cmath_handle;

static int DCAPI cmath_mul(int a, int b) { return a * b; }
static const char* DCAPI cmath_name(void) { return "C math"; }
static InteropCMath cmath = { INTEROP_CMATH_VER, cmath_mul, cmath_name };

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

static void set_bool(const char* setting, Bool v)
{
    ConfigBool value = { CFG_TYPE_BOOL, v };
    config->set_cfg(PLUGIN_GUID, setting, (ConfigValuePtr)&value);
}

static void set_string(const char* setting, const char* v)
{
    ConfigStr value = { CFG_TYPE_STRING, v };
    config->set_cfg(PLUGIN_GUID, setting, (ConfigValuePtr)&value);
}

static Bool DCAPI on_ping_first(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    StringData* ping = data;
    set_int("c_calls", get_int("c_calls") + 1);
    if (ping && ping->in && strcmp(ping->in, "c-break") == 0) {
        *bBreak = True;
        return True;
    }
    return False;
}

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    const char* message = data;
    if (!message || strncmp(message, PING_COMMAND, strlen(PING_COMMAND)) != 0)
        return False;

    StringData ping = { message + strlen(PING_COMMAND), NULL };
    Bool handled = hooks->run_hook(ping_hook, NULL, &ping);
    /* The host's part: copy out now; the subscriber that allocated it keeps ownership. */
    set_int("pings", get_int("pings") + 1);
    set_bool("ping_handled", handled);
    set_string("ping_out", ping.out ? ping.out : "(null)");
    return True;
}

static Bool on_unload(void)
{
    if (hooks) {
        if (on_chat)
            hooks->release_hook(on_chat);
        if (on_ping)
            hooks->release_hook(on_ping);
        if (ping_hook)
            hooks->destroy_hook(ping_hook);
    }
    if (host_core && cmath_handle)
        host_core->release_interface(cmath_handle);
    on_chat = on_ping = NULL;
    ping_hook = NULL;
    cmath_handle = NULL;
    hooks = NULL;
    config = NULL;
    host_core = NULL;
    return True;
}

static Bool on_load(DCCorePtr core)
{
    host_core = core;
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    if (!hooks || !config) {
        on_unload();
        return False;
    }
    ping_hook = hooks->create_hook(INTEROP_PING_HOOK, NULL);
    on_ping = ping_hook ? hooks->bind_hook(INTEROP_PING_HOOK, on_ping_first, NULL) : NULL;
    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    cmath_handle = core->register_interface(INTEROP_CMATH_INTF, &cmath);
    if (!ping_hook || !on_ping || !on_chat || !cmath_handle) {
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
    info->name = "Interop C owner";
    info->author = "pyhost developers";
    info->description = "Creates and fires sample.interop.onPing, registers sample.interop.CMath";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
