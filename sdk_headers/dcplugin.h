/*
 * dcplugin.h -- the DC plugin ABI, core version 8, as pyhost implements it.
 *
 * Include this header to write a plugin that loads in pyhost and in any other host of the
 * DC plugin API (DC++ and its forks). Every type, value and field order here is part of the
 * binary contract: a plugin built against the original SDK header runs unchanged against
 * pyhost, and tests/abi/ checks sizeof/offsetof of every struct and table on each target.
 * The behaviour behind each call is the reference host's (DC++); the comments below state
 * it, and docs/abi.md has all of it, with the few places where pyhost deliberately differs.
 *
 * A plugin is a shared library exporting one symbol:
 *     DCEXP DCMAIN DCAPI pluginInit(MetaData* info);
 * The host zero-fills `info`, calls pluginInit, and receives the plugin's main function.
 * It opens the library with dlopen(RTLD_LAZY | RTLD_GLOBAL). On 32-bit Windows the export
 * must be named exactly "pluginInit" (hosts use GetProcAddress): link with
 * -Wl,--add-stdcall-alias or a .def file, or the DLL exports only "pluginInit@4".
 */
#ifndef DCPLUGIN_H
#define DCPLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling convention and exports ------------------------------------------------ */

#if defined(_WIN32)
#  if defined(_WIN64)
#    define DCAPI
#  else
#    define DCAPI __stdcall
#  endif
#  define DCEXP __declspec(dllexport)
#else
#  if defined(STDCALL) && defined(__i386__)
#    define DCAPI __attribute__((stdcall))
#  else
#    define DCAPI
#  endif
#  define DCEXP __attribute__((visibility("default")))
#endif

/* The API version a plugin must put in MetaData.apiVersion (plugins built for 6 or 7 must
 * be rebuilt against this header: state numbers and several tables changed). */
#define DCAPI_CORE_VER 8

/* ---- scalar types ------------------------------------------------------------------ */

typedef enum Bool { False = 0, True = 1 } Bool;

typedef void* hookHandle;   /* a hook created with create_hook */
typedef void* subsHandle;   /* one subscription made with bind_hook */
typedef void* intfHandle;   /* one interface registered with register_interface */
typedef void* dcptr_t;      /* host-specific object */
typedef uint64_t dctime_t;

/* ---- enums (C enums are int-sized) ------------------------------------------------- */

typedef enum PluginState {
    ON_INSTALL = 0,       /* first load ever; replaces ON_LOAD that one time */
    ON_LOAD = 1,          /* load at host start-up */
    ON_LOAD_RUNTIME = 2,  /* load while the host is running */
    ON_CONFIGURE = 3,     /* the user asked to configure the plugin */
    ON_UNLOAD = 4,        /* about to be unloaded (core and data are NULL) */
    ON_UNINSTALL = 5      /* replaces ON_UNLOAD when the plugin is being removed */
} PluginState;

typedef enum ConfigType {
    CFG_TYPE_UNKNOWN = -2, /* only to read host settings with the guid "CoreSetup" */
    CFG_TYPE_REMOVE = -1,
    CFG_TYPE_STRING = 0,
    CFG_TYPE_INT = 1,
    CFG_TYPE_BOOL = 2,
    CFG_TYPE_INT64 = 3
} ConfigType;

typedef enum ProtocolType { PROTOCOL_ADC = 0, PROTOCOL_NMDC = 1, PROTOCOL_DHT = 2 } ProtocolType;

typedef enum PathType {
    PATH_GLOBAL_CONFIG = 0,
    PATH_USER_CONFIG = 1,
    PATH_USER_LOCAL = 2,
    PATH_RESOURCES = 3,
    PATH_LOCALE = 4
} PathType;

typedef enum MsgType { MSG_CLIENT = 0, MSG_STATUS = 1, MSG_SYSTEM = 2 } MsgType;

typedef enum QueuePrio {
    PRIO_DEFAULT = -1,
    PRIO_LOWEST = 1,
    PRIO_LOW = 2,
    PRIO_NORMAL = 3,
    PRIO_HIGH = 4,
    PRIO_HIGHEST = 5
} QueuePrio;

/* ---- data structs (field order is the ABI) ----------------------------------------- */

typedef struct MetaData {
    const char* name;
    const char* author;
    const char* description;
    const char* web;
    const char* guid;
    const char** dependencies;  /* guids that must be loaded before this plugin */
    uint32_t numDependencies;
    uint32_t apiVersion;        /* must be DCAPI_CORE_VER */
    double version;
} MetaData, *MetaDataPtr;

/* Every config value starts with its type. */
typedef struct ConfigValue { ConfigType type; } ConfigValue, *ConfigValuePtr;
typedef struct ConfigStr { ConfigType type; const char* value; } ConfigStr, *ConfigStrPtr;
typedef struct ConfigInt { ConfigType type; int32_t value; } ConfigInt, *ConfigIntPtr;
typedef struct ConfigBool { ConfigType type; Bool value; } ConfigBool, *ConfigBoolPtr;
typedef struct ConfigInt64 { ConfigType type; int64_t value; } ConfigInt64, *ConfigInt64Ptr;

/* `out` may be set by a subscriber to a string it allocated; the plugin keeps ownership. */
typedef struct StringData { const char* in; char* out; } StringData, *StringDataPtr;

typedef struct CommandData { const char* command; const char* params; } CommandData, *CommandDataPtr;

/* isManaged == False: the receiver holds a copy and must give it back with release*. */
typedef struct UserData {
    const char* nick;
    const char* hubHint;
    const char* cid;
    dcptr_t object;
    uint32_t sid;
    ProtocolType protocol;
    Bool isOp;
    Bool isManaged;
} UserData, *UserDataPtr;

typedef struct HubData {
    const char* url;
    const char* ip;
    dcptr_t object;
    uint16_t port;
    ProtocolType protocol;
    Bool isOp;
    Bool isSecure;
    Bool isManaged;
} HubData, *HubDataPtr;

typedef struct ConnectionData {
    const char* ip;
    dcptr_t object;
    uint16_t port;
    ProtocolType protocol;
    Bool isOp;
    Bool isSecure;
    Bool isManaged;
} ConnectionData, *ConnectionDataPtr;

typedef struct UDPData { const char* ip; uint16_t port; } UDPData, *UDPDataPtr;

typedef struct QueueData {
    const char* target;
    const char* location;
    const char* hash;
    dcptr_t object;
    uint64_t size;
    Bool isFileList;
    Bool isManaged;
} QueueData, *QueueDataPtr;

typedef struct TagData { dcptr_t object; Bool isManaged; } TagData, *TagDataPtr;

typedef struct DataArray { const void* pData; uint64_t size; } DataArray, *DataArrayPtr;

/* ---- function types ------------------------------------------------------------------ */

typedef struct DCCore DCCore, *DCCorePtr;

/* A hook subscriber (or a hook's default procedure). Set *bBreak to stop the dispatch. */
typedef Bool (DCAPI* DCHOOK)(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak);
/* A plugin's main function, returned by pluginInit. */
typedef Bool (DCAPI* DCMAIN)(PluginState state, DCCorePtr core, dcptr_t data);
/* The one symbol a plugin exports. */
typedef DCMAIN (DCAPI* DCPLUGIN_INIT)(MetaDataPtr info);

/* ---- interfaces: function tables whose first field is the table's version ------------ */

typedef struct DCInterface { uint32_t apiVersion; } DCInterface, *DCInterfacePtr;

/* register_interface: the first table registered for a guid is kept (later: NULL); the
 * handle is not the table. query_interface: the table when registered with an apiVersion
 * >= version, else NULL (same or newer only). release_interface: only with the handle of
 * the registered table (anything else: False, and pyhost logs it). */
struct DCCore {
    uint32_t apiVersion; /* = DCAPI_CORE_VER */
    intfHandle (DCAPI* register_interface)(const char* guid, dcptr_t funcs);
    DCInterfacePtr (DCAPI* query_interface)(const char* guid, uint32_t version);
    Bool (DCAPI* release_interface)(intfHandle hInterface);
    Bool (DCAPI* has_plugin)(const char* guid);
    const char* (DCAPI* host_name)(void);
};

/* create_hook: NULL if the guid exists. bind_hook: NULL for an unknown guid. run_hook: one
 * bBreak per run, starting False; subscribers in bind order; True if any returned True;
 * stops right after one that set *bBreak; the default procedure runs only when the hook has
 * no subscribers. release_hook: subscribers left (0 for NULL). destroy_hook of a hook with
 * subscribers removes it; their handles become dead. pyhost checks destroy_hook and
 * release_hook handles (a double release or garbage is refused and logged); run_hook is not
 * checked: it is the hot path. */
#define DCINTF_HOOKS "generic.plugins.DCHooks"
#define DCINTF_HOOKS_VER 8
typedef struct DCHooks {
    uint32_t apiVersion;
    hookHandle (DCAPI* create_hook)(const char* guid, DCHOOK defProc);
    Bool (DCAPI* destroy_hook)(hookHandle hHook);
    subsHandle (DCAPI* bind_hook)(const char* guid, DCHOOK hookProc, void* pCommon);
    Bool (DCAPI* run_hook)(hookHandle hHook, dcptr_t pObject, dcptr_t pData);
    size_t (DCAPI* release_hook)(subsHandle hHook);
} DCHooks, *DCHooksPtr;

/* Settings are a map of strings per plugin guid. set_cfg stores STRING as given (NULL as
 * ""), INT / INT64 as decimal text, BOOL as "1" / "0"; REMOVE deletes; a guid that is not
 * an installed plugin is ignored. get_cfg converts the stored text ("" when missing): STRING
 * as is, INT atoi, INT64 strtoll(s, NULL, 10), BOOL s != "0" -- so a missing BOOL reads
 * True; other types: NULL. get_cfg("CoreSetup", name, any type) answers the host setting in
 * its own type, NULL for one the host does not have. get_path / get_install_path are
 * absolute and end with the separator. Every value returned is the caller's until release
 * (pyhost refuses, and logs, a release of anything it did not hand out). */
#define DCINTF_CONFIG "generic.plugins.DCConfig"
#define DCINTF_CONFIG_VER 1
typedef struct DCConfig {
    uint32_t apiVersion;
    ConfigStrPtr (DCAPI* get_path)(PathType type);
    ConfigStrPtr (DCAPI* get_install_path)(const char* guid);
    void (DCAPI* set_cfg)(const char* guid, const char* setting, ConfigValuePtr val);
    ConfigValuePtr (DCAPI* get_cfg)(const char* guid, const char* setting, ConfigType type);
    ConfigStrPtr (DCAPI* get_language)(void);
    ConfigValuePtr (DCAPI* copy)(const ConfigValue* val);
    void (DCAPI* release)(ConfigValuePtr val);
} DCConfig, *DCConfigPtr;

#define DCINTF_LOGGING "generic.plugins.DCLog"
#define DCINTF_LOGGING_VER 1
typedef struct DCLog {
    uint32_t apiVersion;
    void (DCAPI* log)(const char* msg);
} DCLog, *DCLogPtr;

#define DCINTF_DCPP_CONNECTIONS "dcpp.network.DCConnection"
#define DCINTF_DCPP_CONNECTIONS_VER 1
typedef struct DCConnection {
    uint32_t apiVersion;
    void (DCAPI* send_udp_data)(const char* ip, uint32_t port, dcptr_t data, size_t n);
    void (DCAPI* send_protocol_cmd)(ConnectionDataPtr conn, const char* cmd);
    void (DCAPI* terminate_conn)(ConnectionDataPtr conn, Bool graceless);
    UserDataPtr (DCAPI* get_user)(ConnectionDataPtr conn);
} DCConnection, *DCConnectionPtr;

#define DCINTF_DCPP_HUBS "dcpp.network.DCHub"
#define DCINTF_DCPP_HUBS_VER 1
typedef struct DCHub {
    uint32_t apiVersion;
    HubDataPtr (DCAPI* add_hub)(const char* url, const char* nick, const char* password);
    HubDataPtr (DCAPI* find_hub)(const char* url);
    void (DCAPI* remove_hub)(HubDataPtr hub);
    void (DCAPI* emulate_protocol_cmd)(HubDataPtr hub, const char* cmd);
    void (DCAPI* send_protocol_cmd)(HubDataPtr hub, const char* cmd);
    void (DCAPI* send_message)(HubDataPtr hub, const char* msg, Bool thirdPerson);
    void (DCAPI* local_message)(HubDataPtr hub, const char* msg, MsgType type);
    Bool (DCAPI* send_private_message)(UserDataPtr user, const char* msg, Bool thirdPerson);
    UserDataPtr (DCAPI* find_user)(const char* cid, const char* hubUrl);
    UserDataPtr (DCAPI* copy_user)(const UserData* user);
    void (DCAPI* release_user)(UserDataPtr user);
    HubDataPtr (DCAPI* copy)(const HubData* hub);
    void (DCAPI* release)(HubDataPtr hub);
} DCHub, *DCHubPtr;

#define DCINTF_DCPP_QUEUE "dcpp.queue.DCQueue"
#define DCINTF_DCPP_QUEUE_VER 1
typedef struct DCQueue {
    uint32_t apiVersion;
    QueueDataPtr (DCAPI* add_list)(UserDataPtr user, Bool silent);
    QueueDataPtr (DCAPI* add_download)(const char* hash, uint64_t size, const char* target);
    QueueDataPtr (DCAPI* find_download)(const char* target);
    void (DCAPI* remove_download)(QueueDataPtr qi);
    void (DCAPI* set_priority)(QueueDataPtr qi, QueuePrio priority);
    Bool (DCAPI* pause)(QueueDataPtr qi);
    QueueDataPtr (DCAPI* copy)(const QueueData* qi);
    void (DCAPI* release)(QueueDataPtr qi);
} DCQueue, *DCQueuePtr;

/* n is always a count of elements of dst; src is NUL-terminated.
 * to_utf8, from_utf8, utf8_to_wcs, wcs_to_utf8: convert all of src, copy the first
 *   min(len(result), n) elements to dst (strncpy semantics: NO terminating NUL is written,
 *   a multi-byte character may be cut) and return that count. The SDK's pattern:
 *   s.resize(hint); s.resize(utils->to_utf8(&s[0], src, hint));
 * from_base32(dst, src, n): zero-fills the n bytes of dst, decodes src into them (either
 *   case; characters outside the alphabet are skipped) and returns n (a TTH: 39 -> 24).
 * to_base32(dst, src, n): returns ceil(8n/5), the length of the encoding; it writes dst
 *   only when n >= that length, i.e. never for n > 0. */
#define DCINTF_DCPP_UTILS "dcpp.utils.DCUtils"
#define DCINTF_DCPP_UTILS_VER 1
typedef struct DCUtils {
    uint32_t apiVersion;
    size_t (DCAPI* to_utf8)(char* dst, const char* src, size_t n);
    size_t (DCAPI* from_utf8)(char* dst, const char* src, size_t n);
    size_t (DCAPI* utf8_to_wcs)(wchar_t* dst, const char* src, size_t n);
    size_t (DCAPI* wcs_to_utf8)(char* dst, const wchar_t* src, size_t n);
    size_t (DCAPI* to_base32)(char* dst, const uint8_t* src, size_t n);
    size_t (DCAPI* from_base32)(uint8_t* dst, const char* src, size_t n);
} DCUtils, *DCUtilsPtr;

#define DCINTF_DCPP_TAGGER "dcpp.xml.DCTagger"
#define DCINTF_DCPP_TAGGER_VER 1
typedef struct DCTagger {
    uint32_t apiVersion;
    const char* (DCAPI* get_text)(TagDataPtr hTags);
    void (DCAPI* add_tag)(TagDataPtr hTags, size_t start, size_t end, const char* id,
                          const char* attributes);
    void (DCAPI* replace_text)(TagDataPtr hTags, size_t start, size_t end,
                               const char* replacement);
} DCTagger, *DCTaggerPtr;

typedef void (DCAPI* DCCommandFunc)(const char* name);

#define DCINTF_DCPP_UI "dcpp.ui.DCUI"
#define DCINTF_DCPP_UI_VER 1
typedef struct DCUI {
    uint32_t apiVersion;
    void (DCAPI* add_command)(const char* guid, const char* name, DCCommandFunc command,
                              const char* icon);
    void (DCAPI* remove_command)(const char* guid, const char* name);
    void (DCAPI* play_sound)(const char* path);
    void (DCAPI* notify)(const char* title, const char* message);
} DCUI, *DCUIPtr;

#define DCINTF_DCPP_DATAACCESSOR "dcpp.dataaccessor.DCDataAccess"
#define DCINTF_DCPP_DATAACCESSOR_VER 1
typedef struct DCDataAccess {
    uint32_t apiVersion;
    void (DCAPI* get_http_resource)(const char* uri, const char* localPath);
    DataArrayPtr (DCAPI* copy)(const DataArray* data);
    void (DCAPI* release)(DataArrayPtr data);
} DCDataAccess, *DCDataAccessPtr;

/* ---- standard hooks: guid (object / data) -------------------------------------------- */

#define HOOK_CHAT_IN            "dcpp.chat.onIncomingChat"   /* HubData / char* message */
#define HOOK_CHAT_OUT           "dcpp.chat.onOutgoingChat"   /* HubData / char* message */
#define HOOK_CHAT_PM_IN         "dcpp.chat.onIncomingPM"     /* UserData / char* message */
#define HOOK_CHAT_PM_OUT        "dcpp.chat.onOutgoingPM"     /* UserData / char* message */

#define HOOK_TIMER_SECOND       "dcpp.timer.onSecond"        /* NULL / uint64_t* tick (ms) */
#define HOOK_TIMER_MINUTE       "dcpp.timer.onMinute"        /* NULL / uint64_t* tick (ms) */

#define HOOK_HUB_ONLINE         "dcpp.hubs.onOnline"         /* HubData / NULL */
#define HOOK_HUB_OFFLINE        "dcpp.hubs.onOffline"        /* HubData / NULL */
#define HOOK_USER_ONLINE        "dcpp.users.onOnline"        /* UserData / NULL */
#define HOOK_USER_OFFLINE       "dcpp.users.onOffline"       /* UserData / NULL */

#define HOOK_NETWORK_HUB_IN     "dcpp.network.onHubDataIn"     /* HubData / char* line */
#define HOOK_NETWORK_HUB_OUT    "dcpp.network.onHubDataOut"    /* HubData / char* line */
#define HOOK_NETWORK_CONN_IN    "dcpp.network.onClientDataIn"  /* ConnectionData / char* line */
#define HOOK_NETWORK_CONN_OUT   "dcpp.network.onClientDataOut" /* ConnectionData / char* line */
#define HOOK_NETWORK_UDP_IN     "dcpp.network.onUDPDataIn"     /* UDPData / char* payload */
#define HOOK_NETWORK_UDP_OUT    "dcpp.network.onUDPDataOut"    /* UDPData / char* payload */

#define HOOK_QUEUE_ADDED        "dcpp.queue.onAdded"         /* QueueData / NULL */
#define HOOK_QUEUE_MOVED        "dcpp.queue.onMoved"         /* QueueData / NULL */
#define HOOK_QUEUE_REMOVED      "dcpp.queue.onRemoved"       /* QueueData / NULL */
#define HOOK_QUEUE_FINISHED     "dcpp.queue.onFinished"      /* QueueData / NULL */

#define HOOK_UI_CREATED         "dcpp.ui.onCreated"          /* host specific / NULL */
#define HOOK_UI_CHAT_TAGS       "dcpp.ui.onChatTags"         /* UserData / TagData */
#define HOOK_UI_CHAT_DISPLAY    "dcpp.ui.onChatDisplay"      /* UserData / StringData */
#define HOOK_UI_PROCESS_CHAT_CMD    "dcpp.ui.onChatCommand"   /* HubData / CommandData */
#define HOOK_UI_PROCESS_CHAT_CMD_PM "dcpp.ui.onChatCommandPM" /* UserData / CommandData */

#define HOOK_DATA_HTTP_NOTIFY        "dcpp.dataaccessor.onHTTPResourceNotification"       /* host / DataArray */
#define HOOK_DATA_HTTP_NOTIFY_FAILED "dcpp.dataaccessor.onHTTPResourceNotificationFailed" /* host / DataArray */
#define HOOK_DATA_HTTP_STREAM        "dcpp.dataaccessor.onHTTPResourceStream"             /* host / DataArray */

/* ==== pyhost's own optional interfaces ================================================
 *
 * Everything below is NOT part of the DC plugin ABI: it is pyhost's own, and other hosts of
 * the ABI do not have it. Their query_interface answers NULL for these guids, so a plugin
 * that uses them must check for NULL and keep working without them (its exported methods
 * are then simply not reachable). Nothing above this line depends on anything below it.
 * docs/exported-methods.md has the whole story.
 */

/* pyhost.rpc.DCRpc: exported methods and plugin events, for remote user interfaces.
 *
 * A plugin registers methods that the host's clients (the web page, scripts, other
 * programs, over the Web API or JSON-RPC) call as "<plugin>.<name>", where <plugin> is the
 * plugin's name in lower case with every run of other characters than letters, digits and
 * '_' turned into one '_' ("Hub Stats" -> "hub_stats"). Arguments and results are JSON text.
 *
 * The table a plugin gets from query_interface is bound to that plugin (the ABI's calls
 * carry no caller): do not hand it to another plugin. Everything it registered is removed
 * when the plugin unloads, at the latest.
 *
 * register_method(name, level, description, method, release, pCommon):
 *   name: 1 to 64 of [A-Za-z0-9_], not starting with a digit; unique within the plugin.
 *   level: who may call it, compared with the caller's level (DCRPC_LEVEL_*, 0 to 10): a
 *     caller below it is refused before the method runs. NONE means "anyone", even a
 *     client that did not log in.
 *   description: one line shown to users, or NULL.
 *   Returns NULL when refused (a bad name or level, a name already registered).
 * unregister_method(handle): the method disappears at once; a call already running
 *   finishes normally, and the method is never called again once this returned. False for
 *   anything but a live handle of this plugin.
 * emit(event, json): sends a plugin event, delivered to the clients listening to this
 *   plugin's events. event: 1 to 100 of [A-Za-z0-9_.:-]; json: valid JSON text (NULL:
 *   null), at most 64 KiB. False when refused. Any thread.
 *
 * The method (DCRpcMethod) runs on one of the host's worker threads, never on the thread
 * that fires hooks, and several calls (of the same method too) may run at once: it must be
 * thread-safe. `params` is JSON text, always an array (positional arguments) or an object
 * (named arguments). It returns JSON text: the result (NULL: null). To fail, it sets
 * *failed = True and returns a one-line message (plain UTF-8 text, not JSON; NULL: a generic
 * message). The caller waits a limited time (30 s by default); a method that takes longer is
 * reported to its caller as timed out, but it is not interrupted.
 *
 * Ownership of the returned text: the plugin's. The host copies it as soon as the method
 * returns, then calls release(result, pCommon) for it when `release` is not NULL; each
 * call's text is independent, so concurrent calls are safe. With a NULL `release` the text
 * must stay valid for as long as the plugin is loaded (a string literal). The host never
 * calls release for a NULL result.
 *
 * Unloading: before main gets ON_UNLOAD / ON_UNINSTALL, the host removes the plugin's
 * methods and waits (a few seconds at most) for the calls still running in them; when one
 * is still running after that, the library stays mapped until the host shuts down. */
#define DCINTF_PYHOST_RPC "pyhost.rpc.DCRpc"
#define DCINTF_PYHOST_RPC_VER 1

#define DCRPC_LEVEL_NONE     0
#define DCRPC_LEVEL_READONLY 1
#define DCRPC_LEVEL_NORMAL   5
#define DCRPC_LEVEL_ADMIN    10

typedef void* rpcHandle;  /* one method registered with register_method */

typedef char* (DCAPI* DCRpcMethod)(const char* params, Bool* failed, void* pCommon);
typedef void (DCAPI* DCRpcRelease)(char* result, void* pCommon);

typedef struct DCRpc {
    uint32_t apiVersion;
    rpcHandle (DCAPI* register_method)(const char* name, uint32_t level,
                                       const char* description, DCRpcMethod method,
                                       DCRpcRelease release, void* pCommon);
    Bool (DCAPI* unregister_method)(rpcHandle hMethod);
    Bool (DCAPI* emit)(const char* event, const char* json);
} DCRpc, *DCRpcPtr;

#ifdef __cplusplus
}
#endif

#endif /* DCPLUGIN_H */
