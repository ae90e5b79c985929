"""Generates the C source of the compiled cffi module ``pyhost.abi._ffi`` (API mode).

Run by CMake at build time (``python _ffi_build.py OUT.c``); the same CMake build compiles
the output against native/ and sdk_headers/. The declarations below mirror
sdk_headers/dcplugin.h field by field; in API mode cffi checks each layout against the real
header when the module is compiled, so a mismatch fails the build.
"""
import sys

import cffi

ABI_CDEF = r"""
typedef enum Bool { False = 0, True = 1 } Bool;
typedef void* hookHandle;
typedef void* subsHandle;
typedef void* intfHandle;
typedef void* dcptr_t;
typedef uint64_t dctime_t;

typedef enum PluginState { ON_INSTALL = 0, ON_LOAD = 1, ON_LOAD_RUNTIME = 2, ON_CONFIGURE = 3,
                           ON_UNLOAD = 4, ON_UNINSTALL = 5 } PluginState;
typedef enum ConfigType { CFG_TYPE_UNKNOWN = -2, CFG_TYPE_REMOVE = -1, CFG_TYPE_STRING = 0,
                          CFG_TYPE_INT = 1, CFG_TYPE_BOOL = 2, CFG_TYPE_INT64 = 3 } ConfigType;
typedef enum ProtocolType { PROTOCOL_ADC = 0, PROTOCOL_NMDC = 1, PROTOCOL_DHT = 2 } ProtocolType;
typedef enum PathType { PATH_GLOBAL_CONFIG = 0, PATH_USER_CONFIG = 1, PATH_USER_LOCAL = 2,
                        PATH_RESOURCES = 3, PATH_LOCALE = 4 } PathType;
typedef enum MsgType { MSG_CLIENT = 0, MSG_STATUS = 1, MSG_SYSTEM = 2 } MsgType;
typedef enum QueuePrio { PRIO_DEFAULT = -1, PRIO_LOWEST = 1, PRIO_LOW = 2, PRIO_NORMAL = 3,
                         PRIO_HIGH = 4, PRIO_HIGHEST = 5 } QueuePrio;

typedef struct MetaData {
    const char* name; const char* author; const char* description; const char* web;
    const char* guid; const char** dependencies; uint32_t numDependencies;
    uint32_t apiVersion; double version;
} MetaData;
typedef struct ConfigValue { ConfigType type; } ConfigValue;
typedef struct ConfigStr { ConfigType type; const char* value; } ConfigStr;
typedef struct ConfigInt { ConfigType type; int32_t value; } ConfigInt;
typedef struct ConfigBool { ConfigType type; Bool value; } ConfigBool;
typedef struct ConfigInt64 { ConfigType type; int64_t value; } ConfigInt64;
typedef struct StringData { const char* in; char* out; } StringData;
typedef struct CommandData { const char* command; const char* params; } CommandData;
typedef struct UserData {
    const char* nick; const char* hubHint; const char* cid; dcptr_t object; uint32_t sid;
    ProtocolType protocol; Bool isOp; Bool isManaged;
} UserData;
typedef struct HubData {
    const char* url; const char* ip; dcptr_t object; uint16_t port; ProtocolType protocol;
    Bool isOp; Bool isSecure; Bool isManaged;
} HubData;
typedef struct ConnectionData {
    const char* ip; dcptr_t object; uint16_t port; ProtocolType protocol; Bool isOp;
    Bool isSecure; Bool isManaged;
} ConnectionData;
typedef struct UDPData { const char* ip; uint16_t port; } UDPData;
typedef struct QueueData {
    const char* target; const char* location; const char* hash; dcptr_t object;
    uint64_t size; Bool isFileList; Bool isManaged;
} QueueData;
typedef struct TagData { dcptr_t object; Bool isManaged; } TagData;
typedef struct DataArray { const void* pData; uint64_t size; } DataArray;

typedef struct DCCore DCCore;
typedef Bool (*DCHOOK)(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak);
typedef Bool (*DCMAIN)(PluginState state, DCCore* core, dcptr_t data);
typedef DCMAIN (*DCPLUGIN_INIT)(MetaData* info);
typedef struct DCInterface { uint32_t apiVersion; } DCInterface;

struct DCCore {
    uint32_t apiVersion;
    intfHandle (*register_interface)(const char* guid, dcptr_t funcs);
    DCInterface* (*query_interface)(const char* guid, uint32_t version);
    Bool (*release_interface)(intfHandle hInterface);
    Bool (*has_plugin)(const char* guid);
    const char* (*host_name)(void);
};
typedef struct DCHooks {
    uint32_t apiVersion;
    hookHandle (*create_hook)(const char* guid, DCHOOK defProc);
    Bool (*destroy_hook)(hookHandle hHook);
    subsHandle (*bind_hook)(const char* guid, DCHOOK hookProc, void* pCommon);
    Bool (*run_hook)(hookHandle hHook, dcptr_t pObject, dcptr_t pData);
    size_t (*release_hook)(subsHandle hHook);
} DCHooks;
typedef struct DCConfig {
    uint32_t apiVersion;
    ConfigStr* (*get_path)(PathType type);
    ConfigStr* (*get_install_path)(const char* guid);
    void (*set_cfg)(const char* guid, const char* setting, ConfigValue* val);
    ConfigValue* (*get_cfg)(const char* guid, const char* setting, ConfigType type);
    ConfigStr* (*get_language)(void);
    ConfigValue* (*copy)(const ConfigValue* val);
    void (*release)(ConfigValue* val);
} DCConfig;
typedef struct DCLog { uint32_t apiVersion; void (*log)(const char* msg); } DCLog;
typedef struct DCConnection {
    uint32_t apiVersion;
    void (*send_udp_data)(const char* ip, uint32_t port, dcptr_t data, size_t n);
    void (*send_protocol_cmd)(ConnectionData* conn, const char* cmd);
    void (*terminate_conn)(ConnectionData* conn, Bool graceless);
    UserData* (*get_user)(ConnectionData* conn);
} DCConnection;
typedef struct DCHub {
    uint32_t apiVersion;
    HubData* (*add_hub)(const char* url, const char* nick, const char* password);
    HubData* (*find_hub)(const char* url);
    void (*remove_hub)(HubData* hub);
    void (*emulate_protocol_cmd)(HubData* hub, const char* cmd);
    void (*send_protocol_cmd)(HubData* hub, const char* cmd);
    void (*send_message)(HubData* hub, const char* msg, Bool thirdPerson);
    void (*local_message)(HubData* hub, const char* msg, MsgType type);
    Bool (*send_private_message)(UserData* user, const char* msg, Bool thirdPerson);
    UserData* (*find_user)(const char* cid, const char* hubUrl);
    UserData* (*copy_user)(const UserData* user);
    void (*release_user)(UserData* user);
    HubData* (*copy)(const HubData* hub);
    void (*release)(HubData* hub);
} DCHub;
typedef struct DCQueue {
    uint32_t apiVersion;
    QueueData* (*add_list)(UserData* user, Bool silent);
    QueueData* (*add_download)(const char* hash, uint64_t size, const char* target);
    QueueData* (*find_download)(const char* target);
    void (*remove_download)(QueueData* qi);
    void (*set_priority)(QueueData* qi, QueuePrio priority);
    Bool (*pause)(QueueData* qi);
    QueueData* (*copy)(const QueueData* qi);
    void (*release)(QueueData* qi);
} DCQueue;
typedef struct DCUtils {
    uint32_t apiVersion;
    size_t (*to_utf8)(char* dst, const char* src, size_t n);
    size_t (*from_utf8)(char* dst, const char* src, size_t n);
    size_t (*utf8_to_wcs)(wchar_t* dst, const char* src, size_t n);
    size_t (*wcs_to_utf8)(char* dst, const wchar_t* src, size_t n);
    size_t (*to_base32)(char* dst, const uint8_t* src, size_t n);
    size_t (*from_base32)(uint8_t* dst, const char* src, size_t n);
} DCUtils;
typedef struct DCTagger {
    uint32_t apiVersion;
    const char* (*get_text)(TagData* hTags);
    void (*add_tag)(TagData* hTags, size_t start, size_t end, const char* id,
                    const char* attributes);
    void (*replace_text)(TagData* hTags, size_t start, size_t end, const char* replacement);
} DCTagger;
typedef void (*DCCommandFunc)(const char* name);
typedef struct DCUI {
    uint32_t apiVersion;
    void (*add_command)(const char* guid, const char* name, DCCommandFunc command,
                        const char* icon);
    void (*remove_command)(const char* guid, const char* name);
    void (*play_sound)(const char* path);
    void (*notify)(const char* title, const char* message);
} DCUI;
typedef struct DCDataAccess {
    uint32_t apiVersion;
    void (*get_http_resource)(const char* uri, const char* localPath);
    DataArray* (*copy)(const DataArray* data);
    void (*release)(DataArray* data);
} DCDataAccess;

/* pyhost's own optional interface: exported methods and plugin events. */
typedef void* rpcHandle;
typedef char* (*DCRpcMethod)(const char* params, Bool* failed, void* pCommon);
typedef void (*DCRpcRelease)(char* result, void* pCommon);
typedef struct DCRpc {
    uint32_t apiVersion;
    rpcHandle (*register_method)(const char* name, uint32_t level, const char* description,
                                 DCRpcMethod method, DCRpcRelease release, void* pCommon);
    Bool (*unregister_method)(rpcHandle hMethod);
    Bool (*emit)(const char* event, const char* json);
} DCRpc;
"""

NATIVE_CDEF = r"""
#define PHN_MAX_BUSES 16
typedef struct phn_bus phn_bus;
typedef struct phn_event { dcptr_t object; dcptr_t data; } phn_event;

phn_bus* phn_bus_new(const char* host_name);
void phn_bus_free(phn_bus* bus);
DCCore* phn_bus_core(phn_bus* bus);
DCHooks* phn_bus_hooks(phn_bus* bus);
int phn_bus_set_plugin(phn_bus* bus, const char* guid, int present);

hookHandle phn_create_hook(phn_bus* bus, const char* guid, DCHOOK def_proc);
Bool phn_destroy_hook(hookHandle hook);
subsHandle phn_bind_hook(phn_bus* bus, const char* guid, DCHOOK proc, void* common);
Bool phn_run_hook(hookHandle hook, dcptr_t object, dcptr_t data);
size_t phn_release_hook(subsHandle sub);
int phn_release_hook_checked(subsHandle sub, size_t* left);
size_t phn_run_many(hookHandle hook, const phn_event* events, size_t n, Bool* results);
hookHandle phn_find_hook(phn_bus* bus, const char* guid);
size_t phn_hook_subscribers(hookHandle hook);
size_t phn_bus_pending_reclaim(phn_bus* bus);

intfHandle phn_register_interface(phn_bus* bus, const char* guid, dcptr_t table);
DCInterface* phn_query_interface(phn_bus* bus, const char* guid, uint32_t version);
Bool phn_release_interface(phn_bus* bus, intfHandle handle);
DCInterface* phn_reserved_interface(void);
Bool phn_has_plugin(phn_bus* bus, const char* guid);
const char* phn_host_name(phn_bus* bus);

/* The DCUtils host service (native/utils.h). */
const DCUtils* phn_utils_table(void);

ConfigValue* phn_cfg_string(const char* value);
ConfigValue* phn_cfg_int(int32_t value);
ConfigValue* phn_cfg_bool(Bool value);
ConfigValue* phn_cfg_int64(int64_t value);
ConfigValue* phn_cfg_from_text(const char* text, ConfigType type);
ConfigValue* phn_cfg_copy(const ConfigValue* value);
void phn_cfg_release(ConfigValue* value);
int phn_cfg_free(ConfigValue* value);
long phn_cfg_live(void);

/* dlopen and friends: the loader opens plugins through the compiled bridge. */
#define RTLD_LAZY ...
#define RTLD_NOW ...
#define RTLD_LOCAL ...
#define RTLD_GLOBAL ...
void* dlopen(const char* path, int flags);
void* dlsym(void* handle, const char* name);
int dlclose(void* handle);
char* dlerror(void);

/* Fires one event for a caller holding the GIL (native/pyhost_native.h). */
typedef struct phn_gil_ops { void* (*release)(void); void (*reacquire)(void* state); }
    phn_gil_ops;
Bool phn_run_hook_gil(hookHandle hook, dcptr_t object, dcptr_t data, const phn_gil_ops* gil);
"""


# The CPython half of the bridge (pyhost/abi/_bridge.c, compiled into this module): the
# trampoline behind every Python subscriber and the run() builtin of each Hook.
BRIDGE_CDEF = r"""
#define PHPY_RAW 0
#define PHPY_PTR 1
#define PHPY_TEXT 2
#define PHPY_U64 3
#define PHPY_VIEW 4
typedef struct phpy_sub {
    void* fn; void* extra; void* report; void* object_conv; void* data_conv;
    int nargs; int object_kind; int data_kind;
} phpy_sub;
/* The trampoline itself (a constant: cffi's addressof(lib, name) of a function would give
   a wrapper that adds a call). */
DCHOOK const phpy_hook_proc;
int phpy_init(void* namespace, void* voidp_ctype, void* null_cdata);

/* Its body is empty: calling it once gives a native thread a lasting Python thread state
   (cffi's mechanism) before the trampoline first takes the GIL there. */
extern "Python" void _pyhost_thread_attach(void);
"""


# The data blocks behind DCHub/DCQueue/DCConnection/DCDataAccess and their ownership
# (native/app_data.h).
APP_CDEF = r"""
#define PHN_KIND_HUB 1
#define PHN_KIND_USER 2
#define PHN_KIND_CONN 3
#define PHN_KIND_QUEUE 4
#define PHN_KIND_DATA 5
#define PHN_KINDS 6
#define PHN_REFUSED_UNKNOWN 0
#define PHN_REFUSED_MANAGED 1
#define PHN_REFUSED_WRONG_KIND 2
#define PHN_ARENA_ALL ...
HubData* phn_hub_new(uint32_t arena, Bool managed, const char* url, const char* ip,
                     dcptr_t object, uint16_t port, ProtocolType protocol, Bool isOp,
                     Bool isSecure);
UserData* phn_user_new(uint32_t arena, Bool managed, const char* nick, const char* hubHint,
                       const char* cid, dcptr_t object, uint32_t sid, ProtocolType protocol,
                       Bool isOp);
ConnectionData* phn_conn_new(uint32_t arena, Bool managed, const char* ip, dcptr_t object,
                             uint16_t port, ProtocolType protocol, Bool isOp, Bool isSecure);
QueueData* phn_queue_new(uint32_t arena, Bool managed, const char* target,
                         const char* location, const char* hash, dcptr_t object,
                         uint64_t size, Bool isFileList);
DataArray* phn_data_new(uint32_t arena, Bool managed, const void* bytes, uint64_t size);
HubData* phn_hub_copy(const HubData* hub);
void phn_hub_release(HubData* hub);
UserData* phn_user_copy(const UserData* user);
void phn_user_release(UserData* user);
QueueData* phn_queue_copy(const QueueData* item);
void phn_queue_release(QueueData* item);
DataArray* phn_data_copy(const DataArray* data);
void phn_data_release(DataArray* data);
int phn_app_free(void* block);
long phn_app_free_arena(uint32_t arena, long* copies);
long phn_app_live(uint32_t arena, int kind, int managed);
long phn_app_refused(int reason);
int phn_app_kind(const void* block);
"""


# ---- crash isolation (issue 16) -------------------------------------------------------------
# The host side of isolated plugins (native/isolation/pyhost_isolation.h). Kept in its own
# block, apart from the declarations above.
ISOLATION_CDEF = r"""
typedef struct phn_iso_plugin phn_iso_plugin;
typedef struct phn_iso_channel phn_iso_channel;
typedef struct phn_iso_blob { unsigned char* data; size_t len; } phn_iso_blob;
void phn_iso_blob_free(phn_iso_blob* blob);
int phn_iso_declare_hook(const char* guid, int okind, int dkind);
int phn_iso_hook_kinds(const char* guid, int* okind, int* dkind);
int phn_iso_declare_interface(const char* guid, const char* codes);
const char* phn_iso_interface_codes(const char* guid);
phn_iso_plugin* phn_iso_plugin_new(phn_bus* bus, const char* name, uint32_t history);
void phn_iso_plugin_set_core(phn_iso_plugin* p, DCCore* core);
int phn_iso_plugin_deadline(phn_iso_plugin* p, const char* prefix, uint64_t ns);
void phn_iso_plugin_budgets(phn_iso_plugin* p, uint64_t main_ns, uint64_t call_ns);
int phn_iso_plugin_async(phn_iso_plugin* p, const char* prefix);
void phn_iso_plugin_crashed(phn_iso_plugin* p);
DCInterface* phn_iso_plugin_resolve(phn_iso_plugin* p, const char* guid, uint32_t version);
uint64_t phn_iso_plugin_calls(phn_iso_plugin* p);
int phn_iso_history(phn_iso_plugin* p, phn_iso_blob* out);
void phn_iso_plugin_free(phn_iso_plugin* p);
void phn_iso_collect(phn_bus* bus, int force);
phn_iso_channel* phn_iso_spawn(phn_iso_plugin* p, const char* runner_path, char* err,
                               size_t errlen);
int phn_iso_pid(phn_iso_channel* c);
int phn_iso_open(phn_iso_channel* c, const char* path, uint64_t budget_ns, phn_iso_blob* out);
int phn_iso_main(phn_iso_channel* c, int state, uint64_t budget_ns);
void phn_iso_activate(phn_iso_channel* c);
int phn_iso_shutdown(phn_iso_channel* c, uint64_t budget_ns);
void phn_iso_hangup(phn_iso_channel* c);
int phn_iso_drain(phn_iso_channel* c, uint64_t budget_ns);
int phn_iso_wait(phn_iso_channel* c);
void phn_iso_kill(phn_iso_channel* c);
int phn_iso_dead(phn_iso_channel* c);
int phn_iso_crash_info(phn_iso_channel* c, phn_iso_blob* what, int* deadline);
void phn_iso_channel_free(phn_iso_channel* c);
void phn_iso_set_tag_text(const char* (*fn)(void* tag_data));
"""


def make_ffi() -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(ABI_CDEF)
    ffi.cdef(NATIVE_CDEF)
    ffi.cdef(APP_CDEF)
    ffi.cdef(BRIDGE_CDEF)
    ffi.cdef(ISOLATION_CDEF)
    ffi.set_source("pyhost.abi._ffi", '#include <dlfcn.h>\n#include "pyhost_native.h"\n'
                   '#include "utils.h"\n#include "app_data.h"\n#include "_bridge.c"\n'
                   '#include "isolation/pyhost_isolation.h"\n')
    return ffi


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _ffi_build.py OUTPUT.c", file=sys.stderr)
        return 2
    make_ffi().emit_c_code(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
