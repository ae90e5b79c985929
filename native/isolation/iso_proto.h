/*
 * iso_proto.h -- what host and runner say to each other: operations, value kinds, limits.
 *
 * Every operation is a CALL answered by one RETURN on the same lane (see iso_lane.h). The
 * first group is called by the host into the runner, the second by the runner into the host.
 * Payload layouts are written next to each operation as "args -> result".
 */
#ifndef PYHOST_ISO_PROTO_H
#define PYHOST_ISO_PROTO_H

#define ISO_PROTO_VERSION 1
#define ISO_SHM_MAGIC 0x70796973u /* "pyis" */

/* ---- host -> runner -------------------------------------------------------------------- */
enum {
    ISO_OP_OPEN = 1,      /* str path -> u32 status, str error | metadata (iso_runner.c) */
    ISO_OP_MAIN,          /* i32 state -> u32 result (1 = True) */
    ISO_OP_HOOK,          /* u64 proc, u64 common, u8 okind, u8 dkind, obj, data
                             -> u32 handled, u32 break, data update */
    ISO_OP_INTF_CALL,     /* u64 table, u32 slot, str codes, args -> result */
    ISO_OP_UI_COMMAND,    /* u64 fn, str name -> (nothing) */
    ISO_OP_SHUTDOWN,      /* -> (nothing); the runner exits after answering */

    /* ---- runner -> host ---------------------------------------------------------------- */
    ISO_OP_LOG = 32,      /* str msg */
    ISO_OP_HAS_PLUGIN,    /* str guid -> u32 */
    ISO_OP_HOST_NAME,     /* -> str */
    ISO_OP_REGISTER_INTF, /* str guid, u64 table, u32 version -> u64 id (0 = refused) */
    ISO_OP_QUERY_INTF,    /* str guid, u32 version -> u8 answer (ISO_Q_*), ... */
    ISO_OP_RELEASE_INTF,  /* u64 id -> u32 */
    ISO_OP_CREATE_HOOK,   /* str guid, u64 def_proc -> u64 id, u8 okind, u8 dkind */
    ISO_OP_DESTROY_HOOK,  /* u64 id -> u32 */
    ISO_OP_BIND_HOOK,     /* str guid, u64 proc, u64 common -> u64 id */
    ISO_OP_RUN_HOOK,      /* u64 id, u8 okind, u8 dkind, obj, data -> u32 handled, update */
    ISO_OP_RELEASE_HOOK,  /* u64 id -> u64 left */
    ISO_OP_HOOK_KINDS,    /* u64 id -> u8 okind, u8 dkind */
    ISO_OP_CFG,           /* u8 function, ... (iso_runner_core.c / iso_host_serve.c) */
    ISO_OP_APP,           /* u8 interface, u8 function, ... */
    ISO_OP_GCALL,         /* u64 id, u32 slot, args -> result */
};

/* Answers of ISO_OP_QUERY_INTF. */
enum {
    ISO_Q_NONE = 0,       /* not registered, too old, or cannot be forwarded */
    ISO_Q_BUILTIN = 1,    /* u8 which (ISO_APP_*), u32 version: the runner's own proxy table */
    ISO_Q_OWN = 2,        /* u64 table: a table this runner registered itself */
    ISO_Q_GENERIC = 3,    /* u64 id, u32 version, str codes: forwarded through libffi */
};

/* The application's interfaces, as ISO_OP_APP's first byte. */
enum {
    ISO_APP_HUB = 1,
    ISO_APP_CONNECTION,
    ISO_APP_QUEUE,
    ISO_APP_UI,
    ISO_APP_TAGGER,
    ISO_APP_DATA,
    ISO_APP_COUNT
};

/* DCConfig functions, as ISO_OP_CFG's first byte. */
enum { ISO_CFG_GET_PATH = 1, ISO_CFG_INSTALL_PATH, ISO_CFG_SET, ISO_CFG_GET, ISO_CFG_LANGUAGE };

/* Function numbers of ISO_OP_APP, per interface, in table order. */
enum {
    ISO_HUB_ADD = 1, ISO_HUB_FIND, ISO_HUB_REMOVE, ISO_HUB_EMULATE, ISO_HUB_SEND_CMD,
    ISO_HUB_SEND_MESSAGE, ISO_HUB_LOCAL_MESSAGE, ISO_HUB_SEND_PM, ISO_HUB_FIND_USER
};
enum { ISO_CONN_SEND_UDP = 1, ISO_CONN_SEND_CMD, ISO_CONN_TERMINATE, ISO_CONN_GET_USER };
enum {
    ISO_QUEUE_ADD_LIST = 1, ISO_QUEUE_ADD_DOWNLOAD, ISO_QUEUE_FIND, ISO_QUEUE_REMOVE,
    ISO_QUEUE_SET_PRIORITY, ISO_QUEUE_PAUSE
};
enum { ISO_UI_ADD_COMMAND = 1, ISO_UI_REMOVE_COMMAND, ISO_UI_PLAY_SOUND, ISO_UI_NOTIFY };
enum { ISO_TAG_GET_TEXT = 1, ISO_TAG_ADD, ISO_TAG_REPLACE };
enum { ISO_DATA_GET_HTTP = 1 };

/* What a hook's object or data points to (pyhost.abi.hook_types mirrors these numbers). */
enum {
    ISO_K_NONE = 0,       /* NULL */
    ISO_K_HUB, ISO_K_USER, ISO_K_CONNECTION, ISO_K_UDP, ISO_K_QUEUE,
    ISO_K_HOST,           /* a host-specific value, passed through unchanged */
    ISO_K_TEXT, ISO_K_TICK, ISO_K_TAGS, ISO_K_DISPLAY, ISO_K_COMMAND, ISO_K_BYTES,
    ISO_K_COUNT,
    ISO_K_UNKNOWN = 255   /* not declared: forwarded as NULL */
};

/* Signature codes of forwarded interface functions (ISO_Q_GENERIC, iso_ffi.c). */
#define ISO_CODES "bBhHiIqQfdsv"

#define ISO_LANES 8           /* lanes each side may start calls on */
#define ISO_LANE_CAP 65536    /* bytes of payload per lane message; longer ones are split */
#define ISO_RING_CAP (1u << 20)

#endif
