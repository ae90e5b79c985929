/*
 * null_main -- pluginInit fills MetaData completely but returns NULL instead of a main
 * function. Demonstrates the host's "pluginInit returned NULL = not a valid plugin" check.
 *
 * Behaviour the tests rely on: MetaData is valid (guid ...0009, apiVersion 8); the return
 * value is NULL.
 */
#include <stddef.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000009}"

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Null main";
    info->author = "pyhost developers";
    info->description = "pluginInit returns NULL";
    info->web = "https://example.invalid/pyhost";
    info->guid = PLUGIN_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return NULL;
}
