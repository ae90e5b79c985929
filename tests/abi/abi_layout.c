/*
 * abi_layout.c -- compile-time check of sdk_headers/dcplugin.h against the DC plugin ABI v8
 * (the header's types, values and field order; docs/abi.md for the behaviour).
 *
 * Nothing here runs: the file is only compiled (tests/abi/test_abi_layout.py does it with
 * -fsyntax-only for every target it can), and any difference from the ABI is a compile error.
 *
 * The expected numbers are NOT computed from the header. They were worked out by hand from
 * the fact sheet's field order and the natural C alignment rules of each target, and are
 * written below as literal numbers, one column per target:
 *
 *   L64  x86-64 SysV (LP64) and Windows x64 (LLP64). Every field of the ABI is a pointer,
 *        size_t, an int-sized enum or a fixed-width integer/double, so the two agree:
 *        pointer/size_t 8 (align 8), int/enum/uint32_t 4, uint16_t 2, uint64_t/int64_t/double
 *        8 (align 8). (LLP64 only differs in `long` and `wchar_t`, neither of which is a field.)
 *   I386 32-bit i386 SysV (Linux gcc -m32): pointer/size_t 4, and uint64_t/int64_t/double are
 *        8 bytes but only 4-aligned inside a struct.
 *   W32  32-bit Windows (i686-w64-mingw32, MSVC): pointer/size_t 4, but uint64_t/int64_t/
 *        double are 8-aligned inside a struct; every function pointer is __stdcall.
 *
 * Per struct the checks are: sizeof, alignment, and for every field its offset (literal),
 * its size (== sizeof of the type the fact sheet names) and, in C, its exact type via
 * _Generic (for the interface tables this also checks each function's parameters, return
 * type and calling convention). Enums: sizeof == 4 and every value. Also the version macros
 * and the guid strings (length in C; exact text when compiled as C++11, with constexpr).
 *
 * The file also compiles as C++11 (the test does so with g++ -x c++): the layout checks then
 * run in C++ mode, and the _Generic type checks are replaced by the exact guid text checks.
 */
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "dcplugin.h"

/* ---- target selection: which column of expected numbers applies -------------------- */

#if defined(_WIN64)
#  define ABI_COL_L64 1          /* Windows x64: same numbers as LP64 x86-64 */
#elif defined(__x86_64__) && !defined(__ILP32__)
#  define ABI_COL_L64 1          /* x86-64 SysV, LP64 */
#elif defined(_WIN32) && (defined(__i386__) || defined(_M_IX86))
#  define ABI_COL_W32 1          /* Win32 i686: 8-byte alignment of 64-bit fields */
#elif defined(__i386__)
#  define ABI_COL_I386 1         /* i386 SysV: 4-byte alignment of 64-bit fields */
#else
#  error "abi_layout.c: no expected layout for this target (x86-64, Win64, i386, Win32 only)"
#endif

#if defined(ABI_COL_L64)
#  define PICK(l64, i386, w32) (l64)
#elif defined(ABI_COL_W32)
#  define PICK(l64, i386, w32) (w32)
#else
#  define PICK(l64, i386, w32) (i386)
#endif

/* The calling convention the fact sheet requires of every function pointer (DCAPI), spelled
 * independently of the header's DCAPI so that a wrong DCAPI is caught: __stdcall on 32-bit
 * Windows, the platform default elsewhere unless the build defines STDCALL. */
#if defined(ABI_COL_W32) || (defined(ABI_COL_I386) && defined(STDCALL))
#  define CC __attribute__((stdcall))   /* Win32 always; i386 only when a build opts in */
#else
#  define CC
#endif

#ifdef __cplusplus
#  define ABI_ASSERT(cond, msg) static_assert(cond, msg)
#  define ABI_ALIGNOF(T) alignof(T)
#else
#  define ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#  define ABI_ALIGNOF(T) _Alignof(T)
#endif

/* ---- the checking macros ------------------------------------------------------------ */

/* sizeof and alignment of a whole struct or table. */
#define SIZE(T, l64, i386, w32) \
    ABI_ASSERT(sizeof(T) == PICK(l64, i386, w32), "sizeof(" #T ") differs from the ABI")
#define ALIGN(T, l64, i386, w32) \
    ABI_ASSERT(ABI_ALIGNOF(T) == PICK(l64, i386, w32), "alignment of " #T " differs from the ABI")

/* Offset (literal per target) and size of one field. TY is the type the fact sheet gives. */
#define OFFSET_AND_SIZE(T, f, TY, l64, i386, w32)                                       \
    ABI_ASSERT(offsetof(T, f) == PICK(l64, i386, w32),                                  \
               "offsetof(" #T ", " #f ") differs from the ABI");                        \
    ABI_ASSERT(sizeof(((T*)0)->f) == sizeof(TY), "sizeof(" #T "." #f ") differs from the ABI")

#ifdef __cplusplus
#  define FIELD(T, f, TY, l64, i386, w32) OFFSET_AND_SIZE(T, f, TY, l64, i386, w32)
#  define FIELD2(T, f, TY, TY2, l64, i386, w32) OFFSET_AND_SIZE(T, f, TY, l64, i386, w32)
#else
/* ... plus, in C, the field's exact type (parameters, return, convention for functions). */
#  define FIELD(T, f, TY, l64, i386, w32)                                               \
    OFFSET_AND_SIZE(T, f, TY, l64, i386, w32);                                          \
    ABI_ASSERT(_Generic(((T*)0)->f, TY: 1, default: 0), "type of " #T "." #f " differs from the ABI")
/* Same, accepting either of two types that are the same in the binary (pointer to const
 * or not: see the note on the copy functions below). */
#  define FIELD2(T, f, TY, TY2, l64, i386, w32)                                         \
    OFFSET_AND_SIZE(T, f, TY, l64, i386, w32);                                          \
    ABI_ASSERT(_Generic(((T*)0)->f, TY: 1, TY2: 1, default: 0),                         \
               "type of " #T "." #f " differs from the ABI")
#endif

/* ---- scalar types -------------------------------------------------------------------- */

ABI_ASSERT(sizeof(void*) == PICK(8, 4, 4), "pointer size of the target");
ABI_ASSERT(sizeof(size_t) == PICK(8, 4, 4), "size_t size of the target");
ABI_ASSERT(sizeof(dctime_t) == 8, "dctime_t is uint64_t");
ABI_ASSERT(sizeof(hookHandle) == sizeof(void*), "hookHandle is void*");
ABI_ASSERT(sizeof(subsHandle) == sizeof(void*), "subsHandle is void*");
ABI_ASSERT(sizeof(intfHandle) == sizeof(void*), "intfHandle is void*");
ABI_ASSERT(sizeof(dcptr_t) == sizeof(void*), "dcptr_t is void*");
#ifndef __cplusplus
ABI_ASSERT(_Generic((dctime_t)0, uint64_t: 1, default: 0), "dctime_t is uint64_t");
ABI_ASSERT(_Generic((hookHandle)0, void*: 1, default: 0), "hookHandle is void*");
ABI_ASSERT(_Generic((subsHandle)0, void*: 1, default: 0), "subsHandle is void*");
ABI_ASSERT(_Generic((intfHandle)0, void*: 1, default: 0), "intfHandle is void*");
ABI_ASSERT(_Generic((dcptr_t)0, void*: 1, default: 0), "dcptr_t is void*");
#endif

/* ---- enums: int-sized, and every value ------------------------------------------------- */

ABI_ASSERT(sizeof(Bool) == 4, "Bool is an int-sized enum");
ABI_ASSERT(False == 0, "False == 0");
ABI_ASSERT(True == 1, "True == 1");

ABI_ASSERT(sizeof(PluginState) == 4, "PluginState is int-sized");
ABI_ASSERT(ON_INSTALL == 0, "ON_INSTALL == 0");
ABI_ASSERT(ON_LOAD == 1, "ON_LOAD == 1");
ABI_ASSERT(ON_LOAD_RUNTIME == 2, "ON_LOAD_RUNTIME == 2");
ABI_ASSERT(ON_CONFIGURE == 3, "ON_CONFIGURE == 3");
ABI_ASSERT(ON_UNLOAD == 4, "ON_UNLOAD == 4");
ABI_ASSERT(ON_UNINSTALL == 5, "ON_UNINSTALL == 5");

ABI_ASSERT(sizeof(ConfigType) == 4, "ConfigType is int-sized");
ABI_ASSERT(CFG_TYPE_UNKNOWN == -2, "CFG_TYPE_UNKNOWN == -2");
ABI_ASSERT(CFG_TYPE_REMOVE == -1, "CFG_TYPE_REMOVE == -1");
ABI_ASSERT(CFG_TYPE_STRING == 0, "CFG_TYPE_STRING == 0");
ABI_ASSERT(CFG_TYPE_INT == 1, "CFG_TYPE_INT == 1");
ABI_ASSERT(CFG_TYPE_BOOL == 2, "CFG_TYPE_BOOL == 2");
ABI_ASSERT(CFG_TYPE_INT64 == 3, "CFG_TYPE_INT64 == 3");

ABI_ASSERT(sizeof(ProtocolType) == 4, "ProtocolType is int-sized");
ABI_ASSERT(PROTOCOL_ADC == 0, "PROTOCOL_ADC == 0");
ABI_ASSERT(PROTOCOL_NMDC == 1, "PROTOCOL_NMDC == 1");
ABI_ASSERT(PROTOCOL_DHT == 2, "PROTOCOL_DHT == 2");

ABI_ASSERT(sizeof(PathType) == 4, "PathType is int-sized");
ABI_ASSERT(PATH_GLOBAL_CONFIG == 0, "PATH_GLOBAL_CONFIG == 0");
ABI_ASSERT(PATH_USER_CONFIG == 1, "PATH_USER_CONFIG == 1");
ABI_ASSERT(PATH_USER_LOCAL == 2, "PATH_USER_LOCAL == 2");
ABI_ASSERT(PATH_RESOURCES == 3, "PATH_RESOURCES == 3");
ABI_ASSERT(PATH_LOCALE == 4, "PATH_LOCALE == 4");

ABI_ASSERT(sizeof(MsgType) == 4, "MsgType is int-sized");
ABI_ASSERT(MSG_CLIENT == 0, "MSG_CLIENT == 0");
ABI_ASSERT(MSG_STATUS == 1, "MSG_STATUS == 1");
ABI_ASSERT(MSG_SYSTEM == 2, "MSG_SYSTEM == 2");

ABI_ASSERT(sizeof(QueuePrio) == 4, "QueuePrio is int-sized");
ABI_ASSERT(PRIO_DEFAULT == -1, "PRIO_DEFAULT == -1");
ABI_ASSERT(PRIO_LOWEST == 1, "PRIO_LOWEST == 1");
ABI_ASSERT(PRIO_LOW == 2, "PRIO_LOW == 2");
ABI_ASSERT(PRIO_NORMAL == 3, "PRIO_NORMAL == 3");
ABI_ASSERT(PRIO_HIGH == 4, "PRIO_HIGH == 4");
ABI_ASSERT(PRIO_HIGHEST == 5, "PRIO_HIGHEST == 5");

/* ---- version macros ------------------------------------------------------------------ */

ABI_ASSERT(DCAPI_CORE_VER == 8, "core API version is 8");
ABI_ASSERT(DCINTF_HOOKS_VER == 8, "DCHooks version is 8");
ABI_ASSERT(DCINTF_CONFIG_VER == 1, "DCConfig version is 1");
ABI_ASSERT(DCINTF_LOGGING_VER == 1, "DCLog version is 1");
ABI_ASSERT(DCINTF_DCPP_CONNECTIONS_VER == 1, "DCConnection version is 1");
ABI_ASSERT(DCINTF_DCPP_HUBS_VER == 1, "DCHub version is 1");
ABI_ASSERT(DCINTF_DCPP_QUEUE_VER == 1, "DCQueue version is 1");
ABI_ASSERT(DCINTF_DCPP_UTILS_VER == 1, "DCUtils version is 1");
ABI_ASSERT(DCINTF_DCPP_TAGGER_VER == 1, "DCTagger version is 1");
ABI_ASSERT(DCINTF_DCPP_UI_VER == 1, "DCUI version is 1");
ABI_ASSERT(DCINTF_DCPP_DATAACCESSOR_VER == 1, "DCDataAccess version is 1");

/* ---- data structs ---------------------------------------------------------------------
 *                                               offset:  L64 I386  W32                    */

/* MetaData: 6 pointers, 2 x uint32_t, double. On every target `version` lands on a multiple
 * of 8 (56 / 32), so i386 and Win32 agree here. */
FIELD(MetaData, name,            const char*,         0,   0,   0);
FIELD(MetaData, author,          const char*,         8,   4,   4);
FIELD(MetaData, description,     const char*,        16,   8,   8);
FIELD(MetaData, web,             const char*,        24,  12,  12);
FIELD(MetaData, guid,            const char*,        32,  16,  16);
FIELD(MetaData, dependencies,    const char**,       40,  20,  20);
FIELD(MetaData, numDependencies, uint32_t,           48,  24,  24);
FIELD(MetaData, apiVersion,      uint32_t,           52,  28,  28);
FIELD(MetaData, version,         double,             56,  32,  32);
SIZE(MetaData,                                       64,  40,  40);
ALIGN(MetaData,                                       8,   4,   8);

FIELD(ConfigValue, type,         ConfigType,          0,   0,   0);
SIZE(ConfigValue,                                     4,   4,   4);
ALIGN(ConfigValue,                                    4,   4,   4);

FIELD(ConfigStr, type,           ConfigType,          0,   0,   0);
FIELD(ConfigStr, value,          const char*,         8,   4,   4);
SIZE(ConfigStr,                                      16,   8,   8);
ALIGN(ConfigStr,                                      8,   4,   4);

FIELD(ConfigInt, type,           ConfigType,          0,   0,   0);
FIELD(ConfigInt, value,          int32_t,             4,   4,   4);
SIZE(ConfigInt,                                       8,   8,   8);
ALIGN(ConfigInt,                                      4,   4,   4);

FIELD(ConfigBool, type,          ConfigType,          0,   0,   0);
FIELD(ConfigBool, value,         Bool,                4,   4,   4);
SIZE(ConfigBool,                                      8,   8,   8);
ALIGN(ConfigBool,                                     4,   4,   4);

/* int64_t after a 4-byte head: padded to 8 except on i386 SysV. */
FIELD(ConfigInt64, type,         ConfigType,          0,   0,   0);
FIELD(ConfigInt64, value,        int64_t,             8,   4,   8);
SIZE(ConfigInt64,                                    16,  12,  16);
ALIGN(ConfigInt64,                                    8,   4,   8);

FIELD(StringData, in,            const char*,         0,   0,   0);
FIELD(StringData, out,           char*,               8,   4,   4);
SIZE(StringData,                                     16,   8,   8);
ALIGN(StringData,                                     8,   4,   4);

FIELD(CommandData, command,      const char*,         0,   0,   0);
FIELD(CommandData, params,       const char*,         8,   4,   4);
SIZE(CommandData,                                    16,   8,   8);
ALIGN(CommandData,                                    8,   4,   4);

FIELD(UserData, nick,            const char*,         0,   0,   0);
FIELD(UserData, hubHint,         const char*,         8,   4,   4);
FIELD(UserData, cid,             const char*,        16,   8,   8);
FIELD(UserData, object,          void*,              24,  12,  12);
FIELD(UserData, sid,             uint32_t,           32,  16,  16);
FIELD(UserData, protocol,        ProtocolType,       36,  20,  20);
FIELD(UserData, isOp,            Bool,               40,  24,  24);
FIELD(UserData, isManaged,       Bool,               44,  28,  28);
SIZE(UserData,                                       48,  32,  32);
ALIGN(UserData,                                       8,   4,   4);

/* uint16_t port is followed by 2 bytes of padding before the int-sized enum. */
FIELD(HubData, url,              const char*,         0,   0,   0);
FIELD(HubData, ip,               const char*,         8,   4,   4);
FIELD(HubData, object,           void*,              16,   8,   8);
FIELD(HubData, port,             uint16_t,           24,  12,  12);
FIELD(HubData, protocol,         ProtocolType,       28,  16,  16);
FIELD(HubData, isOp,             Bool,               32,  20,  20);
FIELD(HubData, isSecure,         Bool,               36,  24,  24);
FIELD(HubData, isManaged,        Bool,               40,  28,  28);
SIZE(HubData,                                        48,  32,  32);   /* L64: 44 -> 48 */
ALIGN(HubData,                                        8,   4,   4);

FIELD(ConnectionData, ip,        const char*,         0,   0,   0);
FIELD(ConnectionData, object,    void*,               8,   4,   4);
FIELD(ConnectionData, port,      uint16_t,           16,   8,   8);
FIELD(ConnectionData, protocol,  ProtocolType,       20,  12,  12);
FIELD(ConnectionData, isOp,      Bool,               24,  16,  16);
FIELD(ConnectionData, isSecure,  Bool,               28,  20,  20);
FIELD(ConnectionData, isManaged, Bool,               32,  24,  24);
SIZE(ConnectionData,                                 40,  28,  28);   /* L64: 36 -> 40 */
ALIGN(ConnectionData,                                 8,   4,   4);

FIELD(UDPData, ip,               const char*,         0,   0,   0);
FIELD(UDPData, port,             uint16_t,            8,   4,   4);
SIZE(UDPData,                                        16,   8,   8);
ALIGN(UDPData,                                        8,   4,   4);

/* uint64_t size at 16 on 32-bit: already 8-aligned, so i386 and Win32 agree. */
FIELD(QueueData, target,         const char*,         0,   0,   0);
FIELD(QueueData, location,       const char*,         8,   4,   4);
FIELD(QueueData, hash,           const char*,        16,   8,   8);
FIELD(QueueData, object,         void*,              24,  12,  12);
FIELD(QueueData, size,           uint64_t,           32,  16,  16);
FIELD(QueueData, isFileList,     Bool,               40,  24,  24);
FIELD(QueueData, isManaged,      Bool,               44,  28,  28);
SIZE(QueueData,                                      48,  32,  32);
ALIGN(QueueData,                                      8,   4,   8);

FIELD(TagData, object,           void*,               0,   0,   0);
FIELD(TagData, isManaged,        Bool,                8,   4,   4);
SIZE(TagData,                                        16,   8,   8);
ALIGN(TagData,                                        8,   4,   4);

/* uint64_t after a 4-byte pointer: the one struct where the three targets all differ. */
FIELD(DataArray, pData,          const void*,         0,   0,   0);
FIELD(DataArray, size,           uint64_t,            8,   4,   8);
SIZE(DataArray,                                      16,  12,  16);
ALIGN(DataArray,                                      8,   4,   8);

/* ---- function pointer types ------------------------------------------------------------ */

ABI_ASSERT(sizeof(DCHOOK) == PICK(8, 4, 4), "sizeof(DCHOOK)");
ABI_ASSERT(sizeof(DCMAIN) == PICK(8, 4, 4), "sizeof(DCMAIN)");
ABI_ASSERT(sizeof(DCPLUGIN_INIT) == PICK(8, 4, 4), "sizeof(DCPLUGIN_INIT)");
#ifndef __cplusplus
ABI_ASSERT(_Generic((DCHOOK)0, Bool (CC*)(void*, void*, void*, Bool*): 1, default: 0),
           "DCHOOK is Bool hook(void* object, void* data, void* common, Bool* bBreak)");
ABI_ASSERT(_Generic((DCMAIN)0, Bool (CC*)(PluginState, DCCore*, void*): 1, default: 0),
           "DCMAIN is Bool main(PluginState state, DCCore* core, void* data)");
ABI_ASSERT(_Generic((DCPLUGIN_INIT)0, DCMAIN (CC*)(MetaData*): 1, default: 0),
           "pluginInit is DCMAIN pluginInit(MetaData* info)");
#endif

/* ---- interfaces: uint32_t apiVersion, then function pointers ----------------------------
 * Function pointer i (from 0) is at 8 + 8*i on L64 and 4 + 4*i on 32-bit; the table's size
 * is 8 + 8*n / 4 + 4*n for n functions.
 *
 * Note on the copy functions: the fact sheet writes their argument as `const X*`; the header
 * writes `const XPtr`, i.e. `X* const` (the original SDK's spelling). The two are the same
 * in the binary, so FIELD2 accepts either. */

FIELD(DCInterface, apiVersion,   uint32_t,            0,   0,   0);
SIZE(DCInterface,                                     4,   4,   4);
ALIGN(DCInterface,                                    4,   4,   4);

FIELD(DCCore, apiVersion,        uint32_t,            0,   0,   0);
FIELD(DCCore, register_interface, void* (CC*)(const char*, void*),        8,   4,   4);
FIELD(DCCore, query_interface,   DCInterface* (CC*)(const char*, uint32_t), 16, 8,   8);
FIELD(DCCore, release_interface, Bool (CC*)(void*),                      24,  12,  12);
FIELD(DCCore, has_plugin,        Bool (CC*)(const char*),                32,  16,  16);
FIELD(DCCore, host_name,         const char* (CC*)(void),                40,  20,  20);
SIZE(DCCore,                                                             48,  24,  24);
ALIGN(DCCore,                                                             8,   4,   4);

FIELD(DCHooks, apiVersion,       uint32_t,            0,   0,   0);
FIELD(DCHooks, create_hook,      void* (CC*)(const char*, DCHOOK),        8,   4,   4);
FIELD(DCHooks, destroy_hook,     Bool (CC*)(void*),                      16,   8,   8);
FIELD(DCHooks, bind_hook,        void* (CC*)(const char*, DCHOOK, void*), 24, 12,  12);
FIELD(DCHooks, run_hook,         Bool (CC*)(void*, void*, void*),        32,  16,  16);
FIELD(DCHooks, release_hook,     size_t (CC*)(void*),                    40,  20,  20);
SIZE(DCHooks,                                                            48,  24,  24);
ALIGN(DCHooks,                                                            8,   4,   4);

FIELD(DCConfig, apiVersion,      uint32_t,            0,   0,   0);
FIELD(DCConfig, get_path,        ConfigStr* (CC*)(PathType),              8,   4,   4);
FIELD(DCConfig, get_install_path, ConfigStr* (CC*)(const char*),         16,   8,   8);
FIELD(DCConfig, set_cfg,         void (CC*)(const char*, const char*, ConfigValue*), 24, 12, 12);
FIELD(DCConfig, get_cfg,         ConfigValue* (CC*)(const char*, const char*, ConfigType), 32, 16, 16);
FIELD(DCConfig, get_language,    ConfigStr* (CC*)(void),                 40,  20,  20);
FIELD2(DCConfig, copy,           ConfigValue* (CC*)(const ConfigValue*),
                                 ConfigValue* (CC*)(ConfigValue*),       48,  24,  24);
FIELD(DCConfig, release,         void (CC*)(ConfigValue*),               56,  28,  28);
SIZE(DCConfig,                                                           64,  32,  32);
ALIGN(DCConfig,                                                           8,   4,   4);

FIELD(DCLog, apiVersion,         uint32_t,            0,   0,   0);
FIELD(DCLog, log,                void (CC*)(const char*),                 8,   4,   4);
SIZE(DCLog,                                                              16,   8,   8);
ALIGN(DCLog,                                                              8,   4,   4);

FIELD(DCConnection, apiVersion,  uint32_t,            0,   0,   0);
FIELD(DCConnection, send_udp_data, void (CC*)(const char*, uint32_t, void*, size_t), 8, 4, 4);
FIELD(DCConnection, send_protocol_cmd, void (CC*)(ConnectionData*, const char*), 16, 8, 8);
FIELD(DCConnection, terminate_conn, void (CC*)(ConnectionData*, Bool),   24,  12,  12);
FIELD(DCConnection, get_user,    UserData* (CC*)(ConnectionData*),       32,  16,  16);
SIZE(DCConnection,                                                       40,  20,  20);
ALIGN(DCConnection,                                                       8,   4,   4);

FIELD(DCHub, apiVersion,         uint32_t,            0,   0,   0);
FIELD(DCHub, add_hub,            HubData* (CC*)(const char*, const char*, const char*), 8, 4, 4);
FIELD(DCHub, find_hub,           HubData* (CC*)(const char*),            16,   8,   8);
FIELD(DCHub, remove_hub,         void (CC*)(HubData*),                   24,  12,  12);
FIELD(DCHub, emulate_protocol_cmd, void (CC*)(HubData*, const char*),    32,  16,  16);
FIELD(DCHub, send_protocol_cmd,  void (CC*)(HubData*, const char*),      40,  20,  20);
FIELD(DCHub, send_message,       void (CC*)(HubData*, const char*, Bool), 48, 24,  24);
FIELD(DCHub, local_message,      void (CC*)(HubData*, const char*, MsgType), 56, 28, 28);
FIELD(DCHub, send_private_message, Bool (CC*)(UserData*, const char*, Bool), 64, 32, 32);
FIELD(DCHub, find_user,          UserData* (CC*)(const char*, const char*), 72, 36,  36);
FIELD2(DCHub, copy_user,         UserData* (CC*)(const UserData*),
                                 UserData* (CC*)(UserData*),             80,  40,  40);
FIELD(DCHub, release_user,       void (CC*)(UserData*),                  88,  44,  44);
FIELD2(DCHub, copy,              HubData* (CC*)(const HubData*),
                                 HubData* (CC*)(HubData*),               96,  48,  48);
FIELD(DCHub, release,            void (CC*)(HubData*),                  104,  52,  52);
SIZE(DCHub,                                                             112,  56,  56);
ALIGN(DCHub,                                                              8,   4,   4);

FIELD(DCQueue, apiVersion,       uint32_t,            0,   0,   0);
FIELD(DCQueue, add_list,         QueueData* (CC*)(UserData*, Bool),       8,   4,   4);
FIELD(DCQueue, add_download,     QueueData* (CC*)(const char*, uint64_t, const char*), 16, 8, 8);
FIELD(DCQueue, find_download,    QueueData* (CC*)(const char*),          24,  12,  12);
FIELD(DCQueue, remove_download,  void (CC*)(QueueData*),                 32,  16,  16);
FIELD(DCQueue, set_priority,     void (CC*)(QueueData*, QueuePrio),      40,  20,  20);
FIELD(DCQueue, pause,            Bool (CC*)(QueueData*),                 48,  24,  24);
FIELD2(DCQueue, copy,            QueueData* (CC*)(const QueueData*),
                                 QueueData* (CC*)(QueueData*),           56,  28,  28);
FIELD(DCQueue, release,          void (CC*)(QueueData*),                 64,  32,  32);
SIZE(DCQueue,                                                            72,  36,  36);
ALIGN(DCQueue,                                                            8,   4,   4);

FIELD(DCUtils, apiVersion,       uint32_t,            0,   0,   0);
FIELD(DCUtils, to_utf8,          size_t (CC*)(char*, const char*, size_t),     8,   4,   4);
FIELD(DCUtils, from_utf8,        size_t (CC*)(char*, const char*, size_t),    16,   8,   8);
FIELD(DCUtils, utf8_to_wcs,      size_t (CC*)(wchar_t*, const char*, size_t), 24,  12,  12);
FIELD(DCUtils, wcs_to_utf8,      size_t (CC*)(char*, const wchar_t*, size_t), 32,  16,  16);
FIELD(DCUtils, to_base32,        size_t (CC*)(char*, const uint8_t*, size_t), 40,  20,  20);
FIELD(DCUtils, from_base32,      size_t (CC*)(uint8_t*, const char*, size_t), 48,  24,  24);
SIZE(DCUtils,                                                            56,  28,  28);
ALIGN(DCUtils,                                                            8,   4,   4);

FIELD(DCTagger, apiVersion,      uint32_t,            0,   0,   0);
FIELD(DCTagger, get_text,        const char* (CC*)(TagData*),             8,   4,   4);
FIELD(DCTagger, add_tag,
      void (CC*)(TagData*, size_t, size_t, const char*, const char*),    16,   8,   8);
FIELD(DCTagger, replace_text,
      void (CC*)(TagData*, size_t, size_t, const char*),                 24,  12,  12);
SIZE(DCTagger,                                                           32,  16,  16);
ALIGN(DCTagger,                                                           8,   4,   4);

FIELD(DCUI, apiVersion,          uint32_t,            0,   0,   0);
FIELD(DCUI, add_command,
      void (CC*)(const char*, const char*, void (CC*)(const char*), const char*), 8, 4, 4);
FIELD(DCUI, remove_command,      void (CC*)(const char*, const char*),   16,   8,   8);
FIELD(DCUI, play_sound,          void (CC*)(const char*),                24,  12,  12);
FIELD(DCUI, notify,              void (CC*)(const char*, const char*),   32,  16,  16);
SIZE(DCUI,                                                               40,  20,  20);
ALIGN(DCUI,                                                               8,   4,   4);

FIELD(DCDataAccess, apiVersion,  uint32_t,            0,   0,   0);
FIELD(DCDataAccess, get_http_resource, void (CC*)(const char*, const char*), 8, 4,   4);
FIELD2(DCDataAccess, copy,       DataArray* (CC*)(const DataArray*),
                                 DataArray* (CC*)(DataArray*),           16,   8,   8);
FIELD(DCDataAccess, release,     void (CC*)(DataArray*),                 24,  12,  12);
SIZE(DCDataAccess,                                                       32,  16,  16);
ALIGN(DCDataAccess,                                                       8,   4,   4);

/* pyhost's own optional interface (not part of the DC plugin ABI; other hosts answer NULL
 * for it): its layout is pyhost's contract with the plugins that use it. */
ABI_ASSERT(DCINTF_PYHOST_RPC_VER == 1, "DCRpc version is 1");
ABI_ASSERT(DCRPC_LEVEL_NONE == 0 && DCRPC_LEVEL_READONLY == 1 && DCRPC_LEVEL_NORMAL == 5 &&
           DCRPC_LEVEL_ADMIN == 10, "DCRpc levels are 0, 1, 5, 10");
FIELD(DCRpc, apiVersion,         uint32_t,            0,   0,   0);
FIELD(DCRpc, register_method,
      void* (CC*)(const char*, uint32_t, const char*, char* (CC*)(const char*, Bool*, void*),
                  void (CC*)(char*, void*), void*),                       8,   4,   4);
FIELD(DCRpc, unregister_method,  Bool (CC*)(void*),                      16,   8,   8);
FIELD(DCRpc, emit,               Bool (CC*)(const char*, const char*),   24,  12,  12);
SIZE(DCRpc,                                                              32,  16,  16);
ALIGN(DCRpc,                                                              8,   4,   4);

/* ---- guid strings ------------------------------------------------------------------------
 * In C only the length can be checked at compile time (sizeof of the literal); in C++11 a
 * constexpr comparison checks the exact text. */

#ifdef __cplusplus
static constexpr bool abi_streq(const char* a, const char* b)
{
    return *a == *b && (*a == '\0' || abi_streq(a + 1, b + 1));
}
#  define GUID(macro, text) \
    static_assert(abi_streq(macro, text), #macro " must be \"" text "\"")
#else
#  define GUID(macro, text) \
    _Static_assert(sizeof(macro) == sizeof(text), "length of " #macro " differs from \"" text "\"")
#endif

GUID(DCINTF_HOOKS,                 "generic.plugins.DCHooks");
GUID(DCINTF_CONFIG,                "generic.plugins.DCConfig");
GUID(DCINTF_LOGGING,               "generic.plugins.DCLog");
GUID(DCINTF_DCPP_CONNECTIONS,      "dcpp.network.DCConnection");
GUID(DCINTF_DCPP_HUBS,             "dcpp.network.DCHub");
GUID(DCINTF_DCPP_QUEUE,            "dcpp.queue.DCQueue");
GUID(DCINTF_DCPP_UTILS,            "dcpp.utils.DCUtils");
GUID(DCINTF_DCPP_TAGGER,           "dcpp.xml.DCTagger");
GUID(DCINTF_DCPP_UI,               "dcpp.ui.DCUI");
GUID(DCINTF_DCPP_DATAACCESSOR,     "dcpp.dataaccessor.DCDataAccess");
GUID(DCINTF_PYHOST_RPC,            "pyhost.rpc.DCRpc");

GUID(HOOK_CHAT_IN,                 "dcpp.chat.onIncomingChat");
GUID(HOOK_CHAT_OUT,                "dcpp.chat.onOutgoingChat");
GUID(HOOK_CHAT_PM_IN,              "dcpp.chat.onIncomingPM");
GUID(HOOK_CHAT_PM_OUT,             "dcpp.chat.onOutgoingPM");
GUID(HOOK_TIMER_SECOND,            "dcpp.timer.onSecond");
GUID(HOOK_TIMER_MINUTE,            "dcpp.timer.onMinute");
GUID(HOOK_HUB_ONLINE,              "dcpp.hubs.onOnline");
GUID(HOOK_HUB_OFFLINE,             "dcpp.hubs.onOffline");
GUID(HOOK_USER_ONLINE,             "dcpp.users.onOnline");
GUID(HOOK_USER_OFFLINE,            "dcpp.users.onOffline");
GUID(HOOK_NETWORK_HUB_IN,          "dcpp.network.onHubDataIn");
GUID(HOOK_NETWORK_HUB_OUT,         "dcpp.network.onHubDataOut");
GUID(HOOK_NETWORK_CONN_IN,         "dcpp.network.onClientDataIn");
GUID(HOOK_NETWORK_CONN_OUT,        "dcpp.network.onClientDataOut");
GUID(HOOK_NETWORK_UDP_IN,          "dcpp.network.onUDPDataIn");
GUID(HOOK_NETWORK_UDP_OUT,         "dcpp.network.onUDPDataOut");
GUID(HOOK_QUEUE_ADDED,             "dcpp.queue.onAdded");
GUID(HOOK_QUEUE_MOVED,             "dcpp.queue.onMoved");
GUID(HOOK_QUEUE_REMOVED,           "dcpp.queue.onRemoved");
GUID(HOOK_QUEUE_FINISHED,          "dcpp.queue.onFinished");
GUID(HOOK_UI_CREATED,              "dcpp.ui.onCreated");
GUID(HOOK_UI_CHAT_TAGS,            "dcpp.ui.onChatTags");
GUID(HOOK_UI_CHAT_DISPLAY,         "dcpp.ui.onChatDisplay");
GUID(HOOK_UI_PROCESS_CHAT_CMD,     "dcpp.ui.onChatCommand");
GUID(HOOK_UI_PROCESS_CHAT_CMD_PM,  "dcpp.ui.onChatCommandPM");
GUID(HOOK_DATA_HTTP_NOTIFY,        "dcpp.dataaccessor.onHTTPResourceNotification");
GUID(HOOK_DATA_HTTP_NOTIFY_FAILED, "dcpp.dataaccessor.onHTTPResourceNotificationFailed");
GUID(HOOK_DATA_HTTP_STREAM,        "dcpp.dataaccessor.onHTTPResourceStream");
