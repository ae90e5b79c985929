/*
 * iso_host.h -- the host side's private structures (shared by iso_host*.c only).
 */
#ifndef PYHOST_ISO_HOST_H
#define PYHOST_ISO_HOST_H

#include <pthread.h>
#include <sys/types.h>

#include "iso_ffi.h"
#include "iso_lane.h"
#include "iso_marshal.h"
#include "pyhost_isolation.h"

enum { H_FREE = 0, H_HOOK, H_SUB, H_INTF, H_QINTF };

#define ISO_KINDS_UNKNOWN 0xFFFFu
#define ISO_SUB_ASYNC 1u
#define ISO_SUB_GONE 2u    /* the hook ends its object's entity (hubs.onOffline...) */
#define ISO_MAX_RULES 64
#define ISO_ASYNC_NAMES 64
#define ISO_INFLIGHT 32

/* A hook the runner created: its default procedure forwards to whichever runner of the
 * plugin holds it now (a restarted runner takes it over by creating it again). */
typedef struct iso_hookrec {
    phn_iso_plugin* plugin;
    _Atomic(phn_iso_channel*) channel;
    _Atomic uint64_t def_proc;
    iso_closure* closure;
    const char* guid;
    struct iso_hookrec* next;
} iso_hookrec;

/* A subscription of the runner: `common` of a proxy subscriber on the bus. */
typedef struct iso_sub {
    phn_iso_plugin* plugin;
    phn_iso_channel* channel;
    uint64_t proc;
    uint64_t common;
    _Atomic uint32_t kinds;
    uint32_t flags;
    uint64_t deadline;
    const char* guid;
    struct iso_sub* next;
} iso_sub;

/* An interface the runner registered: a table of closures once its signature is known. */
typedef struct iso_intfrec {
    phn_iso_plugin* plugin;
    _Atomic(phn_iso_channel*) channel;
    _Atomic uint64_t remote;
    uint32_t version;
    iso_ftable* ftable;
    const char* guid;
    struct iso_intfrec* next;
} iso_intfrec;

/* A host interface the runner queried (forwarded through libffi). */
typedef struct iso_qintf {
    DCInterface* table;
    uint32_t version;
    const char* codes;
    const char* guid;
    struct iso_qintf* next;
} iso_qintf;

typedef struct iso_handle {
    uint8_t type;
    uint32_t gen;
    void* handle;
    void* rec;
    const char* guid;
} iso_handle;

typedef struct iso_rule {
    const char* prefix;
    uint64_t ns;
} iso_rule;

typedef struct iso_hist {
    const char* guid;
    uint8_t okind;
    uint8_t dkind;
    unsigned char* bytes;
    size_t len;
    size_t cap;      /* the buffer is kept and reused by later calls */
    char* text;
} iso_hist;

typedef struct iso_interned {
    struct iso_interned* next;
    char s[];
} iso_interned;

typedef struct iso_cmd {
    struct iso_cmd* next;
    phn_iso_plugin* plugin;
    struct phn_iso_channel* channel;
    uint64_t fn;
    iso_closure* closure;
} iso_cmd;

struct phn_iso_channel {
    iso_ep ep;                       /* first: ep->ctx is the channel */
    phn_iso_plugin* plugin;
    uint64_t shm_size;
    int sock;
    int hung_up;
    pid_t pid;
    _Atomic int reaped;
    _Atomic int released;            /* the owner's reference is gone */
    _Atomic int destroyed;           /* the last reference went and cleaned up */
    pthread_mutex_t lock;
    char* crash_what;
    int killed_for_deadline;
    const char* async_names[ISO_ASYNC_NAMES];
    /* Calls waiting for the runner right now (what they are, most recent = highest seq),
     * so a death is attributed at once, before the waiting threads wake up. */
    _Atomic(const char*) inflight[ISO_INFLIGHT];
    _Atomic uint64_t inflight_seq[ISO_INFLIGHT];
    _Atomic uint64_t next_seq;
    struct phn_iso_channel* next;
};

struct phn_iso_plugin {
    phn_bus* bus;
    char* name;
    pthread_mutex_t lock;
    DCCore* core;
    DCHooks* hooks;
    DCConfig* config;
    DCLog* log;
    DCInterface* app[ISO_APP_COUNT];
    int app_known[ISO_APP_COUNT];
    _Atomic(phn_iso_channel*) current;
    phn_iso_channel* channels;
    iso_handle* handles;
    size_t nhandles;
    size_t cap;
    iso_rule rules[ISO_MAX_RULES];
    size_t nrules;
    uint64_t hook_ns;
    uint64_t main_ns;
    uint64_t call_ns;
    const char* async_prefixes[ISO_MAX_RULES];
    size_t nasync;
    iso_interned* interned;
    iso_hist* history;
    uint32_t history_cap;
    uint64_t history_n;
    iso_sub* dead_subs;
    size_t ndead_subs;
    iso_hookrec* hookrecs;
    iso_intfrec* intfrecs;
    iso_qintf* qintfs;
    iso_cmd* cmds;
    void* tag_active[16];            /* host TagData* of onChatTags calls in flight */
    _Atomic uint64_t calls_ok;       /* forwarded hook calls answered (crash counting) */
    struct phn_iso_plugin* next_zombie;
};

/* iso_host.c */
const char* iso_intern(phn_iso_plugin* p, const char* s);  /* call with p->lock held */
uint64_t iso_handle_add(phn_iso_plugin* p, int type, void* handle, void* rec, const char* guid);
iso_handle* iso_handle_get(phn_iso_plugin* p, uint64_t id, int type);  /* p->lock held */
void iso_handle_drop(phn_iso_plugin* p, iso_handle* h);                  /* p->lock held */
uint64_t iso_hook_deadline(phn_iso_plugin* p, const char* guid);
int iso_hook_async(phn_iso_plugin* p, const char* guid);
void iso_note_failure(phn_iso_channel* c, const char* what);
/* Marks a call to the runner as under way (what: a guid, a state name... kept by the
 * caller until iso_inflight_end); returns its slot or -1. */
int iso_inflight_begin(phn_iso_channel* c, const char* what);
void iso_inflight_end(phn_iso_channel* c, int slot);
/* What the calling thread's innermost iso_call_what is about (NULL outside one). */
const char* iso_calling_what(void);
/* Records the most recent call under way as what the runner was doing when it died. */
void iso_note_innermost(phn_iso_channel* c);
/* A call made with iso_call, marked under way while it runs. */
int iso_call_what(phn_iso_channel* c, uint32_t op, const iso_w* args, iso_msg* reply,
                  uint64_t budget_ns, const char* what);
void iso_retire_sub(phn_iso_plugin* p, iso_sub* s);                      /* p->lock held */
/* Forwards one hook call to the runner behind `c`. */
int iso_forward_hook(phn_iso_channel* c, const char* guid, uint64_t proc, uint64_t common,
                     uint32_t kinds, uint32_t flags, uint64_t deadline, dcptr_t object,
                     dcptr_t data, Bool* brk);
int iso_intf_send(iso_ftable* t, int slot, const char* slot_codes, const iso_w* args,
                  iso_msg* reply);
void iso_tag_active(phn_iso_plugin* p, void* tags, int on);
int iso_tag_is_active(phn_iso_plugin* p, void* tags);

/* iso_host_serve.c: the runner's calls. */
void iso_host_handle(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out);

#endif
