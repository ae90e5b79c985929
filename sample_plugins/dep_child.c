/*
 * dep_child -- the consumer half of the dependency samples: declares dep_base as a
 * dependency in MetaData and uses the interface dep_base registered.
 *
 * Behaviour the tests rely on: MetaData.dependencies = { dep_base's guid }, numDependencies 1.
 * A load state fails (False) unless core->has_plugin(dep_base's guid) is True and
 * query_interface("sample.depbase.Greeter", 1) returns a table whose add(2, 3) == 5, or if
 * DCHooks 8 is missing / the bind fails. Then it binds dcpp.chat.onIncomingChat, returning
 * True (handled) for the exact message "!child" and False otherwise. ON_UNLOAD / ON_UNINSTALL
 * release the subscription and return True.
 */
#include <stddef.h>
#include <string.h>

#include "dcplugin.h"
#include "depbase_greeter.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000006}"

static const char* dependencies[] = { DEPBASE_GUID };

static DCHooksPtr hooks;
static subsHandle on_chat;

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)common;
    (void)bBreak;
    const char* message = data;
    return (message && strcmp(message, "!child") == 0) ? True : False;
}

static Bool on_load(DCCorePtr core)
{
    if (core->has_plugin(DEPBASE_GUID) != True)
        return False;
    DepBaseGreeterPtr greeter =
        (DepBaseGreeterPtr)core->query_interface(DEPBASE_GREETER_INTF, DEPBASE_GREETER_VER);
    if (!greeter || !greeter->add || greeter->add(2, 3) != 5)
        return False;

    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    if (!hooks)
        return False;
    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    return on_chat ? True : False;
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
        if (on_chat)
            hooks->release_hook(on_chat);
        on_chat = NULL;
        hooks = NULL;
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Dependency child";
    info->author = "pyhost developers";
    info->description = "Depends on dep_base and uses its sample.depbase.Greeter interface";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->dependencies = dependencies;
    info->numDependencies = 1;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
