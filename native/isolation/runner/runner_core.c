/*
 * The DCCore the plugin receives in the runner, and its DCHooks, DCConfig and DCLog: every
 * function forwards to the host (see iso_proto.h for each payload). DCUtils and
 * DCConfig.copy/release are local.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../handle_set.h"
#include "../../pyhost_native.h"
#include "../../utils.h"
#include "runner.h"

/* What a hookHandle given to the plugin points to: the host's id for the hook and the
 * kinds of its object and data (asked again while the host does not know them). */
typedef struct runner_hook {
    uint64_t id;
    _Atomic uint32_t kinds;  /* okind | dkind << 8; ISO_K_UNKNOWN while undeclared */
} runner_hook;

static uint32_t pack_kinds(uint8_t okind, uint8_t dkind) { return okind | (uint32_t)dkind << 8; }

/* The hooks the plugin created and has not destroyed. destroy_hook looks its argument up
 * here without reading it, as the host does: garbage or a destroyed hook is refused
 * (False) instead of crashing the runner. */
static pthread_mutex_t live_hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static phn_set live_hooks = PHN_SET_INIT;

/* ---- small helpers ------------------------------------------------------------------- */

#define KEEP_STRINGS 8
static _Thread_local char* kept[KEEP_STRINGS];
static _Thread_local unsigned next_kept;

const char* runner_keep_string(const char* s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char* copy = malloc(n);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    unsigned at = next_kept++ % KEEP_STRINGS;
    free(kept[at]);
    kept[at] = copy;
    return copy;
}

static ConfigValue* cfg_from(iso_r* r)
{
    iso_cfg_storage st;
    ConfigValue* v = iso_get_cfg(r, &st);
    if (!v)
        return NULL;
    switch (v->type) {
    case CFG_TYPE_STRING: return phn_cfg_string(st.str.value);
    case CFG_TYPE_INT: return phn_cfg_int(st.i.value);
    case CFG_TYPE_BOOL: return phn_cfg_bool(st.b.value);
    case CFG_TYPE_INT64: return phn_cfg_int64(st.l.value);
    default: return NULL;
    }
}

/* ---- DCLog ----------------------------------------------------------------------------- */

static void DCAPI log_log(const char* msg)
{
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_str(&w, msg);
    runner_call(ISO_OP_LOG, &w, &reply, &r);
    iso_msg_free(&reply);
    iso_w_free(&w);
}

static DCLog log_table = {DCINTF_LOGGING_VER, log_log};

/* ---- DCConfig -------------------------------------------------------------------------- */

static ConfigValue* cfg_call(iso_w* w)
{
    iso_msg reply;
    iso_r r;
    iso_msg_init(&reply);
    runner_call(ISO_OP_CFG, w, &reply, &r);
    ConfigValue* v = cfg_from(&r);
    iso_msg_free(&reply);
    iso_w_free(w);
    return v;
}

static ConfigStr* DCAPI cfg_get_path(PathType type)
{
    iso_w w;
    iso_w_init(&w);
    iso_w_u8(&w, ISO_CFG_GET_PATH);
    iso_w_i32(&w, (int32_t)type);
    return (ConfigStr*)cfg_call(&w);
}

static ConfigStr* DCAPI cfg_get_install_path(const char* guid)
{
    iso_w w;
    iso_w_init(&w);
    iso_w_u8(&w, ISO_CFG_INSTALL_PATH);
    iso_w_str(&w, guid);
    return (ConfigStr*)cfg_call(&w);
}

static void DCAPI cfg_set(const char* guid, const char* setting, ConfigValue* value)
{
    iso_w w;
    iso_w_init(&w);
    iso_w_u8(&w, ISO_CFG_SET);
    iso_w_str(&w, guid);
    iso_w_str(&w, setting);
    iso_put_cfg(&w, value);
    ConfigValue* nothing = cfg_call(&w);
    if (nothing)
        phn_cfg_release(nothing);
}

static ConfigValue* DCAPI cfg_get(const char* guid, const char* setting, ConfigType type)
{
    iso_w w;
    iso_w_init(&w);
    iso_w_u8(&w, ISO_CFG_GET);
    iso_w_str(&w, guid);
    iso_w_str(&w, setting);
    iso_w_i32(&w, (int32_t)type);
    return cfg_call(&w);
}

static ConfigStr* DCAPI cfg_get_language(void)
{
    iso_w w;
    iso_w_init(&w);
    iso_w_u8(&w, ISO_CFG_LANGUAGE);
    return (ConfigStr*)cfg_call(&w);
}

static DCConfig config_table = {DCINTF_CONFIG_VER, cfg_get_path, cfg_get_install_path, cfg_set,
                                cfg_get, cfg_get_language, phn_cfg_copy, phn_cfg_release};

/* ---- DCHooks --------------------------------------------------------------------------- */

static uint64_t call_u64(uint32_t op, iso_w* w)
{
    iso_msg reply;
    iso_r r;
    iso_msg_init(&reply);
    runner_call(op, w, &reply, &r);
    uint64_t v = iso_r_u64(&r);
    iso_msg_free(&reply);
    iso_w_free(w);
    return v;
}

static hookHandle DCAPI hooks_create(const char* guid, DCHOOK def_proc)
{
    if (!guid)
        return NULL;
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_str(&w, guid);
    iso_w_ptr(&w, (void*)def_proc);
    runner_call(ISO_OP_CREATE_HOOK, &w, &reply, &r);
    uint64_t id = iso_r_u64(&r);
    uint8_t okind = iso_r_u8(&r), dkind = iso_r_u8(&r);
    iso_msg_free(&reply);
    iso_w_free(&w);
    if (!id || r.err)
        return NULL;
    runner_hook* h = calloc(1, sizeof *h);
    if (!h)
        return NULL;  /* the host's hook stays; the plugin could not use it anyway */
    h->id = id;
    atomic_store(&h->kinds, pack_kinds(okind, dkind));
    pthread_mutex_lock(&live_hooks_lock);
    phn_slot* slot = phn_set_insert(&live_hooks, h);
    pthread_mutex_unlock(&live_hooks_lock);
    if (!slot) {
        free(h);      /* as above */
        return NULL;
    }
    return h;
}

static Bool DCAPI hooks_destroy(hookHandle handle)
{
    runner_hook* h = handle;
    pthread_mutex_lock(&live_hooks_lock);
    phn_slot* slot = phn_set_find(&live_hooks, h);
    if (slot)
        phn_set_erase(&live_hooks, slot);  /* claimed: a concurrent destroy is refused */
    pthread_mutex_unlock(&live_hooks_lock);
    if (!slot)
        return False;
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, h->id);
    Bool ok = call_u64(ISO_OP_DESTROY_HOOK, &w) ? True : False;
    if (ok) {
        free(h);  /* as in one process: a destroyed hook's handle is dead */
    } else {
        pthread_mutex_lock(&live_hooks_lock);
        phn_set_insert(&live_hooks, h);  /* out of memory: it runs, but stays for good */
        pthread_mutex_unlock(&live_hooks_lock);
    }
    return ok;
}

static subsHandle DCAPI hooks_bind(const char* guid, DCHOOK proc, void* common)
{
    if (!guid || !proc)
        return NULL;
    iso_w w;
    iso_w_init(&w);
    iso_w_str(&w, guid);
    iso_w_ptr(&w, (void*)proc);
    iso_w_ptr(&w, common);
    return (subsHandle)(uintptr_t)call_u64(ISO_OP_BIND_HOOK, &w);
}

static uint32_t hook_kinds(runner_hook* h)
{
    uint32_t kinds = atomic_load(&h->kinds);
    if ((kinds & 0xFF) != ISO_K_UNKNOWN && (kinds >> 8) != ISO_K_UNKNOWN)
        return kinds;
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_u64(&w, h->id);
    runner_call(ISO_OP_HOOK_KINDS, &w, &reply, &r);
    uint8_t okind = iso_r_u8(&r), dkind = iso_r_u8(&r);
    if (!r.err) {
        kinds = pack_kinds(okind, dkind);
        atomic_store(&h->kinds, kinds);
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return kinds;
}

static Bool DCAPI hooks_run(hookHandle handle, dcptr_t object, dcptr_t data)
{
    runner_hook* h = handle;
    if (!h)
        return False;
    uint32_t kinds = hook_kinds(h);
    uint8_t okind = kinds & 0xFF, dkind = (uint8_t)(kinds >> 8);
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_u64(&w, h->id);
    iso_w_u8(&w, okind);
    iso_w_u8(&w, dkind);
    iso_put_value(&w, okind, object);
    iso_put_value(&w, dkind, data);
    runner_call(ISO_OP_RUN_HOOK, &w, &reply, &r);
    Bool handled = iso_r_u32(&r) ? True : False;
    if (dkind == ISO_K_DISPLAY && data && iso_r_u8(&r)) {
        const char* out = iso_r_str(&r);
        if (!r.err)  /* the subscriber that set it owns its copy; this one is ours */
            ((StringData*)data)->out = (char*)runner_keep_string(out);
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return r.err ? False : handled;
}

static size_t DCAPI hooks_release(subsHandle sub)
{
    if (!sub)
        return 0;
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, (uint64_t)(uintptr_t)sub);
    return (size_t)call_u64(ISO_OP_RELEASE_HOOK, &w);
}

static DCHooks hooks_table = {DCINTF_HOOKS_VER, hooks_create, hooks_destroy, hooks_bind,
                              hooks_run, hooks_release};

/* ---- DCCore ---------------------------------------------------------------------------- */

static intfHandle DCAPI core_register(const char* guid, dcptr_t table)
{
    if (!guid || !table)
        return NULL;
    iso_w w;
    iso_w_init(&w);
    iso_w_str(&w, guid);
    iso_w_ptr(&w, table);
    iso_w_u32(&w, ((DCInterface*)table)->apiVersion);
    return (intfHandle)(uintptr_t)call_u64(ISO_OP_REGISTER_INTF, &w);
}

static DCInterfacePtr DCAPI core_query(const char* guid, uint32_t version)
{
    if (!guid)
        return NULL;
    if (strcmp(guid, DCINTF_HOOKS) == 0)
        return version <= DCINTF_HOOKS_VER ? (DCInterface*)&hooks_table : NULL;
    if (strcmp(guid, DCINTF_LOGGING) == 0)
        return version <= DCINTF_LOGGING_VER ? (DCInterface*)&log_table : NULL;
    if (strcmp(guid, DCINTF_CONFIG) == 0)
        return version <= DCINTF_CONFIG_VER ? (DCInterface*)&config_table : NULL;
    if (strcmp(guid, DCINTF_DCPP_UTILS) == 0)
        return version <= DCINTF_DCPP_UTILS_VER ? (DCInterface*)phn_utils_table() : NULL;
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_str(&w, guid);
    iso_w_u32(&w, version);
    runner_call(ISO_OP_QUERY_INTF, &w, &reply, &r);
    DCInterface* found = NULL;
    switch (iso_r_u8(&r)) {
    case ISO_Q_BUILTIN: {
        int which = iso_r_u8(&r);
        uint32_t v = iso_r_u32(&r);
        if (!r.err)
            found = runner_app_table(which, v);
        break;
    }
    case ISO_Q_OWN: {
        void* table = iso_r_ptr(&r);
        if (!r.err)
            found = table;
        break;
    }
    case ISO_Q_GENERIC: {
        uint64_t id = iso_r_u64(&r);
        uint32_t v = iso_r_u32(&r);
        const char* codes = iso_r_str(&r);
        if (!r.err && codes)
            found = runner_generic_table(id, v, codes);
        break;
    }
    default:
        break;
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return found;
}

static Bool DCAPI core_release(intfHandle handle)
{
    if (!handle)
        return False;
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, (uint64_t)(uintptr_t)handle);
    return call_u64(ISO_OP_RELEASE_INTF, &w) ? True : False;
}

static Bool DCAPI core_has_plugin(const char* guid)
{
    if (!guid)
        return False;
    iso_w w;
    iso_w_init(&w);
    iso_w_str(&w, guid);
    return call_u64(ISO_OP_HAS_PLUGIN, &w) ? True : False;
}

static const char* DCAPI core_host_name(void)
{
    static _Atomic(const char*) name;
    const char* known = atomic_load(&name);
    if (known)
        return known;
    iso_w w;
    iso_msg reply;
    iso_r r;
    iso_w_init(&w);
    iso_msg_init(&reply);
    runner_call(ISO_OP_HOST_NAME, &w, &reply, &r);
    const char* got = iso_r_str(&r);
    char* copy = strdup(got && !r.err ? got : "pyhost");
    const char* expected = NULL;
    if (copy && !atomic_compare_exchange_strong(&name, &expected, copy))
        free(copy);  /* another thread cached it first */
    iso_msg_free(&reply);
    iso_w_free(&w);
    return atomic_load(&name) ? atomic_load(&name) : "pyhost";
}

static DCCore core_table = {DCAPI_CORE_VER, core_register, core_query, core_release,
                            core_has_plugin, core_host_name};

DCCore* runner_core(void) { return &core_table; }
