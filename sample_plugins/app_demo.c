/*
 * app_demo -- a plugin that uses the application-provided interfaces: DCHub, DCQueue,
 * DCTagger and DCUI (and DCConnection, DCDataAccess), and subscribes to every standard hook.
 * It shows the ownership rules: every copy it gets (add_hub, find_hub, find_user, get_user,
 * add_list, add_download, find_download, copy, copy_user) is given back with release /
 * release_user, and the text it hands back through StringData.out stays its own (freed on
 * the next call and at unload).
 *
 * Interfaces other than DCHooks and DCLog are optional: one that the host does not offer is
 * reported at load ("<interface> is not available") and its features are skipped.
 *
 * Behaviour the tests rely on (hub = the event's HubData):
 *   dcpp.chat.onIncomingChat  "!ping" -> DCHub.send_message(hub, "pong", False). Keeps a copy
 *                             of the last hub seen (released when replaced and at unload).
 *   dcpp.chat.onIncomingPM    "!whoami" -> send_private_message(copy of the user,
 *                             "you are <nick> (<cid>)", False); handled.
 *   dcpp.hubs.onOnline        local_message(hub, "App demo greets <url>", MSG_STATUS).
 *   dcpp.network.onClientDataIn  "$Ping" -> DCConnection.send_protocol_cmd(conn, "$Pong|"),
 *                             then get_user(conn) logged as "client <nick>" and released;
 *                             "$Bye" -> terminate_conn(conn, True). Both handled.
 *   dcpp.network.onUDPDataIn  payload starting with "PING" -> send_udp_data(ip, port, "PONG").
 *   dcpp.queue.onFinished     DCUI.notify("Download finished", <target>).
 *   dcpp.ui.onChatTags        every http:// or https:// URL tagged "a" with
 *                             href="<url>"; then each "(c)" replaced with the copyright sign.
 *   dcpp.ui.onChatDisplay     text containing "secret": handled, out = the text with every
 *                             "secret" masked as "******".
 *   dcpp.ui.onChatCommand     /echo TEXT, /me TEXT (third person), /raw CMD, /emulate CMD,
 *                             /join URL, /leave URL, /get TTH SIZE TARGET, /pause TARGET,
 *                             /prio TARGET N, /drop TARGET, /list CID, /beep, /fetch URI PATH,
 *                             /trace on|off -- each handled, anything else not handled.
 *   dcpp.ui.onChatCommandPM   /whois -> send_private_message(user, "<nick> <cid> on <hub>").
 *   dcpp.dataaccessor.onHTTPResourceNotification  copies the DataArray, logs
 *                             "received <n> bytes: <text>", releases the copy.
 *   DCUI command "Queue summary" (added at load, removed at unload): notify("App demo",
 *                             "<name> clicked").
 *   Setting "trace" (BOOL, kept as "1" / "0"; or /trace on): when "1", every standard hook
 *   logs one line describing the object and data it received, e.g.
 *   "chat.onIncomingChat adc://hub: hello".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"
#define UI_COMMAND "Queue summary"

static DCHooksPtr hooks;
static DCLogPtr logger;
static DCConfigPtr config;
static DCHubPtr hub_if;
static DCQueuePtr queue_if;
static DCTaggerPtr tagger;
static DCUIPtr ui;
static DCConnectionPtr conn_if;
static DCDataAccessPtr data_if;

static Bool trace;
static HubDataPtr last_hub;   /* a copy: ours until released */
static char* display_out;     /* what we handed back in StringData.out */

/* ---- helpers ---------------------------------------------------------------------------- */

static void logf_(const char* format, ...)
{
    char line[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (logger)
        logger->log(line);
}

static const char* text(const char* s)
{
    return s ? s : "(null)";
}

static int starts_with(const char* s, const char* prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits "first rest" in place: returns first, *rest points after the space (or ""). */
static char* split(char* s, char** rest)
{
    char* space = strchr(s, ' ');
    if (space) {
        *space = '\0';
        *rest = space + 1;
    } else {
        *rest = s + strlen(s);
    }
    return s;
}

static void status(HubDataPtr hub, const char* format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (hub_if && hub)
        hub_if->local_message(hub, line, MSG_STATUS);
}

/* ---- the hooks ---------------------------------------------------------------------------- */

enum kind { K_CHAT, K_PM, K_TIMER, K_HUB, K_USER, K_HUBLINE, K_CONNLINE, K_UDP, K_QUEUE,
            K_CREATED, K_TAGS, K_DISPLAY, K_COMMAND, K_COMMAND_PM, K_DATA };

typedef struct hook_def {
    const char* guid;
    enum kind kind;
    subsHandle sub;
} hook_def;

static hook_def hook_defs[] = {
    { HOOK_CHAT_IN, K_CHAT, NULL },           { HOOK_CHAT_OUT, K_CHAT, NULL },
    { HOOK_CHAT_PM_IN, K_PM, NULL },          { HOOK_CHAT_PM_OUT, K_PM, NULL },
    { HOOK_TIMER_SECOND, K_TIMER, NULL },     { HOOK_TIMER_MINUTE, K_TIMER, NULL },
    { HOOK_HUB_ONLINE, K_HUB, NULL },         { HOOK_HUB_OFFLINE, K_HUB, NULL },
    { HOOK_USER_ONLINE, K_USER, NULL },       { HOOK_USER_OFFLINE, K_USER, NULL },
    { HOOK_NETWORK_HUB_IN, K_HUBLINE, NULL }, { HOOK_NETWORK_HUB_OUT, K_HUBLINE, NULL },
    { HOOK_NETWORK_CONN_IN, K_CONNLINE, NULL }, { HOOK_NETWORK_CONN_OUT, K_CONNLINE, NULL },
    { HOOK_NETWORK_UDP_IN, K_UDP, NULL },     { HOOK_NETWORK_UDP_OUT, K_UDP, NULL },
    { HOOK_QUEUE_ADDED, K_QUEUE, NULL },      { HOOK_QUEUE_MOVED, K_QUEUE, NULL },
    { HOOK_QUEUE_REMOVED, K_QUEUE, NULL },    { HOOK_QUEUE_FINISHED, K_QUEUE, NULL },
    { HOOK_UI_CREATED, K_CREATED, NULL },     { HOOK_UI_CHAT_TAGS, K_TAGS, NULL },
    { HOOK_UI_CHAT_DISPLAY, K_DISPLAY, NULL },
    { HOOK_UI_PROCESS_CHAT_CMD, K_COMMAND, NULL },
    { HOOK_UI_PROCESS_CHAT_CMD_PM, K_COMMAND_PM, NULL },
    { HOOK_DATA_HTTP_NOTIFY, K_DATA, NULL },  { HOOK_DATA_HTTP_NOTIFY_FAILED, K_DATA, NULL },
    { HOOK_DATA_HTTP_STREAM, K_DATA, NULL },
};
#define HOOK_COUNT (sizeof hook_defs / sizeof hook_defs[0])

/* "dcpp.chat.onIncomingChat" -> "chat.onIncomingChat" */
static const char* short_name(const char* guid)
{
    return starts_with(guid, "dcpp.") ? guid + 5 : guid;
}

static void trace_event(const hook_def* def, dcptr_t object, dcptr_t data)
{
    const char* name = short_name(def->guid);
    HubDataPtr hub = object;
    UserDataPtr user = object;
    switch (def->kind) {
    case K_CHAT:
    case K_HUBLINE:
        logf_("%s %s: %s", name, hub ? text(hub->url) : "-", text(data));
        break;
    case K_PM:
        logf_("%s %s: %s", name, user ? text(user->nick) : "-", text(data));
        break;
    case K_TIMER:
        logf_("%s %" PRIu64, name, data ? *(const uint64_t*)data : 0);
        break;
    case K_HUB:
        if (hub)
            logf_("%s %s %s:%u protocol=%d op=%d secure=%d managed=%d", name, text(hub->url),
                  text(hub->ip), hub->port, hub->protocol, hub->isOp, hub->isSecure,
                  hub->isManaged);
        break;
    case K_USER:
        if (user)
            logf_("%s %s %s @%s sid=%" PRIu32 " protocol=%d op=%d managed=%d", name,
                  text(user->nick), text(user->cid), text(user->hubHint), user->sid,
                  user->protocol, user->isOp, user->isManaged);
        break;
    case K_CONNLINE: {
        ConnectionDataPtr conn = object;
        if (conn)
            logf_("%s %s:%u: %s", name, text(conn->ip), conn->port, text(data));
        break;
    }
    case K_UDP: {
        UDPDataPtr udp = object;
        if (udp)
            logf_("%s %s:%u: %s", name, text(udp->ip), udp->port, text(data));
        break;
    }
    case K_QUEUE: {
        QueueDataPtr item = object;
        if (item)
            logf_("%s %s size=%" PRIu64 " list=%d hash=%s", name, text(item->target),
                  item->size, item->isFileList, text(item->hash));
        break;
    }
    case K_CREATED:
        logf_("%s", name);
        break;
    case K_TAGS: {
        TagDataPtr tags = data;
        logf_("%s %s: %s", name, user ? text(user->nick) : "-",
              (tagger && tags) ? text(tagger->get_text(tags)) : "-");
        break;
    }
    case K_DISPLAY: {
        StringDataPtr s = data;
        logf_("%s %s: %s", name, user ? text(user->nick) : "-", s ? text(s->in) : "-");
        break;
    }
    case K_COMMAND:
    case K_COMMAND_PM: {
        CommandDataPtr cmd = data;
        const char* who = def->kind == K_COMMAND ? (hub ? hub->url : NULL)
                                                 : (user ? user->nick : NULL);
        if (cmd)
            logf_("%s %s: command=%s params=%s", name, text(who), text(cmd->command),
                  text(cmd->params));
        break;
    }
    case K_DATA: {
        DataArrayPtr array = data;
        if (array)
            logf_("%s %" PRIu64 " bytes: %.*s", name, array->size,
                  (int)(array->size > 200 ? 200 : array->size), (const char*)array->pData);
        break;
    }
    }
}

static Bool on_chat(const hook_def* def, HubDataPtr hub, const char* message)
{
    if (def->kind != K_CHAT || strcmp(def->guid, HOOK_CHAT_IN) != 0 || !hub || !hub_if)
        return False;
    if (last_hub)
        hub_if->release(last_hub);
    last_hub = hub_if->copy(hub);
    if (message && strcmp(message, "!ping") == 0)
        hub_if->send_message(hub, "pong", False);
    return False;
}

static Bool on_pm(const hook_def* def, UserDataPtr user, const char* message)
{
    if (strcmp(def->guid, HOOK_CHAT_PM_IN) != 0 || !user || !hub_if)
        return False;
    if (message && strcmp(message, "!whoami") == 0) {
        UserDataPtr copy = hub_if->copy_user(user);
        if (copy) {
            char reply[256];
            snprintf(reply, sizeof reply, "you are %s (%s)", text(copy->nick), text(copy->cid));
            hub_if->send_private_message(copy, reply, False);
            hub_if->release_user(copy);
        }
        return True;
    }
    return False;
}

static Bool on_client_line(const hook_def* def, ConnectionDataPtr conn, const char* line)
{
    if (strcmp(def->guid, HOOK_NETWORK_CONN_IN) != 0 || !conn || !conn_if || !line)
        return False;
    if (strcmp(line, "$Ping") == 0) {
        conn_if->send_protocol_cmd(conn, "$Pong|");
        UserDataPtr user = conn_if->get_user(conn);
        if (user) {
            logf_("client %s", text(user->nick));
            if (hub_if)
                hub_if->release_user(user);
        }
        return True;
    }
    if (strcmp(line, "$Bye") == 0) {
        conn_if->terminate_conn(conn, True);
        return True;
    }
    return False;
}

static Bool on_udp(const hook_def* def, UDPDataPtr udp, const char* payload)
{
    if (strcmp(def->guid, HOOK_NETWORK_UDP_IN) == 0 && udp && conn_if &&
        starts_with(payload, "PING")) {
        char pong[] = "PONG";
        conn_if->send_udp_data(udp->ip, udp->port, pong, 4);
    }
    return False;
}

static Bool on_tags(TagDataPtr tags)
{
    if (!tagger || !tags)
        return False;
    const char* t = tagger->get_text(tags);
    if (!t)
        return False;
    /* get_text's pointer is not ours to keep across replace_text: work on a copy. */
    size_t length = strlen(t);
    char* copy = malloc(length + 1);
    if (!copy)
        return False;
    memcpy(copy, t, length + 1);
    Bool any = False;
    for (const char* p = copy; (p = strstr(p, "http")) != NULL;) {
        if (!starts_with(p, "http://") && !starts_with(p, "https://")) {
            p += 4;
            continue;
        }
        size_t start = (size_t)(p - copy), end = start;
        while (copy[end] && copy[end] != ' ')
            end++;
        char attributes[600];
        snprintf(attributes, sizeof attributes, "href=\"%.*s\"", (int)(end - start), p);
        tagger->add_tag(tags, start, end, "a", attributes);
        any = True;
        p = copy + end;
    }
    /* Replace from the end so earlier positions stay valid. */
    for (char* p = copy + strlen(copy); p > copy;) {
        char* hit = NULL;
        for (char* q = copy; (q = strstr(q, "(c)")) != NULL && q < p; q++)
            hit = q;
        if (!hit)
            break;
        tagger->replace_text(tags, (size_t)(hit - copy), (size_t)(hit - copy) + 3, "\xc2\xa9");
        any = True;
        p = hit;
    }
    free(copy);
    return any;
}

static Bool on_display(StringDataPtr s)
{
    if (!s || !s->in || !strstr(s->in, "secret"))
        return False;
    size_t n = strlen(s->in);
    char* out = malloc(n + 1);
    if (!out)
        return False;
    memcpy(out, s->in, n + 1);
    for (char* p = out; (p = strstr(p, "secret")) != NULL; p += 6)
        memcpy(p, "******", 6);
    free(display_out); /* the host copied the previous one when it got it */
    display_out = out;
    s->out = out;
    return True;
}

static void on_ui_command(const char* name)
{
    char message[256];
    snprintf(message, sizeof message, "%s clicked", text(name));
    if (ui)
        ui->notify("App demo", message);
}

static void set_trace(Bool on)
{
    trace = on;
    if (config) {
        ConfigBool value = { CFG_TYPE_BOOL, on };
        config->set_cfg(PLUGIN_GUID, "trace", (ConfigValuePtr)&value);
    }
}

static Bool on_command(HubDataPtr hub, const char* command, const char* params_in)
{
    if (!command)
        return False;
    char params[512];
    snprintf(params, sizeof params, "%s", params_in ? params_in : "");
    char* rest;
    char* first = split(params, &rest);

    if (strcmp(command, "trace") == 0) {
        set_trace(strcmp(params, "on") == 0 ? True : False);
        logf_("trace %s", trace ? "on" : "off");
        return True;
    }
    if (strcmp(command, "beep") == 0 && ui) {
        ui->play_sound("beep.wav");
        return True;
    }
    if (strcmp(command, "fetch") == 0 && data_if) {
        data_if->get_http_resource(first, rest);
        return True;
    }
    if (hub_if && hub) {
        if (strcmp(command, "echo") == 0 || strcmp(command, "me") == 0) {
            hub_if->send_message(hub, params_in, command[0] == 'm' ? True : False);
            return True;
        }
        if (strcmp(command, "raw") == 0) {
            hub_if->send_protocol_cmd(hub, params_in);
            return True;
        }
        if (strcmp(command, "emulate") == 0) {
            hub_if->emulate_protocol_cmd(hub, params_in);
            return True;
        }
        if (strcmp(command, "join") == 0) {
            HubDataPtr joined = hub_if->add_hub(first, "demo", "");
            status(hub, joined ? "joined %s" : "could not join %s", first);
            if (joined)
                hub_if->release(joined);
            return True;
        }
        if (strcmp(command, "leave") == 0) {
            HubDataPtr found = hub_if->find_hub(first);
            if (found) {
                hub_if->remove_hub(found);
                hub_if->release(found);
            } else {
                status(hub, "not connected to %s", first);
            }
            return True;
        }
    }
    if (queue_if && hub) {
        if (strcmp(command, "get") == 0) {
            char* target;
            char* size_text = split(rest, &target);
            QueueDataPtr item = queue_if->add_download(first, strtoull(size_text, NULL, 10),
                                                      target);
            if (item) {
                status(hub, "queued %s", item->target);
                queue_if->release(item);
            } else {
                status(hub, "could not queue %s", target);
            }
            return True;
        }
        if (strcmp(command, "pause") == 0 || strcmp(command, "drop") == 0 ||
            strcmp(command, "prio") == 0) {
            QueueDataPtr item = queue_if->find_download(first);
            if (!item) {
                status(hub, "%s is not queued", first);
                return True;
            }
            if (command[0] == 'p' && command[1] == 'a')
                status(hub, queue_if->pause(item) ? "paused %s" : "resumed %s", item->target);
            else if (command[0] == 'd')
                queue_if->remove_download(item);
            else
                queue_if->set_priority(item, (QueuePrio)atoi(rest));
            queue_if->release(item);
            return True;
        }
        if (strcmp(command, "list") == 0 && hub_if) {
            UserDataPtr user = hub_if->find_user(first, hub->url);
            if (!user) {
                status(hub, "no user %s", first);
                return True;
            }
            QueueDataPtr list = queue_if->add_list(user, False);
            if (list) {
                status(hub, "file list of %s queued as %s", user->nick, list->target);
                queue_if->release(list);
            }
            hub_if->release_user(user);
            return True;
        }
    }
    return False;
}

static Bool DCAPI on_any(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)bBreak;
    const hook_def* def = common;
    if (trace)
        trace_event(def, object, data);
    switch (def->kind) {
    case K_CHAT:
        return on_chat(def, object, data);
    case K_PM:
        return on_pm(def, object, data);
    case K_HUB:
        if (strcmp(def->guid, HOOK_HUB_ONLINE) == 0 && object)
            status(object, "App demo greets %s", text(((HubDataPtr)object)->url));
        return False;
    case K_CONNLINE:
        return on_client_line(def, object, data);
    case K_UDP:
        return on_udp(def, object, data);
    case K_QUEUE:
        if (strcmp(def->guid, HOOK_QUEUE_FINISHED) == 0 && ui && object)
            ui->notify("Download finished", text(((QueueDataPtr)object)->target));
        return False;
    case K_TAGS:
        return on_tags(data);
    case K_DISPLAY:
        return on_display(data);
    case K_COMMAND: {
        CommandDataPtr cmd = data;
        return cmd ? on_command(object, cmd->command, cmd->params) : False;
    }
    case K_COMMAND_PM: {
        CommandDataPtr cmd = data;
        UserDataPtr user = object;
        if (cmd && user && hub_if && strcmp(text(cmd->command), "whois") == 0) {
            char reply[512];
            snprintf(reply, sizeof reply, "%s %s on %s", text(user->nick), text(user->cid),
                     text(user->hubHint));
            hub_if->send_private_message(user, reply, False);
            return True;
        }
        return False;
    }
    case K_DATA:
        if (strcmp(def->guid, HOOK_DATA_HTTP_NOTIFY) == 0 && data_if && data) {
            DataArrayPtr copy = data_if->copy(data);
            if (copy) {
                logf_("received %" PRIu64 " bytes: %.*s", copy->size,
                      (int)(copy->size > 200 ? 200 : copy->size), (const char*)copy->pData);
                data_if->release(copy);
            }
        }
        return False;
    default:
        return False;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void unbind_all(void)
{
    for (size_t i = 0; i < HOOK_COUNT; i++) {
        if (hook_defs[i].sub)
            hooks->release_hook(hook_defs[i].sub);
        hook_defs[i].sub = NULL;
    }
}

static void* want(DCCorePtr core, const char* guid, uint32_t version, const char* name)
{
    void* table = core->query_interface(guid, version);
    if (!table)
        logf_("%s is not available", name);
    return table;
}

static Bool on_load(DCCorePtr core)
{
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    logger = (DCLogPtr)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    if (!hooks || !logger)
        return False;
    config = want(core, DCINTF_CONFIG, DCINTF_CONFIG_VER, "DCConfig");
    hub_if = want(core, DCINTF_DCPP_HUBS, DCINTF_DCPP_HUBS_VER, "DCHub");
    queue_if = want(core, DCINTF_DCPP_QUEUE, DCINTF_DCPP_QUEUE_VER, "DCQueue");
    tagger = want(core, DCINTF_DCPP_TAGGER, DCINTF_DCPP_TAGGER_VER, "DCTagger");
    ui = want(core, DCINTF_DCPP_UI, DCINTF_DCPP_UI_VER, "DCUI");
    conn_if = want(core, DCINTF_DCPP_CONNECTIONS, DCINTF_DCPP_CONNECTIONS_VER, "DCConnection");
    data_if = want(core, DCINTF_DCPP_DATAACCESSOR, DCINTF_DCPP_DATAACCESSOR_VER,
                   "DCDataAccess");

    for (size_t i = 0; i < HOOK_COUNT; i++) {
        hook_defs[i].sub = hooks->bind_hook(hook_defs[i].guid, on_any, &hook_defs[i]);
        if (!hook_defs[i].sub) {
            logf_("cannot bind %s", hook_defs[i].guid);
            unbind_all();
            return False;
        }
    }
    trace = False;
    if (config) {
        /* Read as text: a setting never written reads "" -- as BOOL that is True (anything
         * but "0"), so "off unless set" needs the text, on only when it is "1". */
        ConfigValuePtr value = config->get_cfg(PLUGIN_GUID, "trace", CFG_TYPE_STRING);
        if (value) {
            const char* text = ((ConfigStrPtr)value)->value;
            trace = value->type == CFG_TYPE_STRING && text && strcmp(text, "1") == 0 ? True
                                                                                   : False;
            config->release(value);
        }
    }
    if (ui)
        ui->add_command(PLUGIN_GUID, UI_COMMAND, on_ui_command, "queue.ico");
    logf_("App demo loaded");
    return True;
}

static Bool on_unload(void)
{
    if (hooks)
        unbind_all();
    if (ui)
        ui->remove_command(PLUGIN_GUID, UI_COMMAND);
    if (last_hub && hub_if)
        hub_if->release(last_hub);
    last_hub = NULL;
    free(display_out);
    display_out = NULL;
    hooks = NULL;
    config = NULL;
    hub_if = NULL;
    queue_if = NULL;
    tagger = NULL;
    ui = NULL;
    conn_if = NULL;
    data_if = NULL;
    logger = NULL;
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
    case ON_CONFIGURE:
        logf_("App demo has no settings dialog; use: pyhost config %s trace true", PLUGIN_GUID);
        return True;
    case ON_UNLOAD:
    case ON_UNINSTALL:
        return on_unload();
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "App demo";
    info->author = "pyhost developers";
    info->description = "Uses DCHub, DCQueue, DCTagger, DCUI, DCConnection and DCDataAccess";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
