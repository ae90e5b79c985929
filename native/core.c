/*
 * Bus lifecycle, the interface registry and the DCCore / DCHooks tables.
 *
 * ABI functions carry no context pointer, so each live bus owns one of PHN_MAX_BUSES slots
 * and gets tables whose functions are bound to that slot at compile time.
 */
#include <stdlib.h>
#include <string.h>

#include "bus_internal.h"

struct phn_intf {
    phn_intf* next;
    const void* token;    /* its handle: never reused, so a stale one matches nothing */
    DCInterface* table;
    uint32_t version;
    char guid[];
};

struct phn_name {
    phn_name* next;
    char guid[];
};

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static phn_bus* _Atomic slots[PHN_MAX_BUSES];
#define SLOT_BUS(n) atomic_load_explicit(&slots[n], memory_order_acquire)

static char* dup_string(const char* s)
{
    size_t n = strlen(s) + 1;
    char* d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- interface registry ------------------------------------------------------------- */

intfHandle phn_register_interface(phn_bus* bus, const char* guid, dcptr_t table)
{
    if (!bus || !guid || !table)
        return NULL;
    size_t len = strlen(guid);
    phn_intf* rec = malloc(sizeof *rec + len + 1);
    if (!rec)
        return NULL;
    memcpy(rec->guid, guid, len + 1);
    rec->table = table;
    rec->version = ((DCInterface*)table)->apiVersion;
    /* A token shared with the subscriptions' (bus_handles.c), not the record's address:
     * freed memory is reused by the next registration at once, and a stale handle of the
     * reference host (the table's address, disguised) matches no other table either. */
    rec->token = phn_handle_token(PHN_HANDLE_INTF);
    if (!rec->token) {
        free(rec);
        return NULL;
    }
    pthread_mutex_lock(&bus->lock);
    for (phn_intf* i = bus->interfaces; i; i = i->next) {
        if (strcmp(i->guid, guid) == 0) { /* the first registration wins */
            pthread_mutex_unlock(&bus->lock);
            phn_handle_drop(rec->token);
            free(rec);
            return NULL;
        }
    }
    rec->next = bus->interfaces;
    bus->interfaces = rec;
    pthread_mutex_unlock(&bus->lock);
    return (intfHandle)rec->token;
}

/* A registration that holds its guid without a table anyone can query yet: an isolated
 * plugin's interface waiting for its description (pyhost.host.isolation). */
static DCInterface reserved_table = {0};

DCInterface* phn_reserved_interface(void)
{
    return &reserved_table;
}

/* As the reference host: the table when it was registered with apiVersion >= version,
 * else NULL (a caller asking for a newer version would read past an older, shorter table). */
DCInterface* phn_query_interface(phn_bus* bus, const char* guid, uint32_t version)
{
    if (!bus || !guid)
        return NULL;
    DCInterface* found = NULL;
    pthread_mutex_lock(&bus->lock);
    for (phn_intf* i = bus->interfaces; i; i = i->next) {
        if (strcmp(i->guid, guid) == 0) {
            if (version <= i->version && i->table != &reserved_table)
                found = i->table;
            break;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    return found;
}

/* Gives a registration its table at last, keeping its handle (a reserved one, above). */
Bool phn_fill_interface(phn_bus* bus, intfHandle handle, dcptr_t table)
{
    if (!bus || !handle || !table)
        return False;
    Bool ok = False;
    pthread_mutex_lock(&bus->lock);
    for (phn_intf* i = bus->interfaces; i; i = i->next) {
        if (i->token == handle) {
            ok = i->table == &reserved_table ? True : False;
            if (ok) {
                i->table = table;
                i->version = ((DCInterface*)table)->apiVersion;
            }
            break;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    return ok;
}

/* Compares handles only, never reads one: garbage or a released handle answers False. */
Bool phn_release_interface(phn_bus* bus, intfHandle handle)
{
    if (!bus || !handle)
        return False;
    phn_intf* found = NULL;
    pthread_mutex_lock(&bus->lock);
    for (phn_intf** link = &bus->interfaces; *link; link = &(*link)->next) {
        if ((*link)->token == handle) {
            found = *link;
            *link = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    if (!found)
        return False;
    phn_handle_drop(found->token);
    free(found);
    return True;
}

/* ---- plugins present (has_plugin) and host name ------------------------------------- */

int phn_bus_set_plugin(phn_bus* bus, const char* guid, int present)
{
    if (!bus || !guid)
        return -1;
    int rc = 0;
    pthread_mutex_lock(&bus->lock);
    phn_name** link = &bus->plugins;
    while (*link && strcmp((*link)->guid, guid) != 0)
        link = &(*link)->next;
    if (present && !*link) {
        size_t len = strlen(guid);
        phn_name* n = malloc(sizeof *n + len + 1);
        if (n) {
            memcpy(n->guid, guid, len + 1);
            n->next = NULL;
            *link = n;
        } else {
            rc = -1;
        }
    } else if (!present && *link) {
        phn_name* n = *link;
        *link = n->next;
        free(n);
    }
    pthread_mutex_unlock(&bus->lock);
    return rc;
}

Bool phn_has_plugin(phn_bus* bus, const char* guid)
{
    if (!bus || !guid)
        return False;
    Bool found = False;
    pthread_mutex_lock(&bus->lock);
    for (phn_name* n = bus->plugins; n; n = n->next)
        if (strcmp(n->guid, guid) == 0) {
            found = True;
            break;
        }
    pthread_mutex_unlock(&bus->lock);
    return found;
}

const char* phn_host_name(phn_bus* bus)
{
    return bus ? bus->host_name : NULL;
}

/* ---- per-slot ABI entry points ------------------------------------------------------ */

static Bool DCAPI abi_destroy_hook(hookHandle h) { return phn_destroy_hook(h); }
static size_t DCAPI abi_release_hook(subsHandle s) { return phn_release_hook(s); }

#define PHN_SLOT(n)                                                                        \
    static hookHandle DCAPI create_hook_##n(const char* g, DCHOOK d)                       \
    { return phn_create_hook(SLOT_BUS(n), g, d); }                                            \
    static subsHandle DCAPI bind_hook_##n(const char* g, DCHOOK p, void* c)                \
    { return phn_bind_hook(SLOT_BUS(n), g, p, c); }                                           \
    static intfHandle DCAPI register_interface_##n(const char* g, dcptr_t t)               \
    { return phn_register_interface(SLOT_BUS(n), g, t); }                                     \
    static DCInterfacePtr DCAPI query_interface_##n(const char* g, uint32_t v)             \
    { return phn_query_interface(SLOT_BUS(n), g, v); }                                        \
    static Bool DCAPI release_interface_##n(intfHandle h)                                  \
    { return phn_release_interface(SLOT_BUS(n), h); }                                         \
    static Bool DCAPI has_plugin_##n(const char* g) { return phn_has_plugin(SLOT_BUS(n), g); } \
    static const char* DCAPI host_name_##n(void) { return phn_host_name(SLOT_BUS(n)); }

PHN_SLOT(0) PHN_SLOT(1) PHN_SLOT(2) PHN_SLOT(3) PHN_SLOT(4) PHN_SLOT(5) PHN_SLOT(6)
PHN_SLOT(7) PHN_SLOT(8) PHN_SLOT(9) PHN_SLOT(10) PHN_SLOT(11) PHN_SLOT(12) PHN_SLOT(13)
PHN_SLOT(14) PHN_SLOT(15)

#define PHN_TABLES(n)                                                                      \
    {{DCAPI_CORE_VER, register_interface_##n, query_interface_##n, release_interface_##n,  \
      has_plugin_##n, host_name_##n},                                                      \
     {DCINTF_HOOKS_VER, create_hook_##n, abi_destroy_hook, bind_hook_##n, phn_abi_run_hook,\
      abi_release_hook}}

static const struct {
    DCCore core;
    DCHooks hooks;
} slot_tables[PHN_MAX_BUSES] = {
    PHN_TABLES(0),  PHN_TABLES(1),  PHN_TABLES(2),  PHN_TABLES(3),
    PHN_TABLES(4),  PHN_TABLES(5),  PHN_TABLES(6),  PHN_TABLES(7),
    PHN_TABLES(8),  PHN_TABLES(9),  PHN_TABLES(10), PHN_TABLES(11),
    PHN_TABLES(12), PHN_TABLES(13), PHN_TABLES(14), PHN_TABLES(15),
};

/* ---- bus lifecycle ------------------------------------------------------------------ */

phn_bus* phn_bus_new(const char* host_name)
{
    phn_bus* bus = calloc(1, sizeof *bus);
    if (!bus)
        return NULL;
    bus->host_name = dup_string(host_name ? host_name : "pyhost");
    if (!bus->host_name || pthread_mutex_init(&bus->lock, NULL) != 0) {
        free(bus->host_name);
        free(bus);
        return NULL;
    }
    pthread_mutex_lock(&slots_lock);
    int slot = -1;
    for (int i = 0; i < PHN_MAX_BUSES; ++i)
        if (!slots[i]) {
            slot = i;
            break;
        }
    if (slot >= 0)
        atomic_store_explicit(&slots[slot], bus, memory_order_release);
    pthread_mutex_unlock(&slots_lock);
    if (slot < 0) {
        pthread_mutex_destroy(&bus->lock);
        free(bus->host_name);
        free(bus);
        return NULL;
    }
    bus->slot = slot;
    bus->core = slot_tables[slot].core;
    bus->hooks = slot_tables[slot].hooks;
    if (!phn_register_interface(bus, DCINTF_HOOKS, &bus->hooks)) {
        phn_bus_free(bus);
        return NULL;
    }
    return bus;
}

void phn_bus_free(phn_bus* bus)
{
    if (!bus)
        return;
    pthread_mutex_lock(&slots_lock);
    atomic_store_explicit(&slots[bus->slot], NULL, memory_order_release);
    pthread_mutex_unlock(&slots_lock);
    phn_bus_hooks_free_all(bus);
    while (bus->interfaces) {
        phn_intf* i = bus->interfaces;
        bus->interfaces = i->next;
        phn_handle_drop(i->token);
        free(i);
    }
    while (bus->plugins) {
        phn_name* n = bus->plugins;
        bus->plugins = n->next;
        free(n);
    }
    pthread_mutex_destroy(&bus->lock);
    free(bus->host_name);
    free(bus);
}

DCCore* phn_bus_core(phn_bus* bus) { return bus ? &bus->core : NULL; }
DCHooks* phn_bus_hooks(phn_bus* bus) { return bus ? &bus->hooks : NULL; }
