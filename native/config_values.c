/*
 * ConfigValue allocation for DCConfig. Every value handed to a plugin is one malloc'd block
 * (a string value is stored right after its struct), so DCConfig.release is a single free()
 * and DCConfig.copy a single allocation. A live counter lets tests prove nothing leaks.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pyhost_native.h"

static atomic_long live_values;

static void* new_block(size_t size)
{
    void* block = calloc(1, size);
    if (block)
        atomic_fetch_add_explicit(&live_values, 1, memory_order_relaxed);
    return block;
}

ConfigValue* phn_cfg_string(const char* value)
{
    if (!value)
        value = "";
    size_t len = strlen(value);
    ConfigStr* v = new_block(sizeof *v + len + 1);
    if (!v)
        return NULL;
    char* text = (char*)(v + 1);
    memcpy(text, value, len + 1);
    v->type = CFG_TYPE_STRING;
    v->value = text;
    return (ConfigValue*)v;
}

ConfigValue* phn_cfg_int(int32_t value)
{
    ConfigInt* v = new_block(sizeof *v);
    if (v) {
        v->type = CFG_TYPE_INT;
        v->value = value;
    }
    return (ConfigValue*)v;
}

ConfigValue* phn_cfg_bool(Bool value)
{
    ConfigBool* v = new_block(sizeof *v);
    if (v) {
        v->type = CFG_TYPE_BOOL;
        v->value = value ? True : False;
    }
    return (ConfigValue*)v;
}

ConfigValue* phn_cfg_int64(int64_t value)
{
    ConfigInt64* v = new_block(sizeof *v);
    if (v) {
        v->type = CFG_TYPE_INT64;
        v->value = value;
    }
    return (ConfigValue*)v;
}

ConfigValue* DCAPI phn_cfg_copy(const ConfigValue* value)
{
    if (!value)
        return NULL;
    switch (value->type) {
    case CFG_TYPE_STRING:
        return phn_cfg_string(((const ConfigStr*)value)->value);
    case CFG_TYPE_INT:
        return phn_cfg_int(((const ConfigInt*)value)->value);
    case CFG_TYPE_BOOL:
        return phn_cfg_bool(((const ConfigBool*)value)->value);
    case CFG_TYPE_INT64:
        return phn_cfg_int64(((const ConfigInt64*)value)->value);
    default:
        return NULL; /* REMOVE / UNKNOWN carry no value */
    }
}

void DCAPI phn_cfg_release(ConfigValue* value)
{
    if (!value)
        return;
    atomic_fetch_sub_explicit(&live_values, 1, memory_order_relaxed);
    free(value);
}

long phn_cfg_live(void)
{
    return atomic_load_explicit(&live_values, memory_order_relaxed);
}
