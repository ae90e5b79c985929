/*
 * depbase_greeter.h -- the interface the dep_base sample registers and dep_child queries.
 * Only the layout below is shared between the two plugins (dep_base.c keeps its own copy of
 * the struct and checks at compile time that it matches this one).
 */
#ifndef DEPBASE_GREETER_H
#define DEPBASE_GREETER_H

#include <stdint.h>

#include "dcplugin.h"

#define DEPBASE_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000005}"

#define DEPBASE_GREETER_INTF "sample.depbase.Greeter"
#define DEPBASE_GREETER_VER 1

typedef struct DepBaseGreeter {
    uint32_t apiVersion; /* = DEPBASE_GREETER_VER */
    int (DCAPI* add)(int a, int b);
} DepBaseGreeter, *DepBaseGreeterPtr;

#endif /* DEPBASE_GREETER_H */
