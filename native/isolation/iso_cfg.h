/*
 * iso_cfg.h -- DCConfig values on the wire: u8 present, i32 type, then by type a str
 * (STRING), i32 (INT, BOOL) or i64 (INT64); REMOVE and unknown types carry nothing more.
 */
#ifndef PYHOST_ISO_CFG_H
#define PYHOST_ISO_CFG_H

#include "dcplugin.h"
#include "iso_wire.h"

typedef union iso_cfg_storage {
    ConfigValue head;
    ConfigStr str;
    ConfigInt i;
    ConfigBool b;
    ConfigInt64 l;
} iso_cfg_storage;

static inline void iso_put_cfg(iso_w* w, const ConfigValue* v)
{
    if (!v) {
        iso_w_u8(w, 0);
        return;
    }
    iso_w_u8(w, 1);
    iso_w_i32(w, (int32_t)v->type);
    switch (v->type) {
    case CFG_TYPE_STRING: iso_w_str(w, ((const ConfigStr*)v)->value); break;
    case CFG_TYPE_INT: iso_w_i32(w, ((const ConfigInt*)v)->value); break;
    case CFG_TYPE_BOOL: iso_w_i32(w, (int32_t)((const ConfigBool*)v)->value); break;
    case CFG_TYPE_INT64: iso_w_i64(w, ((const ConfigInt64*)v)->value); break;
    default: break;
    }
}

/* Reads a value into `st` (a string points into the message); NULL when absent/malformed. */
static inline ConfigValue* iso_get_cfg(iso_r* r, iso_cfg_storage* st)
{
    memset(st, 0, sizeof *st);
    if (!iso_r_u8(r))
        return NULL;
    st->head.type = (ConfigType)iso_r_i32(r);
    switch (st->head.type) {
    case CFG_TYPE_STRING: st->str.value = iso_r_str(r); break;
    case CFG_TYPE_INT: st->i.value = iso_r_i32(r); break;
    case CFG_TYPE_BOOL: st->b.value = iso_r_i32(r) ? True : False; break;
    case CFG_TYPE_INT64: st->l.value = iso_r_i64(r); break;
    default: break;
    }
    return r->err ? NULL : &st->head;
}

#endif
