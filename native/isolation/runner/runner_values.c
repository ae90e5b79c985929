/*
 * Hook objects and data on the runner's side.
 *
 * Entities (HubData, UserData, ConnectionData, QueueData) the host passes as a hook's
 * object are host-owned there (isManaged = True) and stable while the entity lives: a plugin
 * may compare the pointers between events. The runner keeps the same promise with blocks of
 * its own (native/app_data.c, managed), one per host block, found again by the host block's
 * address and contents; after the hook that ends the entity (hubs/users.onOffline,
 * queue.onRemoved/onFinished) it frees its block, as the host frees its own.
 *
 * A TagData of a running onChatTags call is a local struct; DCTagger calls on it travel
 * with the host's token for it, and get_text strings live until the call ends.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../app_data.h"
#include "runner.h"

#define CACHE_SIZE 256

typedef struct cached {
    int kind;
    uint64_t host_addr;
    void* block;
} cached;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cached cache[CACHE_SIZE];
static unsigned cache_next;

static int same_str(const char* a, const char* b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static int matches(const cached* c, const iso_value* v)
{
    if (c->kind != v->kind || c->host_addr != v->addr || phn_app_kind(c->block) == 0)
        return 0;
    switch (v->kind) {
    case ISO_K_HUB: {
        const HubData* h = c->block;
        return same_str(h->url, v->s[0]) && same_str(h->ip, v->s[1]) &&
               (uint64_t)(uintptr_t)h->object == v->object && h->port == v->port &&
               (uint32_t)h->protocol == v->protocol && !!h->isOp == !!(v->flags & ISO_F_OP) &&
               !!h->isSecure == !!(v->flags & ISO_F_SECURE);
    }
    case ISO_K_USER: {
        const UserData* u = c->block;
        return same_str(u->nick, v->s[0]) && same_str(u->hubHint, v->s[1]) &&
               same_str(u->cid, v->s[2]) && (uint64_t)(uintptr_t)u->object == v->object &&
               u->sid == v->sid && (uint32_t)u->protocol == v->protocol &&
               !!u->isOp == !!(v->flags & ISO_F_OP);
    }
    case ISO_K_CONNECTION: {
        const ConnectionData* k = c->block;
        return same_str(k->ip, v->s[0]) && (uint64_t)(uintptr_t)k->object == v->object &&
               k->port == v->port && (uint32_t)k->protocol == v->protocol &&
               !!k->isOp == !!(v->flags & ISO_F_OP) && !!k->isSecure == !!(v->flags & ISO_F_SECURE);
    }
    case ISO_K_QUEUE: {
        const QueueData* q = c->block;
        return same_str(q->target, v->s[0]) && same_str(q->location, v->s[1]) &&
               same_str(q->hash, v->s[2]) && (uint64_t)(uintptr_t)q->object == v->object &&
               q->size == v->size && !!q->isFileList == !!(v->flags & ISO_F_FILELIST);
    }
    default:
        return 0;
    }
}

static void* new_block(const iso_value* v, Bool managed)
{
    dcptr_t object = (dcptr_t)(uintptr_t)v->object;
    Bool op = (v->flags & ISO_F_OP) ? True : False;
    Bool secure = (v->flags & ISO_F_SECURE) ? True : False;
    uint16_t port = (uint16_t)(v->port > 65535 ? 0 : v->port);
    ProtocolType protocol = v->protocol <= PROTOCOL_DHT ? (ProtocolType)v->protocol : PROTOCOL_ADC;
    switch (v->kind) {
    case ISO_K_HUB:
        return phn_hub_new(0, managed, v->s[0], v->s[1], object, port, protocol, op, secure);
    case ISO_K_USER:
        return phn_user_new(0, managed, v->s[0], v->s[1], v->s[2], object, v->sid, protocol, op);
    case ISO_K_CONNECTION:
        return phn_conn_new(0, managed, v->s[0], object, port, protocol, op, secure);
    case ISO_K_QUEUE:
        return phn_queue_new(0, managed, v->s[0], v->s[1], v->s[2], object, v->size,
                             (v->flags & ISO_F_FILELIST) ? True : False);
    case ISO_K_BYTES:
        return phn_data_new(0, managed, v->s[0], v->size);
    default:
        return NULL;
    }
}

static int is_entity(int kind)
{
    return kind == ISO_K_HUB || kind == ISO_K_USER || kind == ISO_K_CONNECTION ||
           kind == ISO_K_QUEUE;
}

/* The runner's managed block for a host-owned entity (made on first sight). */
static void* entity(const iso_value* v)
{
    pthread_mutex_lock(&lock);
    void* found = NULL;
    for (unsigned i = 0; i < CACHE_SIZE && !found; ++i)
        if (cache[i].block && matches(&cache[i], v))
            found = cache[i].block;
    if (!found) {
        found = new_block(v, True);
        if (found) {
            /* Reuse the slot of the same host address if there is one (the entity changed
             * or the address was reused): the old block goes, as the host's did. */
            unsigned slot = CACHE_SIZE;
            for (unsigned i = 0; i < CACHE_SIZE; ++i)
                if (cache[i].block && cache[i].host_addr == v->addr && cache[i].kind == v->kind)
                    slot = i;
            if (slot == CACHE_SIZE)
                slot = cache_next++ % CACHE_SIZE;
            if (cache[slot].block)
                phn_app_free(cache[slot].block);
            cache[slot] = (cached){v->kind, v->addr, found};
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

static void forget(const void* block)
{
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < CACHE_SIZE; ++i)
        if (cache[i].block == block) {
            phn_app_free(cache[i].block);
            cache[i].block = NULL;
        }
    pthread_mutex_unlock(&lock);
}

void* runner_copy_from(const iso_value* v)
{
    if (!v->present || !(is_entity(v->kind) || v->kind == ISO_K_BYTES))
        return NULL;
    return new_block(v, False);
}

/* ---- onChatTags sessions ------------------------------------------------------------------ */

typedef struct tag_session {
    struct tag_session* next;
    TagData* local;
    uint64_t token;
    char** texts;
    size_t ntexts;
} tag_session;

static tag_session* sessions;

static void open_session(TagData* local, uint64_t token)
{
    tag_session* s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->local = local;
    s->token = token;
    pthread_mutex_lock(&lock);
    s->next = sessions;
    sessions = s;
    pthread_mutex_unlock(&lock);
}

static void close_session(TagData* local)
{
    pthread_mutex_lock(&lock);
    for (tag_session** link = &sessions; *link; link = &(*link)->next) {
        if ((*link)->local == local) {
            tag_session* s = *link;
            *link = s->next;
            for (size_t i = 0; i < s->ntexts; ++i)
                free(s->texts[i]);
            free(s->texts);
            free(s);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

uint64_t runner_tag_token(const TagData* tags)
{
    uint64_t token = 0;
    pthread_mutex_lock(&lock);
    for (tag_session* s = sessions; s; s = s->next)
        if (s->local == tags)
            token = s->token;
    pthread_mutex_unlock(&lock);
    return token;
}

const char* runner_tag_keep(const TagData* tags, const char* text)
{
    char* copy = strdup(text);
    if (!copy)
        return NULL;
    pthread_mutex_lock(&lock);
    for (tag_session* s = sessions; s; s = s->next) {
        if (s->local != tags)
            continue;
        char** grown = realloc(s->texts, (s->ntexts + 1) * sizeof *grown);
        if (grown) {
            s->texts = grown;
            s->texts[s->ntexts++] = copy;
            copy = NULL;
            pthread_mutex_unlock(&lock);
            return s->texts[s->ntexts - 1];
        }
    }
    pthread_mutex_unlock(&lock);
    free(copy);  /* not a running call's TagData: nothing to keep it for */
    return NULL;
}

/* ---- a hook call ------------------------------------------------------------------------- */

static void* make(iso_value* v, iso_struct* st, int* tag_session)
{
    if (!v->present)
        return NULL;
    if (is_entity(v->kind))
        return (v->flags & ISO_F_MANAGED) ? entity(v) : new_block(v, False);
    if (v->kind == ISO_K_BYTES)
        return new_block(v, True);
    void* p = iso_value_struct(v, st);
    if (v->kind == ISO_K_TAGS && p) {
        open_session(p, v->addr);
        *tag_session = 1;
    }
    return p;
}

static void unmake(iso_value* v, void* p, int gone)
{
    if (!p)
        return;
    if (is_entity(v->kind)) {
        if (!(v->flags & ISO_F_MANAGED))
            phn_app_free(p);  /* a copy passed along for the call (refused if released) */
        else if (gone)
            forget(p);
    } else if (v->kind == ISO_K_BYTES) {
        phn_app_free(p);
    } else if (v->kind == ISO_K_TAGS) {
        close_session(p);
    }
}

void runner_values_enter(runner_frame* f, int okind, int dkind)
{
    (void)okind;
    (void)dkind;
    f->tag_session = 0;
    f->object = make(&f->obj_v, &f->obj_st, &f->tag_session);
    f->data = make(&f->data_v, &f->data_st, &f->tag_session);
    f->out_before = f->data_v.kind == ISO_K_DISPLAY && f->data ? ((StringData*)f->data)->out : NULL;
}

void runner_values_leave(runner_frame* f, int gone)
{
    unmake(&f->obj_v, f->object, gone);
    unmake(&f->data_v, f->data, 0);
}
