/*
 * ConfigValue allocation for DCConfig. Every value handed to a plugin is one malloc'd block
 * (a string value is stored right after its struct), so DCConfig.release is a single free()
 * and DCConfig.copy a single allocation.
 *
 * The live values are a handle set (handle_set.h) behind one mutex, so a release is checked
 * without reading its argument: releasing a value twice, a ConfigValue on the plugin's
 * stack, or garbage is refused instead of corrupting the heap (the reference
 * host frees whatever it is given). Its size is the live count tests use to find leaks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "handle_set.h"
#include "pyhost_native.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static phn_set live = PHN_SET_INIT;

static void* new_block(size_t size)
{
    void* block = calloc(1, size);
    if (!block)
        return NULL;
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_insert(&live, block);
    pthread_mutex_unlock(&lock);
    if (!slot) {
        free(block);
        return NULL;
    }
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

/* The reference's conversions of a stored string: atoi, strtoll(s, NULL, 10), s != "0". */
ConfigValue* phn_cfg_from_text(const char* text, ConfigType type)
{
    if (!text)
        text = "";
    switch (type) {
    case CFG_TYPE_STRING:
        return phn_cfg_string(text);
    case CFG_TYPE_INT:
        return phn_cfg_int((int32_t)atoi(text));
    case CFG_TYPE_BOOL:
        return phn_cfg_bool(strcmp(text, "0") != 0 ? True : False);
    case CFG_TYPE_INT64: {
        int saved = errno;
        long long v = strtoll(text, NULL, 10);
        errno = saved;
        return phn_cfg_int64((int64_t)v);
    }
    default:
        return NULL;
    }
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

int phn_cfg_free(ConfigValue* value)
{
    if (!value)
        return 1;
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_find(&live, value);
    if (slot)
        phn_set_erase(&live, slot);
    pthread_mutex_unlock(&lock);
    if (!slot)
        return 0;
    free(value);
    return 1;
}

void DCAPI phn_cfg_release(ConfigValue* value)
{
    phn_cfg_free(value);
}

long phn_cfg_live(void)
{
    pthread_mutex_lock(&lock);
    long n = (long)live.used;
    pthread_mutex_unlock(&lock);
    return n;
}
