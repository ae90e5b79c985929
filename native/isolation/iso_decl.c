/*
 * What crosses processes: the declared kinds of hooks' objects and data, and the declared
 * signatures of interfaces (pyhost_isolation.h). Process-wide, first declaration wins.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "iso_ffi.h"
#include "iso_proto.h"
#include "pyhost_isolation.h"

typedef struct decl {
    struct decl* next;
    int okind;
    int dkind;
    char* codes;
    char guid[];
} decl;

#define BUCKETS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static decl* hooks[BUCKETS];
static decl* interfaces[BUCKETS];

static unsigned bucket(const char* guid)
{
    uint32_t h = 2166136261u;
    for (const unsigned char* p = (const unsigned char*)guid; *p; ++p)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

static decl* find(decl** table, const char* guid)
{
    for (decl* d = table[bucket(guid)]; d; d = d->next)
        if (strcmp(d->guid, guid) == 0)
            return d;
    return NULL;
}

static decl* add(decl** table, const char* guid)
{
    size_t n = strlen(guid);
    decl* d = calloc(1, sizeof *d + n + 1);
    if (!d)
        return NULL;
    memcpy(d->guid, guid, n + 1);
    unsigned b = bucket(guid);
    d->next = table[b];
    table[b] = d;
    return d;
}

int phn_iso_declare_hook(const char* guid, int okind, int dkind)
{
    if (!guid || okind < 0 || okind >= ISO_K_COUNT || dkind < 0 || dkind >= ISO_K_COUNT)
        return -1;
    pthread_mutex_lock(&lock);
    decl* d = find(hooks, guid);
    int rc = 0;
    if (d)
        rc = (d->okind == okind && d->dkind == dkind) ? 0 : 1;  /* 1: a different one stays */
    else if ((d = add(hooks, guid)) != NULL) {
        d->okind = okind;
        d->dkind = dkind;
    } else
        rc = -1;
    pthread_mutex_unlock(&lock);
    return rc;
}

int phn_iso_hook_kinds(const char* guid, int* okind, int* dkind)
{
    *okind = *dkind = ISO_K_UNKNOWN;
    if (!guid)
        return -1;
    pthread_mutex_lock(&lock);
    decl* d = find(hooks, guid);
    if (d) {
        *okind = d->okind;
        *dkind = d->dkind;
    }
    pthread_mutex_unlock(&lock);
    return d ? 0 : -1;
}

int phn_iso_declare_interface(const char* guid, const char* codes)
{
    if (!guid || !codes || iso_sig_slots(codes) < 0)
        return -1;
    pthread_mutex_lock(&lock);
    decl* d = find(interfaces, guid);
    int rc = 0;
    if (d)
        rc = d->codes && strcmp(d->codes, codes) == 0 ? 0 : 1;
    else if ((d = add(interfaces, guid)) != NULL && (d->codes = strdup(codes)) != NULL)
        rc = 0;
    else
        rc = -1;
    pthread_mutex_unlock(&lock);
    return rc;
}

const char* phn_iso_interface_codes(const char* guid)
{
    if (!guid)
        return NULL;
    pthread_mutex_lock(&lock);
    decl* d = find(interfaces, guid);
    const char* codes = d ? d->codes : NULL;  /* never freed: stable for the process */
    pthread_mutex_unlock(&lock);
    return codes;
}
