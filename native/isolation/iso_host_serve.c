/*
 * The runner's calls into the host (iso_proto.h, "runner -> host"), served with the
 * isolated plugin's own DCCore: the same tables, ownership records and checks the plugin
 * would meet in the host's process. Nothing the runner sends is trusted: handles are ids
 * checked against this plugin's table, values are copied and checked (iso_wire.h), a
 * TagData token is honoured only while that onChatTags call runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../app_data.h"
#include "../epoch.h"
#include "iso_cfg.h"
#include "iso_host.h"

static const char* const APP_GUIDS[ISO_APP_COUNT] = {
    NULL, DCINTF_DCPP_HUBS, DCINTF_DCPP_CONNECTIONS, DCINTF_DCPP_QUEUE, DCINTF_DCPP_UI,
    DCINTF_DCPP_TAGGER, DCINTF_DCPP_DATAACCESSOR};

static int gone_hook(const char* guid)
{
    return strcmp(guid, HOOK_HUB_OFFLINE) == 0 || strcmp(guid, HOOK_USER_OFFLINE) == 0 ||
           strcmp(guid, HOOK_QUEUE_REMOVED) == 0 || strcmp(guid, HOOK_QUEUE_FINISHED) == 0;
}

static uint32_t kinds_of(const char* guid)
{
    int okind, dkind;
    phn_iso_hook_kinds(guid, &okind, &dkind);
    return (uint32_t)(okind & 0xFF) | (uint32_t)(dkind & 0xFF) << 8;
}

/* ---- DCCore ---------------------------------------------------------------------------- */

static void register_intf(phn_iso_channel* c, iso_r* in, iso_w* out)
{
    phn_iso_plugin* p = c->plugin;
    const char* guid = iso_r_str(in);
    uint64_t remote = iso_r_u64(in);
    uint32_t version = iso_r_u32(in);
    if (in->err || !guid || !remote || !p->core) {
        iso_w_u64(out, 0);
        return;
    }
    /* A restarted runner registering what its predecessor had: take the registration over
     * (holders of the table keep working). A live one is the first registration: it wins. */
    pthread_mutex_lock(&p->lock);
    for (iso_intfrec* r = p->intfrecs; r; r = r->next) {
        phn_iso_channel* owner = atomic_load(&r->channel);
        if (!r->guid || strcmp(r->guid, guid) != 0)
            continue;
        if (owner && !iso_ep_is_dead(&owner->ep)) {
            pthread_mutex_unlock(&p->lock);
            iso_w_u64(out, 0);
            return;
        }
        for (size_t i = 0; i < p->nhandles; ++i) {
            iso_handle* h = &p->handles[i];
            if (h->type == H_INTF && h->rec == r) {
                atomic_store(&r->remote, remote);
                atomic_store(&r->channel, c);
                uint64_t id = ((uint64_t)h->gen << 32) | (uint64_t)(i + 1);
                pthread_mutex_unlock(&p->lock);
                iso_w_u64(out, id);
                return;
            }
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (p->core->query_interface(guid, 0)) {  /* the first registration wins */
        iso_w_u64(out, 0);
        return;
    }
    iso_intfrec* rec = calloc(1, sizeof *rec);
    if (!rec) {
        iso_w_u64(out, 0);
        return;
    }
    rec->plugin = p;
    atomic_store(&rec->channel, c);
    atomic_store(&rec->remote, remote);
    rec->version = version;
    const char* codes = phn_iso_interface_codes(guid);
    void* handle = NULL;
    if (codes) {
        rec->ftable = iso_ftable_new(codes, version, iso_intf_send, rec);
        handle = rec->ftable ? p->core->register_interface(guid, iso_ftable_table(rec->ftable))
                             : NULL;
    } else {
        /* Without a description the registration waits (phn_iso_plugin_resolve), holding
         * its guid meanwhile: a later registration by anyone is refused, as in one process. */
        handle = p->core->register_interface(guid, phn_reserved_interface());
    }
    if (!handle) {
        iso_ftable_free(rec->ftable);
        free(rec);
        iso_w_u64(out, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    rec->guid = iso_intern(p, guid);
    rec->next = p->intfrecs;
    p->intfrecs = rec;
    uint64_t id = iso_handle_add(p, H_INTF, handle, rec, rec->guid);
    pthread_mutex_unlock(&p->lock);
    iso_w_u64(out, id);
}

DCInterface* phn_iso_plugin_resolve(phn_iso_plugin* p, const char* guid, uint32_t version)
{
    if (!guid)
        return NULL;
    const char* codes = phn_iso_interface_codes(guid);
    pthread_mutex_lock(&p->lock);
    iso_intfrec* found = NULL;
    iso_handle* entry = NULL;
    for (size_t i = 0; i < p->nhandles && !found; ++i) {
        iso_handle* h = &p->handles[i];
        iso_intfrec* r = h->rec;
        if (h->type == H_INTF && r->guid && strcmp(r->guid, guid) == 0) {
            found = r;
            entry = h;
        }
    }
    DCCore* core = p->core;
    int pending = found && !found->ftable;
    void* reservation = entry ? entry->handle : NULL;  /* a token: never reused */
    pthread_mutex_unlock(&p->lock);
    if (!found || !codes || !core)
        return NULL;
    if (pending) {
        /* the reservation made at registration gets its forwarding table, same handle */
        iso_ftable* t = iso_ftable_new(codes, found->version, iso_intf_send, found);
        if (!t || !phn_fill_interface(p->bus, reservation, iso_ftable_table(t))) {
            iso_ftable_free(t);
            return NULL;
        }
        pthread_mutex_lock(&p->lock);
        found->ftable = t;
        pthread_mutex_unlock(&p->lock);
    }
    return version <= found->version ? iso_ftable_table(found->ftable) : NULL;
}

static void query_intf(phn_iso_channel* c, iso_r* in, iso_w* out)
{
    phn_iso_plugin* p = c->plugin;
    const char* guid = iso_r_str(in);
    uint32_t version = iso_r_u32(in);
    if (in->err || !guid || !p->core) {
        iso_w_u8(out, ISO_Q_NONE);
        return;
    }
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nhandles; ++i) {
        iso_handle* h = &p->handles[i];
        iso_intfrec* r = h->rec;
        if (h->type == H_INTF && strcmp(r->guid, guid) == 0 && atomic_load(&r->channel) == c) {
            uint64_t remote = atomic_load(&r->remote);
            int fits = version <= r->version;
            pthread_mutex_unlock(&p->lock);
            iso_w_u8(out, fits ? ISO_Q_OWN : ISO_Q_NONE);
            if (fits)
                iso_w_u64(out, remote);  /* its own table, unchanged */
            return;
        }
    }
    pthread_mutex_unlock(&p->lock);
    DCInterface* table = p->core->query_interface(guid, version);
    if (!table) {
        iso_w_u8(out, ISO_Q_NONE);
        return;
    }
    for (int which = 1; which < ISO_APP_COUNT; ++which) {
        if (strcmp(guid, APP_GUIDS[which]) == 0) {
            /* The runner's tables are those of version 1 of each interface. */
            iso_w_u8(out, version <= 1 ? ISO_Q_BUILTIN : ISO_Q_NONE);
            if (version <= 1) {
                iso_w_u8(out, (uint8_t)which);
                iso_w_u32(out, table->apiVersion);
            }
            return;
        }
    }
    const char* codes = phn_iso_interface_codes(guid);
    if (!codes) {
        iso_w_u8(out, ISO_Q_NONE);  /* undescribed: cannot cross processes */
        return;
    }
    pthread_mutex_lock(&p->lock);
    uint64_t id = 0;
    for (size_t i = 0; i < p->nhandles && !id; ++i) {
        iso_handle* h = &p->handles[i];
        if (h->type == H_QINTF && h->handle == table)
            id = ((uint64_t)h->gen << 32) | (uint64_t)(i + 1);
    }
    if (!id) {
        iso_qintf* q = calloc(1, sizeof *q);
        if (q) {
            q->table = table;
            q->version = table->apiVersion;
            q->codes = codes;
            q->guid = iso_intern(p, guid);
            q->next = p->qintfs;
            p->qintfs = q;
            id = iso_handle_add(p, H_QINTF, table, q, q->guid);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (!id) {
        iso_w_u8(out, ISO_Q_NONE);
        return;
    }
    iso_w_u8(out, ISO_Q_GENERIC);
    iso_w_u64(out, id);
    iso_w_u32(out, table->apiVersion);
    iso_w_str(out, codes);
}

static void release_intf(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    pthread_mutex_lock(&p->lock);
    iso_handle* h = in->err ? NULL : iso_handle_get(p, id, H_INTF);
    void* handle = h ? h->handle : NULL;
    int known = h != NULL;
    if (h) {
        ((iso_intfrec*)h->rec)->guid = NULL;  /* never taken over again */
        iso_handle_drop(p, h);
    }
    DCCore* core = p->core;
    pthread_mutex_unlock(&p->lock);
    Bool ok = known ? True : False;
    if (handle && core)
        ok = core->release_interface(handle);
    iso_w_u64(out, ok ? 1 : 0);
}

static void generic_call(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    uint32_t slot = iso_r_u32(in);
    pthread_mutex_lock(&p->lock);
    iso_handle* h = in->err ? NULL : iso_handle_get(p, id, H_QINTF);
    iso_qintf q = h ? *(iso_qintf*)h->rec : (iso_qintf){0};
    DCCore* core = p->core;
    pthread_mutex_unlock(&p->lock);
    char codes[ISO_FFI_MAX_ARGS + 3];
    if (!h || !core || slot == 0 || iso_sig_slot(q.codes, (int)slot, codes, sizeof codes) != 0)
        return;
    /* The provider may have gone since the query: call only a table still registered. */
    if (core->query_interface(q.guid, 0) != q.table)
        return;
    void* fn = ((void**)q.table)[slot];
    iso_ffi_invoke(fn, codes, in, out);
}

/* ---- DCHooks ----------------------------------------------------------------------------- */

static int hookrec_default(void* ctx, void* object, void* data, int* brk)
{
    iso_hookrec* r = ctx;
    phn_iso_channel* c = atomic_load(&r->channel);
    uint64_t proc = atomic_load(&r->def_proc);
    if (!c || !proc)
        return 0;
    uint32_t flags = gone_hook(r->guid) ? ISO_SUB_GONE : 0;
    return iso_forward_hook(c, r->guid, proc, 0, kinds_of(r->guid), flags,
                            iso_hook_deadline(r->plugin, r->guid), object, data, (Bool*)brk);
}

static void create_hook(phn_iso_channel* c, iso_r* in, iso_w* out)
{
    phn_iso_plugin* p = c->plugin;
    const char* guid = iso_r_str(in);
    uint64_t def_proc = iso_r_u64(in);
    uint32_t kinds = guid ? kinds_of(guid) : 0xFFFF;
    uint64_t id = 0;
    if (in->err || !guid || !p->hooks)
        goto reply;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nhandles && !id; ++i) {
        iso_handle* h = &p->handles[i];
        iso_hookrec* r = h->rec;
        phn_iso_channel* owner = h->type == H_HOOK ? atomic_load(&r->channel) : NULL;
        if (h->type == H_HOOK && strcmp(r->guid, guid) == 0 &&
            (!owner || iso_ep_is_dead(&owner->ep))) {
            /* Created by a runner of this plugin that crashed: this one takes it over. */
            atomic_store(&r->def_proc, def_proc);
            atomic_store(&r->channel, c);
            id = ((uint64_t)h->gen << 32) | (uint64_t)(i + 1);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (id)
        goto reply;
    iso_hookrec* r = calloc(1, sizeof *r);
    if (!r)
        goto reply;
    r->plugin = p;
    atomic_store(&r->channel, c);
    atomic_store(&r->def_proc, def_proc);
    pthread_mutex_lock(&p->lock);
    r->guid = iso_intern(p, guid);
    pthread_mutex_unlock(&p->lock);
    /* Always a default procedure of ours: a restarted runner may bring one. */
    r->closure = iso_closure_hook(hookrec_default, r);
    void* handle = r->guid && r->closure
                       ? p->hooks->create_hook(guid, (DCHOOK)iso_closure_fn(r->closure))
                       : NULL;
    if (!handle) {
        iso_closure_free(r->closure);
        free(r);
        goto reply;
    }
    pthread_mutex_lock(&p->lock);
    r->next = p->hookrecs;
    p->hookrecs = r;
    id = iso_handle_add(p, H_HOOK, handle, r, r->guid);
    pthread_mutex_unlock(&p->lock);
reply:
    iso_w_u64(out, id);
    iso_w_u8(out, (uint8_t)(kinds & 0xFF));
    iso_w_u8(out, (uint8_t)(kinds >> 8));
}

static void destroy_hook(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    pthread_mutex_lock(&p->lock);
    iso_handle* h = in->err ? NULL : iso_handle_get(p, id, H_HOOK);
    void* handle = h ? h->handle : NULL;
    if (h) {
        atomic_store(&((iso_hookrec*)h->rec)->channel, NULL);
        atomic_store(&((iso_hookrec*)h->rec)->def_proc, 0);
        iso_handle_drop(p, h);
    }
    DCHooks* hooks = p->hooks;
    pthread_mutex_unlock(&p->lock);
    iso_w_u64(out, handle && hooks && hooks->destroy_hook(handle) ? 1 : 0);
}

static void bind_hook(phn_iso_channel* c, iso_r* in, iso_w* out)
{
    phn_iso_plugin* p = c->plugin;
    const char* guid = iso_r_str(in);
    uint64_t proc = iso_r_u64(in);
    uint64_t common = iso_r_u64(in);
    iso_sub* s = NULL;
    if (in->err || !guid || !proc || !p->hooks || !(s = calloc(1, sizeof *s))) {
        iso_w_u64(out, 0);
        return;
    }
    s->plugin = p;
    s->channel = c;
    s->proc = proc;
    s->common = common;
    atomic_store(&s->kinds, kinds_of(guid));
    s->flags = (iso_hook_async(p, guid) ? ISO_SUB_ASYNC : 0) | (gone_hook(guid) ? ISO_SUB_GONE : 0);
    s->deadline = iso_hook_deadline(p, guid);
    pthread_mutex_lock(&p->lock);
    s->guid = iso_intern(p, guid);
    pthread_mutex_unlock(&p->lock);
    void* handle = s->guid ? p->hooks->bind_hook(guid, phn_iso_proxy_hook, s) : NULL;
    if (!handle) {
        free(s);
        iso_w_u64(out, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    uint64_t id = iso_handle_add(p, H_SUB, handle, s, s->guid);
    pthread_mutex_unlock(&p->lock);
    if (!id) {
        p->hooks->release_hook(handle);
        pthread_mutex_lock(&p->lock);
        iso_retire_sub(p, s);
        pthread_mutex_unlock(&p->lock);
    }
    iso_w_u64(out, id);
}

static void release_hook(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    pthread_mutex_lock(&p->lock);
    iso_handle* h = in->err ? NULL : iso_handle_get(p, id, H_SUB);
    void* handle = h ? h->handle : NULL;
    iso_sub* s = h ? h->rec : NULL;
    if (h)
        iso_handle_drop(p, h);
    DCHooks* hooks = p->hooks;
    pthread_mutex_unlock(&p->lock);
    size_t left = handle && hooks ? hooks->release_hook(handle) : 0;
    if (s) {  /* off the bus first, then into the graveyard */
        pthread_mutex_lock(&p->lock);
        iso_retire_sub(p, s);
        pthread_mutex_unlock(&p->lock);
    }
    iso_w_u64(out, left);
}

static void hook_kinds(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    pthread_mutex_lock(&p->lock);
    iso_handle* h = in->err ? NULL : iso_handle_get(p, id, H_HOOK);
    const char* guid = h ? ((iso_hookrec*)h->rec)->guid : NULL;
    pthread_mutex_unlock(&p->lock);
    uint32_t kinds = guid ? kinds_of(guid) : 0xFFFF;
    iso_w_u8(out, (uint8_t)(kinds & 0xFF));
    iso_w_u8(out, (uint8_t)(kinds >> 8));
}

static void run_hook(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    uint64_t id = iso_r_u64(in);
    int okind = iso_r_u8(in), dkind = iso_r_u8(in);
    iso_value ov, dv;
    iso_struct ost, dst;
    if (iso_get_value(in, okind, &ov) != 0 || iso_get_value(in, dkind, &dv) != 0) {
        iso_w_u32(out, 0);
        return;
    }
    /* Values that are pointers only the runner can read stay NULL here. */
    if (okind == ISO_K_HOST)
        ov.present = 0;
    if (dkind == ISO_K_HOST)
        dv.present = 0;
    void* object = iso_value_struct(&ov, &ost);
    void* data = iso_value_struct(&dv, &dst);
    if (okind == ISO_K_TAGS && object)
        ost.tags.object = NULL;
    if (dkind == ISO_K_TAGS && data)
        dst.tags.object = NULL;
    const char* out_before = dkind == ISO_K_DISPLAY && data ? dst.display.out : NULL;
    /* Inside a read section from before the lookup: a hook the runner destroys meanwhile
     * (another of its threads) is retired, not freed, until this dispatch is over. */
    phn_reader* reader = phn_read_enter_slow();
    pthread_mutex_lock(&p->lock);
    iso_handle* h = iso_handle_get(p, id, H_HOOK);
    void* hook = h ? h->handle : NULL;
    pthread_mutex_unlock(&p->lock);
    Bool handled = hook ? phn_run_hook(hook, object, data) : False;
    phn_read_exit(reader);
    iso_w_u32(out, handled ? 1 : 0);
    if (dkind == ISO_K_DISPLAY && data) {
        const char* after = dst.display.out;
        int changed = after != out_before;
        iso_w_u8(out, (uint8_t)changed);
        if (changed)
            iso_w_str(out, after);
    }
}

/* ---- DCConfig ---------------------------------------------------------------------------- */

static void config_call(phn_iso_plugin* p, iso_r* in, iso_w* out)
{
    DCConfig* cfg = p->config;
    int fn = iso_r_u8(in);
    ConfigValue* v = NULL;
    if (!cfg || in->err) {
        iso_put_cfg(out, NULL);
        return;
    }
    switch (fn) {
    case ISO_CFG_GET_PATH: {
        int32_t type = iso_r_i32(in);
        if (!in->err)
            v = (ConfigValue*)cfg->get_path((PathType)type);
        break;
    }
    case ISO_CFG_INSTALL_PATH: {
        const char* guid = iso_r_str(in);
        if (!in->err)
            v = (ConfigValue*)cfg->get_install_path(guid);
        break;
    }
    case ISO_CFG_SET: {
        const char* guid = iso_r_str(in);
        const char* setting = iso_r_str(in);
        iso_cfg_storage st;
        ConfigValue* value = iso_get_cfg(in, &st);
        if (!in->err)
            cfg->set_cfg(guid, setting, value);
        break;
    }
    case ISO_CFG_GET: {
        const char* guid = iso_r_str(in);
        const char* setting = iso_r_str(in);
        int32_t type = iso_r_i32(in);
        if (!in->err)
            v = cfg->get_cfg(guid, setting, (ConfigType)type);
        break;
    }
    case ISO_CFG_LANGUAGE:
        v = (ConfigValue*)cfg->get_language();
        break;
    default:
        break;
    }
    iso_put_cfg(out, v);
    if (v)
        cfg->release(v);  /* the runner got its own copy */
}

/* ---- the application's interfaces -------------------------------------------------------- */

static DCInterface* app_table(phn_iso_plugin* p, int which)
{
    pthread_mutex_lock(&p->lock);
    int known = p->app_known[which];
    DCInterface* t = p->app[which];
    DCCore* core = p->core;
    pthread_mutex_unlock(&p->lock);
    if (known || !core)
        return t;
    t = core->query_interface(APP_GUIDS[which], 1);
    pthread_mutex_lock(&p->lock);
    p->app[which] = t;
    p->app_known[which] = 1;
    pthread_mutex_unlock(&p->lock);
    return t;
}

/* UI commands are bound to the runner that added them: its function address means
 * nothing in another runner process. */
static void forward_command(void* ctx, const char* name)
{
    iso_cmd* cmd = ctx;
    phn_iso_channel* c = cmd->channel;
    if (!c || iso_ep_is_dead(&c->ep))
        return;
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_u64(&w, cmd->fn);
    iso_w_str(&w, name);
    char buf[300];
    snprintf(buf, sizeof buf, "UI command %s", name ? name : "?");
    pthread_mutex_lock(&cmd->plugin->lock);
    const char* what = iso_intern(cmd->plugin, buf);  /* outlives the call (crash reports) */
    pthread_mutex_unlock(&cmd->plugin->lock);
    iso_call_what(c, ISO_OP_UI_COMMAND, &w, &reply, cmd->plugin->call_ns, what);
    iso_msg_free(&reply);
    iso_w_free(&w);
}

static void* command_fn(phn_iso_channel* c, uint64_t fn)
{
    if (!fn)
        return NULL;
    phn_iso_plugin* p = c->plugin;
    iso_cmd* cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return NULL;
    cmd->plugin = p;
    cmd->channel = c;
    cmd->fn = fn;
    cmd->closure = iso_closure_command(forward_command, cmd);
    if (!cmd->closure) {
        free(cmd);
        return NULL;
    }
    pthread_mutex_lock(&p->lock);
    cmd->next = p->cmds;
    p->cmds = cmd;
    pthread_mutex_unlock(&p->lock);
    return iso_closure_fn(cmd->closure);
}

#define VALUE(kind, name)                                                                  \
    iso_value name##_v;                                                                    \
    iso_struct name##_st;                                                                  \
    void* name = iso_get_value(in, kind, &name##_v) == 0 ? iso_value_struct(&name##_v, &name##_st) : NULL

static void hub_call(DCHub* t, int fn, iso_r* in, iso_w* out)
{
    switch (fn) {
    case ISO_HUB_ADD:
    case ISO_HUB_FIND: {
        const char* a = iso_r_str(in);
        const char* b = fn == ISO_HUB_ADD ? iso_r_str(in) : NULL;
        const char* c = fn == ISO_HUB_ADD ? iso_r_str(in) : NULL;
        HubData* h = in->err ? NULL : fn == ISO_HUB_ADD ? t->add_hub(a, b, c) : t->find_hub(a);
        iso_put_value(out, ISO_K_HUB, h);
        if (h)
            phn_hub_release(h);
        break;
    }
    case ISO_HUB_REMOVE: {
        VALUE(ISO_K_HUB, hub);
        if (!in->err)
            t->remove_hub(hub);
        break;
    }
    case ISO_HUB_EMULATE:
    case ISO_HUB_SEND_CMD:
    case ISO_HUB_SEND_MESSAGE:
    case ISO_HUB_LOCAL_MESSAGE: {
        VALUE(ISO_K_HUB, hub);
        const char* text = iso_r_str(in);
        int32_t extra = iso_r_i32(in);
        if (in->err)
            break;
        if (fn == ISO_HUB_EMULATE)
            t->emulate_protocol_cmd(hub, text);
        else if (fn == ISO_HUB_SEND_CMD)
            t->send_protocol_cmd(hub, text);
        else if (fn == ISO_HUB_SEND_MESSAGE)
            t->send_message(hub, text, extra ? True : False);
        else
            t->local_message(hub, text, (MsgType)extra);
        break;
    }
    case ISO_HUB_SEND_PM: {
        VALUE(ISO_K_USER, user);
        const char* text = iso_r_str(in);
        int32_t third = iso_r_i32(in);
        iso_w_u32(out, !in->err && t->send_private_message(user, text, third ? True : False));
        break;
    }
    case ISO_HUB_FIND_USER: {
        const char* cid = iso_r_str(in);
        const char* url = iso_r_str(in);
        UserData* u = in->err ? NULL : t->find_user(cid, url);
        iso_put_value(out, ISO_K_USER, u);
        if (u)
            phn_user_release(u);
        break;
    }
    default:
        break;
    }
}

static void connection_call(DCConnection* t, int fn, iso_r* in, iso_w* out)
{
    if (fn == ISO_CONN_SEND_UDP) {
        const char* ip = iso_r_str(in);
        uint32_t port = iso_r_u32(in);
        uint32_t n = 0;
        const char* data = iso_r_bytes(in, &n);
        if (!in->err)
            t->send_udp_data(ip, port, (dcptr_t)data, n);
        return;
    }
    VALUE(ISO_K_CONNECTION, conn);
    if (fn == ISO_CONN_SEND_CMD) {
        const char* cmd = iso_r_str(in);
        if (!in->err)
            t->send_protocol_cmd(conn, cmd);
    } else if (fn == ISO_CONN_TERMINATE) {
        int32_t graceless = iso_r_i32(in);
        if (!in->err)
            t->terminate_conn(conn, graceless ? True : False);
    } else if (fn == ISO_CONN_GET_USER) {
        UserData* u = in->err ? NULL : t->get_user(conn);
        iso_put_value(out, ISO_K_USER, u);
        if (u)
            phn_user_release(u);
    }
}

static void queue_call(DCQueue* t, int fn, iso_r* in, iso_w* out)
{
    QueueData* made = NULL;
    switch (fn) {
    case ISO_QUEUE_ADD_LIST: {
        VALUE(ISO_K_USER, user);
        int32_t silent = iso_r_i32(in);
        made = in->err ? NULL : t->add_list(user, silent ? True : False);
        break;
    }
    case ISO_QUEUE_ADD_DOWNLOAD: {
        const char* hash = iso_r_str(in);
        uint64_t size = iso_r_u64(in);
        const char* target = iso_r_str(in);
        made = in->err ? NULL : t->add_download(hash, size, target);
        break;
    }
    case ISO_QUEUE_FIND: {
        const char* target = iso_r_str(in);
        made = in->err ? NULL : t->find_download(target);
        break;
    }
    default: {
        VALUE(ISO_K_QUEUE, item);
        int32_t extra = iso_r_i32(in);
        if (in->err)
            return;
        if (fn == ISO_QUEUE_REMOVE)
            t->remove_download(item);
        else if (fn == ISO_QUEUE_SET_PRIORITY)
            t->set_priority(item, (QueuePrio)extra);
        else if (fn == ISO_QUEUE_PAUSE)
            iso_w_u32(out, t->pause(item) ? 1 : 0);
        return;
    }
    }
    iso_put_value(out, ISO_K_QUEUE, made);
    if (made)
        phn_queue_release(made);
}

static void ui_call(phn_iso_channel* c, DCUI* t, int fn, iso_r* in)
{
    const char* a = iso_r_str(in);
    const char* b = iso_r_str(in);
    if (fn == ISO_UI_ADD_COMMAND) {
        uint64_t command = iso_r_u64(in);
        const char* icon = iso_r_str(in);
        if (!in->err)
            t->add_command(a, b, (DCCommandFunc)command_fn(c, command), icon);
        return;
    }
    if (in->err)
        return;
    if (fn == ISO_UI_REMOVE_COMMAND)
        t->remove_command(a, b);
    else if (fn == ISO_UI_PLAY_SOUND)
        t->play_sound(a);
    else if (fn == ISO_UI_NOTIFY)
        t->notify(a, b);
}

static void tagger_call(phn_iso_plugin* p, DCTagger* t, int fn, iso_r* in, iso_w* out)
{
    static TagData not_running = {NULL, True};
    void* token = iso_r_ptr(in);
    TagData* tags = iso_tag_is_active(p, token) ? token : &not_running;
    if (fn == ISO_TAG_GET_TEXT) {
        const char* text = in->err ? NULL : t->get_text(tags);
        iso_w_str(out, text);
        return;
    }
    uint64_t start = iso_r_u64(in), end = iso_r_u64(in);
    const char* a = iso_r_str(in);
    const char* b = iso_r_str(in);
    if (in->err)
        return;
    if (fn == ISO_TAG_ADD)
        t->add_tag(tags, (size_t)start, (size_t)end, a, b);
    else if (fn == ISO_TAG_REPLACE)
        t->replace_text(tags, (size_t)start, (size_t)end, a);
}

static void app_call(phn_iso_channel* c, iso_r* in, iso_w* out)
{
    phn_iso_plugin* p = c->plugin;
    int which = iso_r_u8(in), fn = iso_r_u8(in);
    if (in->err || which <= 0 || which >= ISO_APP_COUNT)
        return;
    DCInterface* t = app_table(p, which);
    if (!t)
        return;  /* not provided: the runner reads zeros / NULL */
    switch (which) {
    case ISO_APP_HUB: hub_call((DCHub*)t, fn, in, out); break;
    case ISO_APP_CONNECTION: connection_call((DCConnection*)t, fn, in, out); break;
    case ISO_APP_QUEUE: queue_call((DCQueue*)t, fn, in, out); break;
    case ISO_APP_UI: ui_call(c, (DCUI*)t, fn, in); break;
    case ISO_APP_TAGGER: tagger_call(p, (DCTagger*)t, fn, in, out); break;
    case ISO_APP_DATA:
        if (fn == ISO_DATA_GET_HTTP) {
            const char* uri = iso_r_str(in);
            const char* path = iso_r_str(in);
            if (!in->err)
                ((DCDataAccess*)t)->get_http_resource(uri, path);
        }
        break;
    default:
        break;
    }
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void iso_host_handle(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out)
{
    phn_iso_channel* c = ep->ctx;
    phn_iso_plugin* p = c->plugin;
    DCCore* core = p->core;
    switch (op) {
    case ISO_OP_LOG: {
        const char* msg = iso_r_str(in);
        if (!in->err && p->log)
            p->log->log(msg);
        break;
    }
    case ISO_OP_HAS_PLUGIN: {
        const char* guid = iso_r_str(in);
        iso_w_u64(out, !in->err && core && guid && core->has_plugin(guid) ? 1 : 0);
        break;
    }
    case ISO_OP_HOST_NAME:
        iso_w_str(out, core ? core->host_name() : "pyhost");
        break;
    case ISO_OP_REGISTER_INTF: register_intf(c, in, out); break;
    case ISO_OP_QUERY_INTF: query_intf(c, in, out); break;
    case ISO_OP_RELEASE_INTF: release_intf(p, in, out); break;
    case ISO_OP_CREATE_HOOK: create_hook(c, in, out); break;
    case ISO_OP_DESTROY_HOOK: destroy_hook(p, in, out); break;
    case ISO_OP_BIND_HOOK: bind_hook(c, in, out); break;
    case ISO_OP_RUN_HOOK: run_hook(p, in, out); break;
    case ISO_OP_RELEASE_HOOK: release_hook(p, in, out); break;
    case ISO_OP_HOOK_KINDS: hook_kinds(p, in, out); break;
    case ISO_OP_CFG: config_call(p, in, out); break;
    case ISO_OP_APP: app_call(c, in, out); break;
    case ISO_OP_GCALL: generic_call(p, in, out); break;
    default: break;
    }
}
