/*
 * The host side of isolation: isolated plugins, their handles and deadlines, forwarding a
 * hook call, and the record of the last calls (pyhost_isolation.h). Runner processes are
 * in iso_spawn.c; the runner's calls into the host in iso_host_serve.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iso_host.h"

static const char* (*tag_text_fn)(void* tag_data);

void phn_iso_set_tag_text(const char* (*fn)(void* tag_data)) { tag_text_fn = fn; }

void phn_iso_blob_free(phn_iso_blob* blob)
{
    if (blob) {
        free(blob->data);
        blob->data = NULL;
        blob->len = 0;
    }
}

/* ---- plugins ------------------------------------------------------------------------------ */

phn_iso_plugin* phn_iso_plugin_new(phn_bus* bus, const char* name, uint32_t history)
{
    phn_iso_plugin* p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->bus = bus;
    p->name = strdup(name ? name : "plugin");
    p->history_cap = history;
    p->history = history ? calloc(history, sizeof *p->history) : NULL;
    p->hook_ns = 5000000000ull;
    p->main_ns = 10000000000ull;
    p->call_ns = 2000000000ull;
    pthread_mutex_init(&p->lock, NULL);
    if (!p->name || (history && !p->history)) {
        free(p->name);
        free(p->history);
        free(p);
        return NULL;
    }
    return p;
}

void phn_iso_plugin_set_core(phn_iso_plugin* p, DCCore* core)
{
    DCHooks* hooks = NULL;
    DCConfig* config = NULL;
    DCLog* log = NULL;
    if (core) {
        hooks = (DCHooks*)core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
        config = (DCConfig*)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
        log = (DCLog*)core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER);
    }
    pthread_mutex_lock(&p->lock);
    p->core = core;
    p->hooks = hooks;
    p->config = config;
    p->log = log;
    memset(p->app_known, 0, sizeof p->app_known);
    pthread_mutex_unlock(&p->lock);
}

const char* iso_intern(phn_iso_plugin* p, const char* s)
{
    if (!s)
        return NULL;
    for (iso_interned* i = p->interned; i; i = i->next)
        if (strcmp(i->s, s) == 0)
            return i->s;
    size_t n = strlen(s);
    iso_interned* i = malloc(sizeof *i + n + 1);
    if (!i)
        return NULL;
    memcpy(i->s, s, n + 1);
    i->next = p->interned;
    p->interned = i;
    return i->s;
}

int phn_iso_plugin_deadline(phn_iso_plugin* p, const char* prefix, uint64_t ns)
{
    if (!prefix)
        return -1;
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    if (!*prefix) {
        p->hook_ns = ns;
    } else if (p->nrules < ISO_MAX_RULES) {
        p->rules[p->nrules].prefix = iso_intern(p, prefix);
        p->rules[p->nrules++].ns = ns;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void phn_iso_plugin_budgets(phn_iso_plugin* p, uint64_t main_ns, uint64_t call_ns)
{
    pthread_mutex_lock(&p->lock);
    p->main_ns = main_ns;
    p->call_ns = call_ns;
    pthread_mutex_unlock(&p->lock);
}

int phn_iso_plugin_async(phn_iso_plugin* p, const char* prefix)
{
    if (!prefix)
        return -1;
    pthread_mutex_lock(&p->lock);
    int rc = -1;
    if (p->nasync < ISO_MAX_RULES) {
        p->async_prefixes[p->nasync++] = iso_intern(p, prefix);
        rc = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int starts_with(const char* s, const char* prefix)
{
    return prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

uint64_t iso_hook_deadline(phn_iso_plugin* p, const char* guid)
{
    pthread_mutex_lock(&p->lock);
    uint64_t ns = p->hook_ns;
    size_t best = 0;
    for (size_t i = 0; guid && i < p->nrules; ++i) {
        size_t n = strlen(p->rules[i].prefix);
        if (n >= best && starts_with(guid, p->rules[i].prefix)) {
            best = n;
            ns = p->rules[i].ns;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return ns;
}

int iso_hook_async(phn_iso_plugin* p, const char* guid)
{
    pthread_mutex_lock(&p->lock);
    int yes = 0;
    for (size_t i = 0; guid && i < p->nasync && !yes; ++i)
        yes = starts_with(guid, p->async_prefixes[i]);
    pthread_mutex_unlock(&p->lock);
    return yes;
}

/* ---- handles the runner holds -------------------------------------------------------------- */

uint64_t iso_handle_add(phn_iso_plugin* p, int type, void* handle, void* rec, const char* guid)
{
    size_t at = p->nhandles;
    for (size_t i = 0; i < p->nhandles; ++i)
        if (p->handles[i].type == H_FREE) {
            at = i;
            break;
        }
    if (at == p->nhandles) {
        if (p->nhandles == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 32;
            iso_handle* grown = realloc(p->handles, cap * sizeof *grown);
            if (!grown)
                return 0;
            memset(grown + p->cap, 0, (cap - p->cap) * sizeof *grown);
            p->handles = grown;
            p->cap = cap;
        }
        p->nhandles++;
    }
    iso_handle* h = &p->handles[at];
    h->type = (uint8_t)type;
    h->gen++;
    h->handle = handle;
    h->rec = rec;
    h->guid = guid;
    return ((uint64_t)h->gen << 32) | (uint64_t)(at + 1);
}

iso_handle* iso_handle_get(phn_iso_plugin* p, uint64_t id, int type)
{
    uint64_t index = (id & 0xFFFFFFFFu);
    if (index == 0 || index > p->nhandles)
        return NULL;
    iso_handle* h = &p->handles[index - 1];
    if (h->type != type || h->gen != (uint32_t)(id >> 32))
        return NULL;
    return h;
}

void iso_handle_drop(phn_iso_plugin* p, iso_handle* h)
{
    (void)p;
    h->type = H_FREE;
    h->handle = h->rec = NULL;
    h->guid = NULL;
}

void iso_retire_sub(phn_iso_plugin* p, iso_sub* s)
{
    /* A dispatch may still hold the old subscriber array: free only once the bus has no
     * reader left (checked now and then, and at collection). */
    s->next = p->dead_subs;
    p->dead_subs = s;
    if (++p->ndead_subs >= 64 && phn_bus_pending_reclaim(p->bus) == 0) {
        while (p->dead_subs) {
            iso_sub* d = p->dead_subs;
            p->dead_subs = d->next;
            free(d);
        }
        p->ndead_subs = 0;
    }
}

void iso_tag_active(phn_iso_plugin* p, void* tags, int on)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < sizeof p->tag_active / sizeof p->tag_active[0]; ++i) {
        if (on && !p->tag_active[i]) {
            p->tag_active[i] = tags;
            break;
        }
        if (!on && p->tag_active[i] == tags) {
            p->tag_active[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
}

int iso_tag_is_active(phn_iso_plugin* p, void* tags)
{
    int yes = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; tags && i < sizeof p->tag_active / sizeof p->tag_active[0]; ++i)
        yes |= p->tag_active[i] == tags;
    pthread_mutex_unlock(&p->lock);
    return yes;
}

void phn_iso_plugin_crashed(phn_iso_plugin* p)
{
    phn_iso_channel* current = atomic_load(&p->current);
    for (;;) {
        /* Release one stale subscription at a time: release_hook calls into the host. */
        subsHandle stale = NULL;
        DCHooks* hooks;
        pthread_mutex_lock(&p->lock);
        hooks = p->hooks;
        for (size_t i = 0; i < p->nhandles; ++i) {
            iso_handle* h = &p->handles[i];
            if (h->type == H_SUB && (!current || ((iso_sub*)h->rec)->channel != current ||
                                     iso_ep_is_dead(&current->ep))) {
                stale = h->handle;
                iso_retire_sub(p, h->rec);
                iso_handle_drop(p, h);
                break;
            }
            if (h->type == H_QINTF)
                iso_handle_drop(p, h);
        }
        for (iso_hookrec* r = p->hookrecs; r; r = r->next) {
            phn_iso_channel* c = atomic_load(&r->channel);
            if (c && iso_ep_is_dead(&c->ep))
                atomic_store(&r->channel, NULL);
        }
        for (iso_intfrec* r = p->intfrecs; r; r = r->next) {
            phn_iso_channel* c = atomic_load(&r->channel);
            if (c && iso_ep_is_dead(&c->ep))
                atomic_store(&r->channel, NULL);
        }
        pthread_mutex_unlock(&p->lock);
        if (!stale)
            break;
        if (hooks)
            hooks->release_hook(stale);
    }
}

/* ---- forwarding a hook call ---------------------------------------------------------------- */

#define HOST_KEEP 8
static _Thread_local char* host_kept[HOST_KEEP];
static _Thread_local unsigned host_next;

static char* keep_out(const char* s)
{
    if (!s)
        return NULL;
    char* copy = strdup(s);
    if (!copy)
        return NULL;
    unsigned at = host_next++ % HOST_KEEP;
    free(host_kept[at]);
    host_kept[at] = copy;
    return copy;
}

static void record(phn_iso_plugin* p, const char* guid, int okind, int dkind,
                   const unsigned char* bytes, size_t len, void* tags)
{
    char* text = NULL;
    if (dkind == ISO_K_TAGS && tags && tag_text_fn) {
        const char* t = tag_text_fn(tags);
        text = t ? strdup(t) : NULL;
    }
    pthread_mutex_lock(&p->lock);
    iso_hist* e = &p->history[p->history_n++ % p->history_cap];
    if (len > e->cap) {  /* entries keep their buffers: no allocation once warm */
        unsigned char* grown = realloc(e->bytes, len);
        if (grown) {
            e->bytes = grown;
            e->cap = len;
        }
    }
    e->guid = guid;
    e->okind = (uint8_t)okind;
    e->dkind = (uint8_t)dkind;
    e->len = len <= e->cap ? len : 0;
    if (e->len)
        memcpy(e->bytes, bytes, e->len);
    free(e->text);
    e->text = text;
    pthread_mutex_unlock(&p->lock);
}

int iso_inflight_begin(phn_iso_channel* c, const char* what)
{
    for (int i = 0; i < ISO_INFLIGHT; ++i) {
        const char* expected = NULL;
        if (atomic_compare_exchange_strong(&c->inflight[i], &expected, what)) {
            atomic_store(&c->inflight_seq[i], atomic_fetch_add(&c->next_seq, 1) + 1);
            return i;
        }
    }
    return -1;  /* more than ISO_INFLIGHT calls at once: that one goes unnamed */
}

void iso_inflight_end(phn_iso_channel* c, int slot)
{
    if (slot >= 0) {
        atomic_store(&c->inflight_seq[slot], 0);
        atomic_store(&c->inflight[slot], NULL);
    }
}

static _Thread_local const char* calling_what;

const char* iso_calling_what(void) { return calling_what; }

void iso_note_innermost(phn_iso_channel* c)
{
    const char* current = NULL;
    uint64_t best = 0;
    for (int i = 0; i < ISO_INFLIGHT; ++i) {
        uint64_t seq = atomic_load(&c->inflight_seq[i]);
        const char* name = atomic_load(&c->inflight[i]);
        if (name && seq > best) {
            best = seq;
            current = name;
        }
    }
    if (current)
        iso_note_failure(c, current);
}

int iso_call_what(phn_iso_channel* c, uint32_t op, const iso_w* args, iso_msg* reply,
                  uint64_t budget_ns, const char* what)
{
    const char* outer = calling_what;
    calling_what = what;
    int slot = iso_inflight_begin(c, what);
    int rc = iso_call(&c->ep, op, args, reply, budget_ns);
    iso_inflight_end(c, slot);
    calling_what = outer;
    if (rc != ISO_OK)
        iso_note_failure(c, what);
    return rc;
}

void iso_note_failure(phn_iso_channel* c, const char* what)
{
    pthread_mutex_lock(&c->lock);
    if (!c->crash_what && what)
        c->crash_what = strdup(what);
    pthread_mutex_unlock(&c->lock);
}

int iso_forward_hook(phn_iso_channel* c, const char* guid, uint64_t proc, uint64_t common,
                     uint32_t kinds, uint32_t flags, uint64_t deadline, dcptr_t object,
                     dcptr_t data, Bool* brk)
{
    if (!c || iso_ep_is_dead(&c->ep))
        return 0;  /* the runner is gone (or restarting): not handled */
    phn_iso_plugin* p = c->plugin;
    int okind = kinds & 0xFF, dkind = (kinds >> 8) & 0xFF;
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, proc);
    iso_w_u64(&w, common);
    iso_w_u8(&w, (uint8_t)okind);
    iso_w_u8(&w, (uint8_t)dkind);
    iso_w_u8(&w, (flags & ISO_SUB_GONE) ? 1 : 0);
    size_t values = w.len;
    iso_put_value(&w, okind, object);
    iso_put_value(&w, dkind, data);
    if (p->history_cap && !w.oom)
        record(p, guid, okind, dkind, w.p + values, w.len - values, data);
    if ((flags & ISO_SUB_ASYNC) && dkind != ISO_K_DISPLAY && dkind != ISO_K_TAGS) {
        pthread_mutex_lock(&c->lock);
        c->async_names[c->ep.ring_posted % ISO_ASYNC_NAMES] = guid;
        pthread_mutex_unlock(&c->lock);
        int rc = iso_ring_post(&c->ep, ISO_OP_HOOK, &w, deadline);
        if (rc == ISO_ETIMEOUT)
            iso_note_failure(c, guid);
        iso_w_free(&w);
        return 0;
    }
    int tags = dkind == ISO_K_TAGS && data;
    if (tags)
        iso_tag_active(p, data, 1);
    iso_msg reply;
    iso_msg_init(&reply);
    int rc = iso_call_what(c, ISO_OP_HOOK, &w, &reply, deadline, guid);
    if (tags)
        iso_tag_active(p, data, 0);
    iso_w_free(&w);
    int handled = 0;
    if (rc == ISO_OK) {
        atomic_fetch_add_explicit(&p->calls_ok, 1, memory_order_relaxed);
        iso_r r;
        iso_msg_reader(&reply, &r);
        handled = iso_r_u32(&r) != 0;
        int stop = iso_r_u32(&r) != 0;
        if (dkind == ISO_K_DISPLAY && data && iso_r_u8(&r)) {
            const char* out = iso_r_str(&r);
            if (!r.err)
                ((StringData*)data)->out = keep_out(out);
        }
        if (r.err) {
            handled = 0;
            stop = 0;
        }
        if (stop && brk)
            *brk = True;
    }
    iso_msg_free(&reply);
    return handled;
}

static uint32_t resolve_kinds(const char* guid)
{
    int okind, dkind;
    phn_iso_hook_kinds(guid, &okind, &dkind);
    return (uint32_t)(okind & 0xFF) | (uint32_t)(dkind & 0xFF) << 8;
}

Bool DCAPI phn_iso_proxy_hook(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    iso_sub* s = common;
    uint32_t kinds = atomic_load_explicit(&s->kinds, memory_order_relaxed);
    if ((kinds & 0xFF) == ISO_K_UNKNOWN || ((kinds >> 8) & 0xFF) == ISO_K_UNKNOWN) {
        kinds = resolve_kinds(s->guid);  /* declared since the bind? */
        atomic_store_explicit(&s->kinds, kinds, memory_order_relaxed);
    }
    return iso_forward_hook(s->channel, s->guid, s->proc, s->common, kinds, s->flags,
                            s->deadline, object, data, bBreak)
               ? True
               : False;
}

/* ---- calls into the runner's interfaces ---------------------------------------------------- */

int iso_intf_send(iso_ftable* t, int slot, const char* slot_codes, const iso_w* args,
                  iso_msg* reply)
{
    iso_intfrec* rec = iso_ftable_ctx(t);
    phn_iso_channel* c = atomic_load(&rec->channel);
    if (!c || iso_ep_is_dead(&c->ep))
        return ISO_EDEAD;
    iso_w w;
    iso_w_init(&w);
    iso_w_u64(&w, atomic_load(&rec->remote));
    iso_w_u32(&w, (uint32_t)slot);
    iso_w_str(&w, slot_codes);
    iso_w_raw(&w, args->p, args->len);
    char buf[300];
    snprintf(buf, sizeof buf, "interface %s", rec->guid ? rec->guid : "?");
    pthread_mutex_lock(&rec->plugin->lock);
    const char* what = iso_intern(rec->plugin, buf);  /* outlives the call (crash reports) */
    pthread_mutex_unlock(&rec->plugin->lock);
    int rc = iso_call_what(c, ISO_OP_INTF_CALL, &w, reply, rec->plugin->call_ns, what);
    iso_w_free(&w);
    return rc;
}

uint64_t phn_iso_plugin_calls(phn_iso_plugin* p) { return atomic_load(&p->calls_ok); }

/* ---- the record of the last calls ---------------------------------------------------------- */

int phn_iso_history(phn_iso_plugin* p, phn_iso_blob* out)
{
    iso_w w;
    iso_w_init(&w);
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->history_n < p->history_cap ? p->history_n : p->history_cap;
    iso_w_u32(&w, (uint32_t)n);
    for (uint64_t i = p->history_n - n; i < p->history_n; ++i) {
        iso_hist* e = &p->history[i % p->history_cap];
        iso_w_str(&w, e->guid);
        iso_w_u8(&w, e->okind);
        iso_w_u8(&w, e->dkind);
        iso_w_u32(&w, (uint32_t)e->len);
        iso_w_raw(&w, e->bytes, e->len);
        iso_w_str(&w, e->text);
    }
    pthread_mutex_unlock(&p->lock);
    if (w.oom) {
        iso_w_free(&w);
        return -1;
    }
    out->data = malloc(w.len ? w.len : 1);
    if (!out->data) {
        iso_w_free(&w);
        return -1;
    }
    memcpy(out->data, w.p, w.len);
    out->len = w.len;
    iso_w_free(&w);
    return 0;
}

/* ---- freeing ------------------------------------------------------------------------------- */

static pthread_mutex_t zombies_lock = PTHREAD_MUTEX_INITIALIZER;
static phn_iso_plugin* zombies;

static void free_plugin(phn_iso_plugin* p)
{
    while (p->channels) {
        phn_iso_channel* c = p->channels;
        p->channels = c->next;
        /* Its threads leave within moments of its death; the last one cleans up. A channel
         * still in use after that is left alone (never seen; it costs a few bytes). */
        for (int i = 0; i < 2000 && !atomic_load(&c->destroyed); ++i) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
        if (atomic_load(&c->destroyed)) {
            free(c->crash_what);
            pthread_mutex_destroy(&c->lock);
            free(c);
        }
    }
    while (p->dead_subs) {
        iso_sub* s = p->dead_subs;
        p->dead_subs = s->next;
        free(s);
    }
    for (size_t i = 0; i < p->nhandles; ++i)
        if (p->handles[i].type == H_SUB)
            free(p->handles[i].rec);
    free(p->handles);
    while (p->hookrecs) {
        iso_hookrec* r = p->hookrecs;
        p->hookrecs = r->next;
        iso_closure_free(r->closure);
        free(r);
    }
    while (p->intfrecs) {
        iso_intfrec* r = p->intfrecs;
        p->intfrecs = r->next;
        iso_ftable_free(r->ftable);
        free(r);
    }
    while (p->qintfs) {
        iso_qintf* q = p->qintfs;
        p->qintfs = q->next;
        free(q);
    }
    while (p->cmds) {
        iso_cmd* c = p->cmds;
        p->cmds = c->next;
        iso_closure_free(c->closure);
        free(c);
    }
    for (uint32_t i = 0; i < p->history_cap; ++i) {
        free(p->history[i].bytes);
        free(p->history[i].text);
    }
    free(p->history);
    while (p->interned) {
        iso_interned* i = p->interned;
        p->interned = i->next;
        free(i);
    }
    pthread_mutex_destroy(&p->lock);
    free(p->name);
    free(p);
}

void phn_iso_plugin_free(phn_iso_plugin* p)
{
    if (!p)
        return;
    pthread_mutex_lock(&zombies_lock);
    p->next_zombie = zombies;
    zombies = p;
    pthread_mutex_unlock(&zombies_lock);
    phn_iso_collect(p->bus, 0);
}

void phn_iso_collect(phn_bus* bus, int force)
{
    if (!force && phn_bus_pending_reclaim(bus) != 0)
        return;  /* a dispatch may still call one of their proxies */
    pthread_mutex_lock(&zombies_lock);
    phn_iso_plugin** link = &zombies;
    phn_iso_plugin* mine = NULL;
    while (*link) {
        phn_iso_plugin* p = *link;
        if (p->bus == bus) {
            *link = p->next_zombie;
            p->next_zombie = mine;
            mine = p;
        } else {
            link = &p->next_zombie;
        }
    }
    pthread_mutex_unlock(&zombies_lock);
    while (mine) {
        phn_iso_plugin* p = mine;
        mine = p->next_zombie;
        free_plugin(p);
    }
}
