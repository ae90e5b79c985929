/*
 * Hook objects, hook data and application structs on the wire (iso_marshal.h).
 */
#define _GNU_SOURCE
#include <string.h>

#include "iso_marshal.h"

static uint32_t flags_of(Bool op, Bool secure, Bool managed, Bool file_list)
{
    return (op ? ISO_F_OP : 0) | (secure ? ISO_F_SECURE : 0) | (managed ? ISO_F_MANAGED : 0) |
           (file_list ? ISO_F_FILELIST : 0);
}

static Bool flag(uint32_t flags, uint32_t bit) { return (flags & bit) ? True : False; }

void iso_put_value(iso_w* w, int kind, const void* ptr)
{
    if (!ptr || !iso_kind_known(kind) || kind == ISO_K_NONE) {
        iso_w_u8(w, 0);
        return;
    }
    if (kind == ISO_K_BYTES && ((const DataArray*)ptr)->size > ISO_MAX_BYTES) {
        iso_w_u8(w, 0);
        return;
    }
    iso_w_u8(w, 1);
    switch (kind) {
    case ISO_K_HUB: {
        const HubData* h = ptr;
        iso_w_ptr(w, h);
        iso_w_str(w, h->url);
        iso_w_str(w, h->ip);
        iso_w_ptr(w, h->object);
        iso_w_u32(w, h->port);
        iso_w_u32(w, (uint32_t)h->protocol);
        iso_w_u32(w, flags_of(h->isOp, h->isSecure, h->isManaged, False));
        break;
    }
    case ISO_K_USER: {
        const UserData* u = ptr;
        iso_w_ptr(w, u);
        iso_w_str(w, u->nick);
        iso_w_str(w, u->hubHint);
        iso_w_str(w, u->cid);
        iso_w_ptr(w, u->object);
        iso_w_u32(w, u->sid);
        iso_w_u32(w, (uint32_t)u->protocol);
        iso_w_u32(w, flags_of(u->isOp, False, u->isManaged, False));
        break;
    }
    case ISO_K_CONNECTION: {
        const ConnectionData* c = ptr;
        iso_w_ptr(w, c);
        iso_w_str(w, c->ip);
        iso_w_ptr(w, c->object);
        iso_w_u32(w, c->port);
        iso_w_u32(w, (uint32_t)c->protocol);
        iso_w_u32(w, flags_of(c->isOp, c->isSecure, c->isManaged, False));
        break;
    }
    case ISO_K_QUEUE: {
        const QueueData* q = ptr;
        iso_w_ptr(w, q);
        iso_w_str(w, q->target);
        iso_w_str(w, q->location);
        iso_w_str(w, q->hash);
        iso_w_ptr(w, q->object);
        iso_w_u64(w, q->size);
        iso_w_u32(w, flags_of(False, False, q->isManaged, q->isFileList));
        break;
    }
    case ISO_K_UDP: {
        const UDPData* u = ptr;
        iso_w_str(w, u->ip);
        iso_w_u32(w, u->port);
        break;
    }
    case ISO_K_HOST:
        iso_w_ptr(w, ptr);
        break;
    case ISO_K_TEXT:
        iso_w_str(w, ptr);
        break;
    case ISO_K_TICK:
        iso_w_u64(w, *(const uint64_t*)ptr);
        break;
    case ISO_K_TAGS: {
        const TagData* t = ptr;
        iso_w_ptr(w, t);
        iso_w_ptr(w, t->object);
        iso_w_u32(w, flags_of(False, False, t->isManaged, False));
        break;
    }
    case ISO_K_DISPLAY: {
        const StringData* d = ptr;
        iso_w_str(w, d->in);
        iso_w_str(w, d->out);
        break;
    }
    case ISO_K_COMMAND: {
        const CommandData* c = ptr;
        iso_w_str(w, c->command);
        iso_w_str(w, c->params);
        break;
    }
    case ISO_K_BYTES: {
        const DataArray* d = ptr;
        iso_w_ptr(w, d);
        iso_w_bytes(w, d->pData ? d->pData : "", (uint32_t)(d->pData ? d->size : 0));
        iso_w_u32(w, 0);
        break;
    }
    default:
        break;
    }
}

int iso_get_value(iso_r* r, int kind, iso_value* v)
{
    memset(v, 0, sizeof *v);
    v->kind = kind;
    if (!iso_kind_known(kind) || kind == ISO_K_NONE) {
        iso_r_u8(r);
        return r->err ? -1 : 0;
    }
    v->present = iso_r_u8(r) != 0;
    if (!v->present)
        return r->err ? -1 : 0;
    switch (kind) {
    case ISO_K_HUB:
        v->addr = iso_r_u64(r);
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->s[1] = iso_r_bytes(r, &v->len[1]);
        v->object = iso_r_u64(r);
        v->port = iso_r_u32(r);
        v->protocol = iso_r_u32(r);
        v->flags = iso_r_u32(r);
        break;
    case ISO_K_USER:
        v->addr = iso_r_u64(r);
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->s[1] = iso_r_bytes(r, &v->len[1]);
        v->s[2] = iso_r_bytes(r, &v->len[2]);
        v->object = iso_r_u64(r);
        v->sid = iso_r_u32(r);
        v->protocol = iso_r_u32(r);
        v->flags = iso_r_u32(r);
        break;
    case ISO_K_CONNECTION:
        v->addr = iso_r_u64(r);
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->object = iso_r_u64(r);
        v->port = iso_r_u32(r);
        v->protocol = iso_r_u32(r);
        v->flags = iso_r_u32(r);
        break;
    case ISO_K_QUEUE:
        v->addr = iso_r_u64(r);
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->s[1] = iso_r_bytes(r, &v->len[1]);
        v->s[2] = iso_r_bytes(r, &v->len[2]);
        v->object = iso_r_u64(r);
        v->size = iso_r_u64(r);
        v->flags = iso_r_u32(r);
        break;
    case ISO_K_UDP:
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->port = iso_r_u32(r);
        break;
    case ISO_K_HOST:
    case ISO_K_TICK:
        v->object = iso_r_u64(r);
        break;
    case ISO_K_TEXT:
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        if (!v->s[0])
            v->present = 0;
        break;
    case ISO_K_TAGS:
        v->addr = iso_r_u64(r);
        v->object = iso_r_u64(r);
        v->flags = iso_r_u32(r);
        break;
    case ISO_K_DISPLAY:
    case ISO_K_COMMAND:
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->s[1] = iso_r_bytes(r, &v->len[1]);
        break;
    case ISO_K_BYTES:
        v->addr = iso_r_u64(r);
        v->s[0] = iso_r_bytes(r, &v->len[0]);
        v->size = v->len[0];
        v->flags = iso_r_u32(r);
        if (!v->s[0])
            v->present = 0;
        break;
    default:
        break;
    }
    return r->err ? -1 : 0;
}

static uint16_t port16(uint32_t port) { return (uint16_t)(port > 65535 ? 0 : port); }

static ProtocolType protocol_of(uint32_t p) { return p <= PROTOCOL_DHT ? (ProtocolType)p : PROTOCOL_ADC; }

void* iso_value_struct(const iso_value* v, iso_struct* st)
{
    if (!v->present)
        return NULL;
    memset(st, 0, sizeof *st);
    switch (v->kind) {
    case ISO_K_HUB:
        st->hub = (HubData){v->s[0], v->s[1], (dcptr_t)(uintptr_t)v->object, port16(v->port),
                            protocol_of(v->protocol), flag(v->flags, ISO_F_OP),
                            flag(v->flags, ISO_F_SECURE), flag(v->flags, ISO_F_MANAGED)};
        return &st->hub;
    case ISO_K_USER:
        st->user = (UserData){v->s[0], v->s[1], v->s[2], (dcptr_t)(uintptr_t)v->object, v->sid,
                              protocol_of(v->protocol), flag(v->flags, ISO_F_OP),
                              flag(v->flags, ISO_F_MANAGED)};
        return &st->user;
    case ISO_K_CONNECTION:
        st->conn = (ConnectionData){v->s[0], (dcptr_t)(uintptr_t)v->object, port16(v->port),
                                    protocol_of(v->protocol), flag(v->flags, ISO_F_OP),
                                    flag(v->flags, ISO_F_SECURE), flag(v->flags, ISO_F_MANAGED)};
        return &st->conn;
    case ISO_K_QUEUE:
        st->queue = (QueueData){v->s[0], v->s[1], v->s[2], (dcptr_t)(uintptr_t)v->object,
                                v->size, flag(v->flags, ISO_F_FILELIST),
                                flag(v->flags, ISO_F_MANAGED)};
        return &st->queue;
    case ISO_K_UDP:
        st->udp = (UDPData){v->s[0], port16(v->port)};
        return &st->udp;
    case ISO_K_HOST:
        return (void*)(uintptr_t)v->object;
    case ISO_K_TEXT:
        return (void*)v->s[0];
    case ISO_K_TICK:
        st->tick = v->object;
        return &st->tick;
    case ISO_K_TAGS:
        st->tags = (TagData){(dcptr_t)(uintptr_t)v->object, flag(v->flags, ISO_F_MANAGED)};
        return &st->tags;
    case ISO_K_DISPLAY:
        st->display = (StringData){v->s[0], (char*)v->s[1]};
        return &st->display;
    case ISO_K_COMMAND:
        st->command = (CommandData){v->s[0], v->s[1]};
        return &st->command;
    case ISO_K_BYTES:
        st->bytes = (DataArray){v->s[0], v->size};
        return &st->bytes;
    default:
        return NULL;
    }
}
