/*
 * iso_marshal.h -- hook objects, hook data and the application's structs on the wire.
 *
 * A value of a kind (ISO_K_*) is written from an ABI struct pointer with iso_put_value and
 * read back into an iso_value: its fields, with strings pointing into the received message.
 * iso_value_struct then builds the ABI struct in caller storage, for the duration of the
 * call (the host's temporaries, and the runner's for everything but entities, which the
 * runner keeps in blocks of its own: iso_runner_values.c).
 *
 * Layout (after a u8 "present" flag; 0 = a NULL pointer, nothing follows):
 *   hub         u64 addr, str url, str ip, u64 object, u32 port, u32 protocol, u32 flags
 *   user        u64 addr, str nick, str hubHint, str cid, u64 object, u32 sid, u32 protocol,
 *               u32 flags
 *   connection  u64 addr, str ip, u64 object, u32 port, u32 protocol, u32 flags
 *   queue       u64 addr, str target, str location, str hash, u64 object, u64 size, u32 flags
 *   udp         str ip, u32 port
 *   host        u64 value
 *   text        str
 *   tick        u64
 *   tags        u64 addr, u64 object, u32 flags
 *   display     str in, str out
 *   command     str command, str params
 *   bytes       u64 addr, bytes, u32 flags
 * flags: ISO_F_OP, ISO_F_SECURE, ISO_F_MANAGED, ISO_F_FILELIST. `addr` is the sender's
 * address of the struct: the receiver may use it as a key (the runner's cache of host
 * objects) and as a token to hand back (TagData), never as a pointer.
 */
#ifndef PYHOST_ISO_MARSHAL_H
#define PYHOST_ISO_MARSHAL_H

#include "dcplugin.h"
#include "iso_proto.h"
#include "iso_wire.h"

#define ISO_F_OP 1u
#define ISO_F_SECURE 2u
#define ISO_F_MANAGED 4u
#define ISO_F_FILELIST 8u

#define ISO_MAX_BYTES (1u << 30)   /* a DataArray longer than this is refused (sent as NULL) */

typedef struct iso_value {
    int kind;
    int present;
    uint64_t addr;
    const char* s[3];
    uint32_t len[3];
    uint64_t object;       /* dcptr_t object, host value, tick, TagData object */
    uint64_t size;         /* QueueData size, DataArray size */
    uint32_t port;
    uint32_t protocol;
    uint32_t sid;
    uint32_t flags;
} iso_value;

typedef union iso_struct {
    HubData hub;
    UserData user;
    ConnectionData conn;
    UDPData udp;
    QueueData queue;
    TagData tags;
    StringData display;
    CommandData command;
    DataArray bytes;
    uint64_t tick;
} iso_struct;

/* Whether a kind can be forwarded at all (ISO_K_UNKNOWN and out-of-range ones cannot). */
static inline int iso_kind_known(int kind) { return kind >= 0 && kind < ISO_K_COUNT; }

void iso_put_value(iso_w* w, int kind, const void* ptr);
/* Reads a value of `kind`; -1 when the message is malformed. */
int iso_get_value(iso_r* r, int kind, iso_value* v);
/* The ABI object/data for a value: a struct in `st` (strings in the message), the text
 * itself, the host value, or NULL. */
void* iso_value_struct(const iso_value* v, iso_struct* st);

#endif
