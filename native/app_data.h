/*
 * app_data.h -- the data blocks behind the application-provided interfaces (DCHub, DCQueue,
 * DCConnection, DCDataAccess) and the ownership rules of the ABI.
 *
 * Every HubData, UserData, ConnectionData, QueueData and DataArray that pyhost makes is ONE
 * calloc'd block: the struct, then its strings (or bytes) right after it, so its strings
 * live exactly as long as the struct. Each block is either
 *
 *   managed  (isManaged = True)   owned by the host: handed to hook subscribers as a hook's
 *                                 object or data; the host frees it (phn_app_free) when the
 *                                 entity goes away or at shutdown. A plugin must not release
 *                                 it; if it tries, the release is refused and counted.
 *   a copy   (isManaged = False)  owned by the plugin that received it (from copy, copy_user,
 *                                 add_hub, find_hub, find_user, get_user, add_list,
 *                                 add_download, find_download) until it gives it back with
 *                                 the interface's release / release_user.
 *
 * Every live block is recorded in a process-wide set keyed by its address, so a release is
 * checked WITHOUT reading the pointer it is given: a double release, a release of a managed
 * block, of a block of another kind (a HubData given to release_user), or of anything pyhost
 * did not hand out is refused, counted (phn_app_refused) and otherwise ignored. NULL is a
 * no-op. The reference host reads isManaged instead, which crashes on a double release.
 *
 * Arenas: each block belongs to an arena (one per Host; 0 = none). A copy belongs to the
 * arena of its source when the source is a live block, else to arena 0. phn_app_free_arena
 * frees whatever an arena still holds when its host shuts down (after every plugin library
 * is closed, nothing can still use it) and reports how many copies plugins had leaked.
 *
 * Threads: every function may be called from any thread (one mutex around the set).
 * The phn_*_copy and phn_*_release functions use the DCAPI convention: they are the tables'
 * copy and release entries themselves.
 */
#ifndef PYHOST_APP_DATA_H
#define PYHOST_APP_DATA_H

#include "dcplugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Block kinds. */
#define PHN_KIND_HUB 1
#define PHN_KIND_USER 2
#define PHN_KIND_CONN 3
#define PHN_KIND_QUEUE 4
#define PHN_KIND_DATA 5
#define PHN_KINDS 6            /* array size for per-kind counts (index 0 unused) */

/* Why a release was refused. */
#define PHN_REFUSED_UNKNOWN 0     /* not a live block: double release, stack struct, garbage */
#define PHN_REFUSED_MANAGED 1     /* a managed (host-owned) block */
#define PHN_REFUSED_WRONG_KIND 2  /* a live block of another kind */
#define PHN_REFUSED_REASONS 3

#define PHN_ARENA_ALL 0xFFFFFFFFu  /* phn_app_live: count every arena */

/* Constructors: NULL strings are stored as "". NULL when memory is short. */
HubData* phn_hub_new(uint32_t arena, Bool managed, const char* url, const char* ip,
                     dcptr_t object, uint16_t port, ProtocolType protocol, Bool isOp,
                     Bool isSecure);
UserData* phn_user_new(uint32_t arena, Bool managed, const char* nick, const char* hubHint,
                       const char* cid, dcptr_t object, uint32_t sid, ProtocolType protocol,
                       Bool isOp);
ConnectionData* phn_conn_new(uint32_t arena, Bool managed, const char* ip, dcptr_t object,
                             uint16_t port, ProtocolType protocol, Bool isOp, Bool isSecure);
QueueData* phn_queue_new(uint32_t arena, Bool managed, const char* target,
                         const char* location, const char* hash, dcptr_t object,
                         uint64_t size, Bool isFileList);
/* `size` bytes from `bytes` (NULL with size 0 is fine); a NUL follows them in the block. */
DataArray* phn_data_new(uint32_t arena, Bool managed, const void* bytes, uint64_t size);

/* The tables' copy / release entries. A copy is always isManaged = False. */
HubData* DCAPI phn_hub_copy(const HubData* hub);
void DCAPI phn_hub_release(HubData* hub);
UserData* DCAPI phn_user_copy(const UserData* user);
void DCAPI phn_user_release(UserData* user);
QueueData* DCAPI phn_queue_copy(const QueueData* item);
void DCAPI phn_queue_release(QueueData* item);
DataArray* DCAPI phn_data_copy(const DataArray* data);
void DCAPI phn_data_release(DataArray* data);

/* Host side. phn_app_free frees a live block whatever its owner (1), or does nothing for an
 * address that is not a live block (0). */
int phn_app_free(void* block);
/* Frees every block of `arena`; copies[kind] (when not NULL, PHN_KINDS longs) receives how
 * many plugin-owned copies of each kind were still live. Returns the blocks freed. */
long phn_app_free_arena(uint32_t arena, long* copies);
/* Live blocks of `arena` (or PHN_ARENA_ALL) of `kind` (0 = any); managed: 1 managed only,
 * 0 copies only, -1 both. */
long phn_app_live(uint32_t arena, int kind, int managed);
/* Releases refused so far for `reason` (process-wide, monotonic). */
long phn_app_refused(int reason);
/* The kind of a live block, or 0. Never reads the pointer. */
int phn_app_kind(const void* block);

#ifdef __cplusplus
}
#endif

#endif
