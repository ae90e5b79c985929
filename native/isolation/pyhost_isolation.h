/*
 * pyhost_isolation.h -- the host side of crash isolation (part of libpyhost_native).
 *
 * An isolated native plugin runs in a pyhost-runner process (native/isolation/runner/).
 * On the host it is a phn_iso_plugin: the DCCore the host gave it (its PluginCore), the
 * handles it holds, its deadlines and the record of its last hook calls. It outlives its
 * runner processes: each one is a phn_iso_channel (the process, its shared memory, its
 * threads); a crashed runner's channel is replaced by a new one and the plugin re-binds.
 *
 * On the host's bus a subscription of the plugin is a proxy subscriber (phn_iso_proxy_hook,
 * C, no Python) whose `common` records the runner's function and `common`; calling it
 * forwards the hook call over a lane and waits for the answer, serving the runner's calls
 * back meanwhile. Hooks, interfaces and UI commands the plugin creates become host objects
 * whose functions forward the same way (libffi closures where the ABI has no context
 * pointer).
 *
 * Deadlines: each forwarded call waits for the runner at most its deadline (per hook guid
 * prefix, see phn_iso_plugin_deadline); past it the runner is killed (SIGKILL) and the call
 * answers "not handled". A dead runner's calls answer at once.
 *
 * Declarations: a hook's object and data, and an interface's function signatures, must be
 * known to cross processes (phn_iso_declare_hook / phn_iso_declare_interface; pyhost.abi
 * declares the standard hooks and every described Interface). Undeclared hook values are
 * forwarded as NULL; undeclared interfaces are not forwarded.
 */
#ifndef PYHOST_ISOLATION_H
#define PYHOST_ISOLATION_H

#include <stddef.h>
#include <stdint.h>

#include "dcplugin.h"
#include "pyhost_native.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct phn_iso_plugin phn_iso_plugin;
typedef struct phn_iso_channel phn_iso_channel;

/* A malloc'd byte string handed to Python (free it with phn_iso_blob_free). */
typedef struct phn_iso_blob {
    unsigned char* data;
    size_t len;
} phn_iso_blob;
void phn_iso_blob_free(phn_iso_blob* blob);

/* Declarations (process-wide; the first one for a guid wins). kinds: ISO_K_* numbers. */
int phn_iso_declare_hook(const char* guid, int okind, int dkind);
/* okind/dkind of a hook, 255 each when undeclared. */
int phn_iso_hook_kinds(const char* guid, int* okind, int* dkind);
int phn_iso_declare_interface(const char* guid, const char* codes);
const char* phn_iso_interface_codes(const char* guid);  /* NULL when undeclared */

/* ---- plugins ----------------------------------------------------------------------------- */

phn_iso_plugin* phn_iso_plugin_new(phn_bus* bus, const char* name, uint32_t history);
/* The plugin's DCCore (its PluginCore); the host serves the runner's calls through it. */
void phn_iso_plugin_set_core(phn_iso_plugin* p, DCCore* core);
/* Deadline for forwarded hook calls whose guid starts with `prefix` (the longest matching
 * prefix wins; "" sets the default). */
int phn_iso_plugin_deadline(phn_iso_plugin* p, const char* prefix, uint64_t ns);
/* Deadlines of main (lifecycle states), interface calls and UI commands. */
void phn_iso_plugin_budgets(phn_iso_plugin* p, uint64_t main_ns, uint64_t call_ns);
/* Hooks whose guid starts with `prefix` are fire-and-forget for this plugin: posted to the
 * runner's ring, answered "not handled" at once (object/data that return something --
 * StringData, TagData -- are always synchronous). */
int phn_iso_plugin_async(phn_iso_plugin* p, const char* prefix);
/* After its runner died: releases the plugin's subscriptions (it binds again when it
 * restarts); the hooks and interfaces it created stay, to be taken over by the next
 * runner. */
void phn_iso_plugin_crashed(phn_iso_plugin* p);
/* A registration of this plugin waiting for its interface's declaration: registers it now
 * if it is declared; returns the table or NULL. */
DCInterface* phn_iso_plugin_resolve(phn_iso_plugin* p, const char* guid, uint32_t version);
/* Forwarded hook calls the runner answered so far (a crash after one is not "in a row"). */
uint64_t phn_iso_plugin_calls(phn_iso_plugin* p);
/* The last hook calls forwarded to the plugin, oldest first (see iso_host.c for the
 * layout). */
int phn_iso_history(phn_iso_plugin* p, phn_iso_blob* out);
/* The plugin is unloaded and its runners gone: frees it once no dispatch can use it
 * (phn_iso_collect). */
void phn_iso_plugin_free(phn_iso_plugin* p);
/* Frees what phn_iso_plugin_free left when the bus has no reader left; force: the caller
 * knows there is none (host shutdown). */
void phn_iso_collect(phn_bus* bus, int force);

/* ---- runner processes -------------------------------------------------------------------- */

/* Starts a runner; NULL and a sentence in err when it cannot. */
phn_iso_channel* phn_iso_spawn(phn_iso_plugin* p, const char* runner_path, char* err,
                               size_t errlen);
int phn_iso_pid(phn_iso_channel* c);
/* dlopen + pluginInit in the runner: 0 and the answer in out (see runner_serve.c), or
 * a negative ISO_E* code. */
int phn_iso_open(phn_iso_channel* c, const char* path, uint64_t budget_ns, phn_iso_blob* out);
/* main(state): 1 True, 0 False, negative: the runner died or missed its deadline. */
int phn_iso_main(phn_iso_channel* c, int state, uint64_t budget_ns);
/* Makes this channel the plugin's current one (after a successful open). */
void phn_iso_activate(phn_iso_channel* c);
/* Asks the runner to close the plugin (ISO_OP_SHUTDOWN); it exits at phn_iso_hangup. */
int phn_iso_shutdown(phn_iso_channel* c, uint64_t budget_ns);
/* Ends our side of the socket: the runner exits when it sees that. */
void phn_iso_hangup(phn_iso_channel* c);
/* Waits until every fire-and-forget call posted so far was processed. */
int phn_iso_drain(phn_iso_channel* c, uint64_t budget_ns);
/* Blocks until the runner exits (reaps it) and marks the channel dead: the wait status. */
int phn_iso_wait(phn_iso_channel* c);
void phn_iso_kill(phn_iso_channel* c);
/* Whether the runner is gone (or was killed): its calls answer at once. */
int phn_iso_dead(phn_iso_channel* c);
/* What the runner was doing when it died: the hook (or "interface X", "UI command X") of
 * the first call that failed, and whether it was killed for missing a deadline. */
int phn_iso_crash_info(phn_iso_channel* c, phn_iso_blob* what, int* deadline);
/* Releases the caller's reference (after phn_iso_wait). */
void phn_iso_channel_free(phn_iso_channel* c);

/* The proxy subscriber (its `common` is the host's record of a runner subscription). */
Bool DCAPI phn_iso_proxy_hook(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak);

/* Where the text of a running onChatTags call comes from, for the crash replay file (the
 * host's tag sessions); NULL = do not record it. */
void phn_iso_set_tag_text(const char* (*fn)(void* tag_data));

#ifdef __cplusplus
}
#endif

#endif
