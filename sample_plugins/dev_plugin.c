/*
 * dev_plugin -- the well-behaved plugin: uses DCHooks, DCConfig and DCLog the way a real
 * plugin does, handles every lifecycle state and releases everything it took. Built twice
 * from this source: dev_plugin (version 1.0) and dev_plugin_v2 (DEV_PLUGIN_VERSION=2.0, same
 * guid) so the loader's update path can be tested.
 *
 * Behaviour the tests rely on (all settings are stored under this plugin's guid):
 *   - ON_INSTALL / ON_LOAD / ON_LOAD_RUNTIME: fails (False) if DCHooks 8, DCConfig 1 or
 *     DCLog 1 is missing, or if a hook cannot be bound (what was bound is released first).
 *     Otherwise logs "Dev plugin <version> loaded (<state>)", increments INT64 "loads"
 *     (missing reads as 0), sets STRING "last_state" to <state> = "install" / "load" /
 *     "load_runtime", and STRING "config_path" to get_path(PATH_USER_CONFIG).
 *   - dcpp.chat.onIncomingChat: increments INT "chat_seen"; returns True (handled) only for
 *     the exact message "!version". The increment is a plain read-modify-write through the
 *     host's config, so it is not atomic under concurrent dispatch.
 *   - dcpp.timer.onSecond: stores the tick (*(uint64_t*)data) in INT64 "last_tick".
 *   - ON_CONFIGURE: sets BOOL "configured" = True and logs "configure requested".
 *   - ON_UNLOAD / ON_UNINSTALL: releases both subscriptions, logs "unloading" /
 *     "uninstalling", returns True.
 *   - Every ConfigValue/ConfigStr the host returns is given back with DCConfig.release.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"

#ifndef DEV_PLUGIN_VERSION
#define DEV_PLUGIN_VERSION 1.0
#endif
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define VERSION_TEXT STRINGIFY(DEV_PLUGIN_VERSION)

static DCHooksPtr hooks;
static DCConfigPtr config;
static DCLogPtr logger;
static subsHandle on_chat;
static subsHandle on_second;

/* ---- settings helpers: every value from get_cfg is released on every path ------------- */

static int64_t get_int64(const char* setting)
{
    int64_t result = 0;
    ConfigValuePtr value = config->get_cfg(PLUGIN_GUID, setting, CFG_TYPE_INT64);
    if (value) {
        if (value->type == CFG_TYPE_INT64)
            result = ((ConfigInt64Ptr)value)->value;
        config->release(value);
    }
    return result;
}

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

static void set_int64(const char* setting, int64_t v)
{
    ConfigInt64 value = { CFG_TYPE_INT64, v };
    config->set_cfg(PLUGIN_GUID, setting, (ConfigValuePtr)&value);
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

/* ---- hook subscribers ----------------------------------------------------------------- */

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    const char* message = data;
    set_int("chat_seen", get_int("chat_seen") + 1);
    return (message && strcmp(message, "!version") == 0) ? True : False;
}

static Bool DCAPI on_timer_second(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    if (data)
        set_int64("last_tick", (int64_t)*(const uint64_t*)data);
    return False;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void release_subscriptions(void)
{
    if (on_chat)
        hooks->release_hook(on_chat);
    if (on_second)
        hooks->release_hook(on_second);
    on_chat = NULL;
    on_second = NULL;
}

static void forget_interfaces(void)
{
    hooks = NULL;
    config = NULL;
    logger = NULL;
}

static Bool on_load(DCCorePtr core, const char* state_name)
{
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    if (!hooks || !config || !logger) {
        forget_interfaces();
        return False;
    }

    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    on_second = hooks->bind_hook(HOOK_TIMER_SECOND, on_timer_second, NULL);
    if (!on_chat || !on_second) {
        release_subscriptions();
        forget_interfaces();
        return False;
    }

    char line[128];
    snprintf(line, sizeof line, "Dev plugin %s loaded (%s)", VERSION_TEXT, state_name);
    logger->log(line);

    set_int64("loads", get_int64("loads") + 1);
    set_string("last_state", state_name);

    ConfigStrPtr path = config->get_path(PATH_USER_CONFIG);
    if (path) {
        if (path->type == CFG_TYPE_STRING && path->value)
            set_string("config_path", path->value);
        config->release((ConfigValuePtr)path);
    }
    return True;
}

static Bool on_configure(DCCorePtr core)
{
    if (!config && core)
        config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    if (!logger && core)
        logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    if (!config || !logger)
        return False;
    set_bool("configured", True);
    logger->log("configure requested");
    return True;
}

static Bool on_unload(const char* message)
{
    if (hooks)
        release_subscriptions();
    if (logger)
        logger->log(message);
    forget_interfaces();
    return True;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
        return on_load(core, "install");
    case ON_LOAD:
        return on_load(core, "load");
    case ON_LOAD_RUNTIME:
        return on_load(core, "load_runtime");
    case ON_CONFIGURE:
        return on_configure(core);
    case ON_UNLOAD:
        return on_unload("unloading");
    case ON_UNINSTALL:
        return on_unload("uninstalling");
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Dev plugin";
    info->author = "pyhost developers";
    info->description = "Well-behaved development plugin: hooks, settings, logging, lifecycle";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = DEV_PLUGIN_VERSION;
    return plugin_main;
}
