/*
 * runner.h -- pyhost-runner: one native plugin in a process of its own.
 *
 * The runner dlopens the plugin (RTLD_LAZY | RTLD_GLOBAL, as the reference host does) and
 * hands it a DCCore whose tables forward every call to the host over the lanes of
 * iso_lane.h; the host calls back into the plugin (its main, its hook subscribers, the
 * interface tables it registered, its UI commands) the same way. What needs no host --
 * DCUtils, DCConfig.copy/release, the copy/release of the application's structs -- runs
 * here, on the runner's own copies of native/utils.c, config_values.c and app_data.c, so a
 * plugin's copies live (and die) in its own process.
 */
#ifndef PYHOST_RUNNER_H
#define PYHOST_RUNNER_H

#include <pthread.h>

#include "../iso_cfg.h"
#include "../iso_lane.h"
#include "../iso_marshal.h"
#include "dcplugin.h"

typedef struct runner {
    iso_ep ep;
    void* library;
    DCMAIN main_fn;
    MetaData meta;
    pthread_mutex_t ring_lock;  /* one consumer of the fire-and-forget ring at a time */
} runner;

extern runner R;

/* A call to the host; on failure (the host is gone) `reply` is empty and readers get 0s. */
int runner_call(uint32_t op, const iso_w* args, iso_msg* reply, iso_r* r);

/* runner_core.c: the DCCore handed to the plugin, and the hook records behind it. */
DCCore* runner_core(void);
const char* runner_keep_string(const char* s);  /* thread's recent strings (StringData.out) */

/* runner_app.c: the application's interfaces (ISO_APP_*), or NULL. */
DCInterface* runner_app_table(int which, uint32_t version);

/* runner_values.c: the runner's side of hook objects and data. */
typedef struct runner_frame {
    void* object;
    void* data;
    iso_struct obj_st;
    iso_struct data_st;
    iso_value obj_v;
    iso_value data_v;
    int tag_session;
    const char* out_before;
} runner_frame;
/* Builds the plugin-visible object/data of a hook call from the host's values. */
void runner_values_enter(runner_frame* f, int okind, int dkind);
/* Releases what runner_values_enter made; `gone`: the object's entity went away. */
void runner_values_leave(runner_frame* f, int gone);
/* A value read from the host as a copy the plugin owns (isManaged = False), or NULL. */
void* runner_copy_from(const iso_value* v);
/* The host token of a TagData of a running onChatTags call, or 0 if it is not one. */
uint64_t runner_tag_token(const TagData* tags);
/* Keeps a DCTagger.get_text string for the rest of the onChatTags call. */
const char* runner_tag_keep(const TagData* tags, const char* text);

/* runner_serve.c: the host's calls. */
void runner_handle(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out);

/* iso_ffi tables of interfaces the host forwards (ISO_Q_GENERIC), by host id. */
DCInterface* runner_generic_table(uint64_t id, uint32_t version, const char* codes);

#endif
