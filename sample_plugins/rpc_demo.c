/*
 * rpc_demo -- a compiled plugin that exports methods and emits events through pyhost's own
 * optional interface pyhost.rpc.DCRpc (sdk_headers/dcplugin.h, docs/exported-methods.md).
 * In a host without it (query_interface answers NULL) it still loads and counts chat.
 *
 * Methods, called by clients as "rpc_demo.<name>":
 *   add [a, b]      -> a + b (integers); emits "added" {"a", "b", "sum"}      level NORMAL
 *   echo <any>      -> the arguments as sent                                    level READONLY
 *   count []        -> {"chat": messages seen, "calls": add calls}              level NONE
 *   reset []        -> null, both counters back to 0                            level ADMIN
 *   sleep [ms]      -> ms, after sleeping that long (for time-out tests)        level NORMAL
 *   fail []         -> fails with a message (a string literal: release NULL)    level NORMAL
 * Each incoming hub chat message emits "chat_seen" {"count": n}.
 *
 * Results are malloc'ed; the host copies each and calls release_result (free) for it.
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <windows.h>
#else
#  include <time.h>
#endif

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1}"

static DCHooksPtr hooks;
static DCRpcPtr rpc;
static subsHandle on_chat;
static rpcHandle methods[6];
static long chat_count;  /* updated with atomic builtins: methods run on worker threads */
static long call_count;

static char* dup_text(const char* text)
{
    size_t n = strlen(text) + 1;
    char* out = malloc(n);
    if (out)
        memcpy(out, text, n);
    return out;
}

static char* printf_text(const char* format, long long a, long long b, long long c)
{
    char buffer[160];
    snprintf(buffer, sizeof buffer, format, a, b, c);
    return dup_text(buffer);
}

static void DCAPI release_result(char* result, void* common)
{
    (void)common;
    free(result);
}

/* The integers of a JSON array such as "[1, -2]"; returns how many were read (up to max). */
static int read_integers(const char* params, long long* out, int max)
{
    const char* p = params;
    int n = 0;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != '[')
        return -1;
    p++;
    while (n < max) {
        char* end;
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ']')
            break;
        errno = 0;
        out[n] = strtoll(p, &end, 10);
        if (end == p || (*end == '.' || *end == 'e' || *end == 'E') || errno == ERANGE)
            return -1; /* (ERANGE: beyond 64 bits, which strtoll would clamp) */
        n++;
        p = end;
    }
    return n;
}

static char* DCAPI rpc_add(const char* params, Bool* failed, void* common)
{
    long long v[2];
    (void)common;
    if (read_integers(params, v, 2) != 2) {
        *failed = True;
        return dup_text("add takes two integers, e.g. [2, 3].");
    }
    if ((v[1] > 0 && v[0] > LLONG_MAX - v[1]) || (v[1] < 0 && v[0] < LLONG_MIN - v[1])) {
        *failed = True;
        return dup_text("the sum does not fit in 64 bits.");
    }
    __atomic_add_fetch(&call_count, 1, __ATOMIC_SEQ_CST);
    if (rpc) {
        char* event = printf_text("{\"a\": %lld, \"b\": %lld, \"sum\": %lld}", v[0], v[1],
                                  v[0] + v[1]);
        if (event) {
            rpc->emit("added", event);
            free(event);
        }
    }
    return printf_text("%lld", v[0] + v[1], 0, 0);
}

static char* DCAPI rpc_echo(const char* params, Bool* failed, void* common)
{
    (void)failed;
    (void)common;
    return dup_text(params);
}

static char* DCAPI rpc_count(const char* params, Bool* failed, void* common)
{
    (void)params;
    (void)failed;
    (void)common;
    return printf_text("{\"chat\": %lld, \"calls\": %lld}",
                       __atomic_load_n(&chat_count, __ATOMIC_SEQ_CST),
                       __atomic_load_n(&call_count, __ATOMIC_SEQ_CST), 0);
}

static char* DCAPI rpc_reset(const char* params, Bool* failed, void* common)
{
    (void)params;
    (void)failed;
    (void)common;
    __atomic_store_n(&chat_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&call_count, 0, __ATOMIC_SEQ_CST);
    return NULL;  /* null */
}

static char* DCAPI rpc_sleep(const char* params, Bool* failed, void* common)
{
    long long ms;
    (void)common;
    if (read_integers(params, &ms, 1) != 1 || ms < 0 || ms > 600000) {
        *failed = True;
        return dup_text("sleep takes a number of milliseconds from 0 to 600000.");
    }
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
#endif
    return printf_text("%lld", ms, 0, 0);
}

static char* DCAPI rpc_fail(const char* params, Bool* failed, void* common)
{
    (void)params;
    (void)common;
    *failed = True;
    return (char*)"rpc_demo failed on purpose";  /* a literal: registered with release NULL */
}

static Bool DCAPI on_incoming_chat(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    char event[64];
    long n = __atomic_add_fetch(&chat_count, 1, __ATOMIC_SEQ_CST);
    (void)object;
    (void)data;
    (void)common;
    (void)bBreak;
    if (rpc) {
        snprintf(event, sizeof event, "{\"count\": %ld}", n);
        rpc->emit("chat_seen", event);
    }
    return False;
}

static void export_methods(void)
{
    methods[0] = rpc->register_method("add", DCRPC_LEVEL_NORMAL, "Adds two integers: [a, b]",
                                      rpc_add, release_result, NULL);
    methods[1] = rpc->register_method("echo", DCRPC_LEVEL_READONLY, "Returns its arguments",
                                      rpc_echo, release_result, NULL);
    methods[2] = rpc->register_method("count", DCRPC_LEVEL_NONE,
                                      "Chat messages seen and add calls", rpc_count,
                                      release_result, NULL);
    methods[3] = rpc->register_method("reset", DCRPC_LEVEL_ADMIN, "Resets the counters",
                                      rpc_reset, release_result, NULL);
    methods[4] = rpc->register_method("sleep", DCRPC_LEVEL_NORMAL,
                                      "Sleeps [ms] milliseconds, then returns ms", rpc_sleep,
                                      release_result, NULL);
    methods[5] = rpc->register_method("fail", DCRPC_LEVEL_NORMAL, "Always fails", rpc_fail,
                                      NULL, NULL);
}

static Bool on_load(DCCorePtr core)
{
    hooks = (DCHooksPtr)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
    if (!hooks)
        return False;
    /* Optional: only pyhost has it. Without it, the plugin simply exports nothing. */
    rpc = (DCRpcPtr)core->query_interface(DCINTF_PYHOST_RPC, DCINTF_PYHOST_RPC_VER);
    on_chat = hooks->bind_hook(HOOK_CHAT_IN, on_incoming_chat, NULL);
    if (!on_chat)
        return False;
    if (rpc)
        export_methods();
    return True;
}

static void on_unload(void)
{
    size_t i;
    for (i = 0; rpc && i < sizeof methods / sizeof methods[0]; i++) {
        if (methods[i])
            rpc->unregister_method(methods[i]);
        methods[i] = NULL;
    }
    if (on_chat)
        hooks->release_hook(on_chat);
    on_chat = NULL;
    hooks = NULL;
    rpc = NULL;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        return on_load(core);
    case ON_UNINSTALL:
    case ON_UNLOAD:
        on_unload();
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "RPC demo";
    info->author = "pyhost developers";
    info->description = "Exports methods and emits events through pyhost.rpc.DCRpc";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
