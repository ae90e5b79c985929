/*
 * The host's calls into the runner: open the plugin, call its main, its hook subscribers,
 * the interface tables it registered and its UI commands; and the tables of host
 * interfaces forwarded through libffi.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../iso_ffi.h"
#include "runner.h"

#define MAX_DEPENDENCIES 1024

static void open_plugin(iso_r* in, iso_w* out)
{
    const char* path = iso_r_str(in);
    if (in->err || !path || R.library) {
        iso_w_u32(out, 3);
        iso_w_str(out, "bad open request");
        return;
    }
    /* The reference host's flags: lazy binding, symbols visible to later libraries. */
    R.library = dlopen(path, RTLD_LAZY | RTLD_GLOBAL);
    if (!R.library) {
        const char* why = dlerror();
        iso_w_u32(out, 1);
        iso_w_str(out, why ? why : "unknown dlopen error");
        return;
    }
    DCPLUGIN_INIT init = (DCPLUGIN_INIT)(uintptr_t)dlsym(R.library, "pluginInit");
    if (!init) {
        iso_w_u32(out, 2);
        iso_w_str(out, "no pluginInit");
        return;
    }
    memset(&R.meta, 0, sizeof R.meta);
    R.main_fn = init(&R.meta);
    const MetaData* m = &R.meta;
    iso_w_u32(out, 0);
    iso_w_u32(out, R.main_fn ? 1 : 0);
    iso_w_str(out, m->name);
    iso_w_str(out, m->author);
    iso_w_str(out, m->description);
    iso_w_str(out, m->web);
    iso_w_str(out, m->guid);
    iso_w_u32(out, m->apiVersion);
    iso_w_f64(out, m->version);
    iso_w_u32(out, m->numDependencies);
    iso_w_u32(out, m->dependencies ? 1 : 0);
    if (m->dependencies && m->numDependencies <= MAX_DEPENDENCIES)
        for (uint32_t i = 0; i < m->numDependencies; ++i)
            iso_w_str(out, m->dependencies[i]);
}

static void call_main(iso_r* in, iso_w* out)
{
    int32_t state = iso_r_i32(in);
    if (in->err || !R.main_fn) {
        iso_w_u32(out, 0);
        return;
    }
    /* As in one process: no core for the unload states; ON_CONFIGURE's host data is the
     * host's own business and stays there. */
    DCCore* core = (state == ON_UNLOAD || state == ON_UNINSTALL) ? NULL : runner_core();
    iso_w_u32(out, R.main_fn((PluginState)state, core, NULL) ? 1 : 0);
}

static void call_hook(iso_r* in, iso_w* out)
{
    DCHOOK proc = (DCHOOK)(uintptr_t)iso_r_u64(in);
    void* common = iso_r_ptr(in);
    int okind = iso_r_u8(in), dkind = iso_r_u8(in);
    int flags = iso_r_u8(in);
    runner_frame f;
    if (iso_get_value(in, okind, &f.obj_v) != 0 || iso_get_value(in, dkind, &f.data_v) != 0 ||
        !proc) {
        iso_w_u32(out, 0);
        iso_w_u32(out, 0);
        return;
    }
    runner_values_enter(&f, okind, dkind);
    Bool brk = False;
    Bool handled = proc(f.object, f.data, common, &brk) ? True : False;
    iso_w_u32(out, handled);
    iso_w_u32(out, brk ? 1 : 0);
    if (dkind == ISO_K_DISPLAY) {
        char* after = f.data ? ((StringData*)f.data)->out : NULL;
        int changed = after != f.out_before;
        iso_w_u8(out, (uint8_t)changed);
        if (changed)
            iso_w_str(out, after);  /* the plugin keeps owning its string */
    }
    runner_values_leave(&f, flags & 1);
}

static void call_interface(iso_r* in, iso_w* out)
{
    void** table = iso_r_ptr(in);
    uint32_t slot = iso_r_u32(in);
    const char* codes = iso_r_str(in);
    if (in->err || !table || !codes || slot == 0)
        return;
    iso_ffi_invoke(table[slot], codes, in, out);
}

static void run_command(iso_r* in)
{
    DCCommandFunc fn = (DCCommandFunc)(uintptr_t)iso_r_u64(in);
    const char* name = iso_r_str(in);
    if (!in->err && fn)
        fn(name);
}

static void shutdown_plugin(void)
{
    /* The host closes the socket after this answer; the watcher thread then exits. */
    if (R.library) {
        dlclose(R.library);
        R.library = NULL;
        R.main_fn = NULL;
    }
}

void runner_handle(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out)
{
    (void)ep;
    switch (op) {
    case ISO_OP_OPEN: open_plugin(in, out); break;
    case ISO_OP_MAIN: call_main(in, out); break;
    case ISO_OP_HOOK: call_hook(in, out); break;
    case ISO_OP_INTF_CALL: call_interface(in, out); break;
    case ISO_OP_UI_COMMAND: run_command(in); break;
    case ISO_OP_SHUTDOWN: shutdown_plugin(); break;
    default: break;
    }
}

/* ---- host interfaces forwarded through libffi ------------------------------------------- */

typedef struct generic {
    struct generic* next;
    uint64_t id;
    iso_ftable* table;
} generic;

static pthread_mutex_t generic_lock = PTHREAD_MUTEX_INITIALIZER;
static generic* generics;

static int send_generic(iso_ftable* t, int slot, const char* slot_codes, const iso_w* args,
                        iso_msg* reply)
{
    (void)slot_codes;
    generic* g = iso_ftable_ctx(t);
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, g->id);
    iso_w_u32(&w, (uint32_t)slot);
    iso_w_raw(&w, args->p, args->len);
    iso_r r;
    int rc = runner_call(ISO_OP_GCALL, &w, reply, &r);
    iso_w_free(&w);
    return rc;
}

DCInterface* runner_generic_table(uint64_t id, uint32_t version, const char* codes)
{
    pthread_mutex_lock(&generic_lock);
    for (generic* g = generics; g; g = g->next)
        if (g->id == id) {
            pthread_mutex_unlock(&generic_lock);
            return iso_ftable_table(g->table);
        }
    generic* g = calloc(1, sizeof *g);
    if (g) {
        g->id = id;
        g->table = iso_ftable_new(codes, version, send_generic, g);
        if (!g->table) {
            free(g);
            g = NULL;
        } else {
            g->next = generics;
            generics = g;
        }
    }
    pthread_mutex_unlock(&generic_lock);
    return g ? iso_ftable_table(g->table) : NULL;
}
