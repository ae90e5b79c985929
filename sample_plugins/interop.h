/*
 * interop.h -- what the interop samples share: the guids of the three plugins, the hooks they
 * create and the interface tables they register. Two are C (interop_c_owner.c,
 * interop_c_user.c), one is Python (python/interop_py/); the Python side describes the same
 * tables with pyhost.interfaces (python/interop_py/tables.py).
 *
 *   interop_c_owner (C)      creates sample.interop.onPing, registers sample.interop.CMath
 *        ^ depends on
 *   interop_py (Python)      binds onPing, calls CMath; creates sample.python.onGreeting,
 *        ^ depends on        registers sample.python.Calculator
 *   interop_c_user (C)       binds onGreeting and onPing, calls Calculator
 */
#ifndef INTEROP_H
#define INTEROP_H

#include <stdint.h>

#include "dcplugin.h"

#define INTEROP_C_OWNER_GUID "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"
#define INTEROP_PY_GUID      "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}"
#define INTEROP_C_USER_GUID  "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000505}"

/* Created by interop_c_owner; object NULL, data StringData* (in = the ping text). */
#define INTEROP_PING_HOOK "sample.interop.onPing"
/* Created by interop_py; object NULL, data char* (a name). */
#define INTEROP_GREETING_HOOK "sample.python.onGreeting"

/* Registered by interop_c_owner. */
#define INTEROP_CMATH_INTF "sample.interop.CMath"
#define INTEROP_CMATH_VER 1
typedef struct InteropCMath {
    uint32_t apiVersion;
    int (DCAPI* mul)(int a, int b);
    const char* (DCAPI* name)(void);
} InteropCMath;

/* Registered by interop_py (a Python class exposed as this table). */
#define INTEROP_CALC_INTF "sample.python.Calculator"
#define INTEROP_CALC_VER 1
typedef struct InteropCalculator {
    uint32_t apiVersion;
    int (DCAPI* add)(int a, int b);
    const char* (DCAPI* describe)(int n);
} InteropCalculator;

#endif /* INTEROP_H */
