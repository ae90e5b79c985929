/*
 * The data blocks of the application-provided interfaces and their ownership (app_data.h).
 *
 * A block is one calloc: the struct, then its strings. The live blocks are a handle set
 * (handle_set.h) keyed by address, behind one mutex: copy and release are not on any hot
 * path, and a plugin may call them from its own threads.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app_data.h"
#include "handle_set.h"

/* A member's payload: arena, kind, and flag = managed. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static phn_set live = PHN_SET_INIT;
static long refused[PHN_REFUSED_REASONS];

static phn_slot* find(const void* ptr)
{
    return phn_set_find(&live, ptr);
}

static int insert(const void* ptr, uint32_t arena, int kind, int managed)
{
    phn_slot* e = phn_set_insert(&live, ptr);
    if (!e)
        return -1;
    e->arena = arena;
    e->kind = (uint8_t)kind;
    e->flag = (uint8_t)(managed != 0);
    return 0;
}

static void erase(phn_slot* e)
{
    phn_set_erase(&live, e);
}

/* ---- blocks --------------------------------------------------------------------------- */

/* A block of `head` bytes followed by `tail` bytes, recorded in the set; NULL on failure. */
static void* new_block(size_t head, size_t tail, uint32_t arena, int kind, Bool managed)
{
    if (tail > SIZE_MAX - head)
        return NULL;
    void* block = calloc(1, head + tail);
    if (!block)
        return NULL;
    pthread_mutex_lock(&lock);
    int failed = insert(block, arena, kind, managed == True);
    pthread_mutex_unlock(&lock);
    if (failed) {
        free(block);
        return NULL;
    }
    return block;
}

/* Appends a NUL-terminated copy of `s` ("" for NULL) at *cursor; returns where it went. */
static const char* put(char** cursor, const char* s)
{
    size_t n = strlen(s ? s : "") + 1;
    char* at = *cursor;
    memcpy(at, s ? s : "", n);
    *cursor += n;
    return at;
}

static size_t len0(const char* s)
{
    return strlen(s ? s : "") + 1;
}

static uint32_t arena_of(const void* source)
{
    pthread_mutex_lock(&lock);
    phn_slot* e = find(source);
    uint32_t arena = e ? e->arena : 0;
    pthread_mutex_unlock(&lock);
    return arena;
}

/* Releases a plugin-owned block of `kind`; refuses (and counts) anything else. */
static void release(void* block, int kind)
{
    if (!block)
        return;
    int reason = -1;
    pthread_mutex_lock(&lock);
    phn_slot* e = find(block);
    if (!e)
        reason = PHN_REFUSED_UNKNOWN;
    else if (e->kind != kind)
        reason = PHN_REFUSED_WRONG_KIND;
    else if (e->flag)
        reason = PHN_REFUSED_MANAGED;
    else
        erase(e);
    if (reason >= 0)
        refused[reason]++;
    pthread_mutex_unlock(&lock);
    if (reason < 0)
        free(block);
}

/* ---- constructors ----------------------------------------------------------------------- */

HubData* phn_hub_new(uint32_t arena, Bool managed, const char* url, const char* ip,
                     dcptr_t object, uint16_t port, ProtocolType protocol, Bool isOp,
                     Bool isSecure)
{
    HubData* h = new_block(sizeof *h, len0(url) + len0(ip), arena, PHN_KIND_HUB, managed);
    if (!h)
        return NULL;
    char* cursor = (char*)(h + 1);
    h->url = put(&cursor, url);
    h->ip = put(&cursor, ip);
    h->object = object;
    h->port = port;
    h->protocol = protocol;
    h->isOp = isOp ? True : False;
    h->isSecure = isSecure ? True : False;
    h->isManaged = managed ? True : False;
    return h;
}

UserData* phn_user_new(uint32_t arena, Bool managed, const char* nick, const char* hubHint,
                       const char* cid, dcptr_t object, uint32_t sid, ProtocolType protocol,
                       Bool isOp)
{
    UserData* u = new_block(sizeof *u, len0(nick) + len0(hubHint) + len0(cid), arena,
                            PHN_KIND_USER, managed);
    if (!u)
        return NULL;
    char* cursor = (char*)(u + 1);
    u->nick = put(&cursor, nick);
    u->hubHint = put(&cursor, hubHint);
    u->cid = put(&cursor, cid);
    u->object = object;
    u->sid = sid;
    u->protocol = protocol;
    u->isOp = isOp ? True : False;
    u->isManaged = managed ? True : False;
    return u;
}

ConnectionData* phn_conn_new(uint32_t arena, Bool managed, const char* ip, dcptr_t object,
                             uint16_t port, ProtocolType protocol, Bool isOp, Bool isSecure)
{
    ConnectionData* c = new_block(sizeof *c, len0(ip), arena, PHN_KIND_CONN, managed);
    if (!c)
        return NULL;
    char* cursor = (char*)(c + 1);
    c->ip = put(&cursor, ip);
    c->object = object;
    c->port = port;
    c->protocol = protocol;
    c->isOp = isOp ? True : False;
    c->isSecure = isSecure ? True : False;
    c->isManaged = managed ? True : False;
    return c;
}

QueueData* phn_queue_new(uint32_t arena, Bool managed, const char* target,
                         const char* location, const char* hash, dcptr_t object,
                         uint64_t size, Bool isFileList)
{
    QueueData* q = new_block(sizeof *q, len0(target) + len0(location) + len0(hash), arena,
                             PHN_KIND_QUEUE, managed);
    if (!q)
        return NULL;
    char* cursor = (char*)(q + 1);
    q->target = put(&cursor, target);
    q->location = put(&cursor, location);
    q->hash = put(&cursor, hash);
    q->object = object;
    q->size = size;
    q->isFileList = isFileList ? True : False;
    q->isManaged = managed ? True : False;
    return q;
}

DataArray* phn_data_new(uint32_t arena, Bool managed, const void* bytes, uint64_t size)
{
    if (size >= SIZE_MAX || (size && !bytes))
        return NULL;
    DataArray* d = new_block(sizeof *d, (size_t)size + 1, arena, PHN_KIND_DATA, managed);
    if (!d)
        return NULL;
    unsigned char* payload = (unsigned char*)(d + 1);
    if (size)
        memcpy(payload, bytes, (size_t)size);
    d->pData = payload;
    d->size = size;
    return d;
}

/* ---- copy / release (the ABI tables' entries) ------------------------------------------ */

HubData* DCAPI phn_hub_copy(const HubData* hub)
{
    if (!hub)
        return NULL;
    return phn_hub_new(arena_of(hub), False, hub->url, hub->ip, hub->object, hub->port,
                       hub->protocol, hub->isOp, hub->isSecure);
}

void DCAPI phn_hub_release(HubData* hub)
{
    release(hub, PHN_KIND_HUB);
}

UserData* DCAPI phn_user_copy(const UserData* user)
{
    if (!user)
        return NULL;
    return phn_user_new(arena_of(user), False, user->nick, user->hubHint, user->cid,
                        user->object, user->sid, user->protocol, user->isOp);
}

void DCAPI phn_user_release(UserData* user)
{
    release(user, PHN_KIND_USER);
}

QueueData* DCAPI phn_queue_copy(const QueueData* item)
{
    if (!item)
        return NULL;
    return phn_queue_new(arena_of(item), False, item->target, item->location, item->hash,
                         item->object, item->size, item->isFileList);
}

void DCAPI phn_queue_release(QueueData* item)
{
    release(item, PHN_KIND_QUEUE);
}

DataArray* DCAPI phn_data_copy(const DataArray* data)
{
    if (!data)
        return NULL;
    return phn_data_new(arena_of(data), False, data->pData, data->size);
}

void DCAPI phn_data_release(DataArray* data)
{
    release(data, PHN_KIND_DATA);
}

/* ---- host side -------------------------------------------------------------------------- */

int phn_app_free(void* block)
{
    pthread_mutex_lock(&lock);
    phn_slot* e = find(block);
    if (e)
        erase(e);
    pthread_mutex_unlock(&lock);
    if (e)
        free(block);
    return e != NULL;
}

long phn_app_free_arena(uint32_t arena, long* copies)
{
    if (copies)
        memset(copies, 0, PHN_KINDS * sizeof *copies);
    long freed = 0;
    pthread_mutex_lock(&lock);
    /* Collect first: erasing shifts entries, so the table is not walked while it changes. */
    void** doomed = NULL;
    size_t n = 0;
    if (live.used) {
        doomed = malloc(live.used * sizeof *doomed);
        if (!doomed) {
            pthread_mutex_unlock(&lock);
            return -1;
        }
    }
    for (size_t i = 0; i < live.capacity; i++) {
        const phn_slot* e = &live.slots[i];
        if (e->key && e->arena == arena) {
            if (copies && !e->flag && e->kind < PHN_KINDS)
                copies[e->kind]++;
            doomed[n++] = (void*)e->key;
        }
    }
    for (size_t i = 0; i < n; i++)
        erase(find(doomed[i]));
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++)
        free(doomed[i]);
    free(doomed);
    freed = (long)n;
    return freed;
}

long phn_app_live(uint32_t arena, int kind, int managed)
{
    long n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < live.capacity; i++) {
        const phn_slot* e = &live.slots[i];
        if (!e->key)
            continue;
        if (arena != PHN_ARENA_ALL && e->arena != arena)
            continue;
        if (kind && e->kind != kind)
            continue;
        if (managed >= 0 && e->flag != (managed != 0))
            continue;
        n++;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

long phn_app_refused(int reason)
{
    if (reason < 0 || reason >= PHN_REFUSED_REASONS)
        return 0;
    pthread_mutex_lock(&lock);
    long n = refused[reason];
    pthread_mutex_unlock(&lock);
    return n;
}

int phn_app_kind(const void* block)
{
    pthread_mutex_lock(&lock);
    phn_slot* e = find(block);
    int kind = e ? e->kind : 0;
    pthread_mutex_unlock(&lock);
    return kind;
}
