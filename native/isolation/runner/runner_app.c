/*
 * The application's interfaces in the runner: DCHub, DCConnection, DCQueue, DCUI, DCTagger
 * and DCDataAccess. Calls are forwarded (ISO_OP_APP); structs go by value. A struct the
 * host answers with becomes a copy in the runner (isManaged = False) that the plugin gives
 * back with the runner's own release/release_user -- copy and release never leave this
 * process, with the checks of native/app_data.c (a double release is refused, not a crash).
 */
#define _GNU_SOURCE
#include <string.h>

#include "../../app_data.h"
#include "runner.h"

typedef struct app_call {
    iso_w w;
    iso_msg reply;
    iso_r r;
} app_call;

static void begin(app_call* c, int which, int fn)
{
    iso_w_init(&c->w);
    iso_msg_init(&c->reply);
    iso_w_u8(&c->w, (uint8_t)which);
    iso_w_u8(&c->w, (uint8_t)fn);
}

static void send(app_call* c) { runner_call(ISO_OP_APP, &c->w, &c->reply, &c->r); }

static void end(app_call* c)
{
    iso_msg_free(&c->reply);
    iso_w_free(&c->w);
}

static void finish(app_call* c)
{
    send(c);
    end(c);
}

static uint32_t finish_u32(app_call* c)
{
    send(c);
    uint32_t v = iso_r_u32(&c->r);
    end(c);
    return c->r.err ? 0 : v;
}

static void* finish_copy(app_call* c, int kind)
{
    send(c);
    iso_value v;
    void* copy = NULL;
    if (iso_get_value(&c->r, kind, &v) == 0)
        copy = runner_copy_from(&v);
    end(c);
    return copy;
}

/* ---- DCHub ----------------------------------------------------------------------------- */

static HubData* DCAPI hub_add(const char* url, const char* nick, const char* password)
{
    app_call c;
    begin(&c, ISO_APP_HUB, ISO_HUB_ADD);
    iso_w_str(&c.w, url);
    iso_w_str(&c.w, nick);
    iso_w_str(&c.w, password);
    return finish_copy(&c, ISO_K_HUB);
}

static HubData* DCAPI hub_find(const char* url)
{
    app_call c;
    begin(&c, ISO_APP_HUB, ISO_HUB_FIND);
    iso_w_str(&c.w, url);
    return finish_copy(&c, ISO_K_HUB);
}

static void DCAPI hub_remove(HubData* hub)
{
    app_call c;
    begin(&c, ISO_APP_HUB, ISO_HUB_REMOVE);
    iso_put_value(&c.w, ISO_K_HUB, hub);
    finish(&c);
}

static void hub_text(int fn, HubData* hub, const char* text, int32_t extra)
{
    app_call c;
    begin(&c, ISO_APP_HUB, fn);
    iso_put_value(&c.w, ISO_K_HUB, hub);
    iso_w_str(&c.w, text);
    iso_w_i32(&c.w, extra);
    finish(&c);
}

static void DCAPI hub_emulate(HubData* hub, const char* cmd) { hub_text(ISO_HUB_EMULATE, hub, cmd, 0); }
static void DCAPI hub_send_cmd(HubData* hub, const char* cmd) { hub_text(ISO_HUB_SEND_CMD, hub, cmd, 0); }
static void DCAPI hub_send_message(HubData* hub, const char* msg, Bool third)
{
    hub_text(ISO_HUB_SEND_MESSAGE, hub, msg, (int32_t)third);
}
static void DCAPI hub_local_message(HubData* hub, const char* msg, MsgType type)
{
    hub_text(ISO_HUB_LOCAL_MESSAGE, hub, msg, (int32_t)type);
}

static Bool DCAPI hub_send_pm(UserData* user, const char* msg, Bool third)
{
    app_call c;
    begin(&c, ISO_APP_HUB, ISO_HUB_SEND_PM);
    iso_put_value(&c.w, ISO_K_USER, user);
    iso_w_str(&c.w, msg);
    iso_w_i32(&c.w, (int32_t)third);
    return finish_u32(&c) ? True : False;
}

static UserData* DCAPI hub_find_user(const char* cid, const char* hub_url)
{
    app_call c;
    begin(&c, ISO_APP_HUB, ISO_HUB_FIND_USER);
    iso_w_str(&c.w, cid);
    iso_w_str(&c.w, hub_url);
    return finish_copy(&c, ISO_K_USER);
}

static DCHub hub_table = {DCINTF_DCPP_HUBS_VER, hub_add, hub_find, hub_remove, hub_emulate,
                          hub_send_cmd, hub_send_message, hub_local_message, hub_send_pm,
                          hub_find_user, phn_user_copy, phn_user_release, phn_hub_copy,
                          phn_hub_release};

/* ---- DCConnection ---------------------------------------------------------------------- */

static void DCAPI conn_send_udp(const char* ip, uint32_t port, dcptr_t data, size_t n)
{
    app_call c;
    begin(&c, ISO_APP_CONNECTION, ISO_CONN_SEND_UDP);
    iso_w_str(&c.w, ip);
    iso_w_u32(&c.w, port);
    if (data && n && n < ISO_MAX_BYTES)
        iso_w_bytes(&c.w, data, (uint32_t)n);
    else
        iso_w_bytes(&c.w, "", 0);
    finish(&c);
}

static void DCAPI conn_send_cmd(ConnectionData* conn, const char* cmd)
{
    app_call c;
    begin(&c, ISO_APP_CONNECTION, ISO_CONN_SEND_CMD);
    iso_put_value(&c.w, ISO_K_CONNECTION, conn);
    iso_w_str(&c.w, cmd);
    finish(&c);
}

static void DCAPI conn_terminate(ConnectionData* conn, Bool graceless)
{
    app_call c;
    begin(&c, ISO_APP_CONNECTION, ISO_CONN_TERMINATE);
    iso_put_value(&c.w, ISO_K_CONNECTION, conn);
    iso_w_i32(&c.w, (int32_t)graceless);
    finish(&c);
}

static UserData* DCAPI conn_get_user(ConnectionData* conn)
{
    app_call c;
    begin(&c, ISO_APP_CONNECTION, ISO_CONN_GET_USER);
    iso_put_value(&c.w, ISO_K_CONNECTION, conn);
    return finish_copy(&c, ISO_K_USER);
}

static DCConnection connection_table = {DCINTF_DCPP_CONNECTIONS_VER, conn_send_udp,
                                        conn_send_cmd, conn_terminate, conn_get_user};

/* ---- DCQueue --------------------------------------------------------------------------- */

static QueueData* DCAPI queue_add_list(UserData* user, Bool silent)
{
    app_call c;
    begin(&c, ISO_APP_QUEUE, ISO_QUEUE_ADD_LIST);
    iso_put_value(&c.w, ISO_K_USER, user);
    iso_w_i32(&c.w, (int32_t)silent);
    return finish_copy(&c, ISO_K_QUEUE);
}

static QueueData* DCAPI queue_add_download(const char* hash, uint64_t size, const char* target)
{
    app_call c;
    begin(&c, ISO_APP_QUEUE, ISO_QUEUE_ADD_DOWNLOAD);
    iso_w_str(&c.w, hash);
    iso_w_u64(&c.w, size);
    iso_w_str(&c.w, target);
    return finish_copy(&c, ISO_K_QUEUE);
}

static QueueData* DCAPI queue_find(const char* target)
{
    app_call c;
    begin(&c, ISO_APP_QUEUE, ISO_QUEUE_FIND);
    iso_w_str(&c.w, target);
    return finish_copy(&c, ISO_K_QUEUE);
}

static void queue_item(int fn, QueueData* item, int32_t extra)
{
    app_call c;
    begin(&c, ISO_APP_QUEUE, fn);
    iso_put_value(&c.w, ISO_K_QUEUE, item);
    iso_w_i32(&c.w, extra);
    finish(&c);
}

static void DCAPI queue_remove(QueueData* item) { queue_item(ISO_QUEUE_REMOVE, item, 0); }
static void DCAPI queue_set_priority(QueueData* item, QueuePrio prio)
{
    queue_item(ISO_QUEUE_SET_PRIORITY, item, (int32_t)prio);
}

static Bool DCAPI queue_pause(QueueData* item)
{
    app_call c;
    begin(&c, ISO_APP_QUEUE, ISO_QUEUE_PAUSE);
    iso_put_value(&c.w, ISO_K_QUEUE, item);
    iso_w_i32(&c.w, 0);
    return finish_u32(&c) ? True : False;
}

static DCQueue queue_table = {DCINTF_DCPP_QUEUE_VER, queue_add_list, queue_add_download,
                              queue_find, queue_remove, queue_set_priority, queue_pause,
                              phn_queue_copy, phn_queue_release};

/* ---- DCUI ------------------------------------------------------------------------------ */

static void DCAPI ui_add_command(const char* guid, const char* name, DCCommandFunc fn,
                                 const char* icon)
{
    app_call c;
    begin(&c, ISO_APP_UI, ISO_UI_ADD_COMMAND);
    iso_w_str(&c.w, guid);
    iso_w_str(&c.w, name);
    iso_w_ptr(&c.w, (void*)fn);
    iso_w_str(&c.w, icon);
    finish(&c);
}

static void ui_two(int fn, const char* a, const char* b)
{
    app_call c;
    begin(&c, ISO_APP_UI, fn);
    iso_w_str(&c.w, a);
    iso_w_str(&c.w, b);
    finish(&c);
}

static void DCAPI ui_remove_command(const char* guid, const char* name)
{
    ui_two(ISO_UI_REMOVE_COMMAND, guid, name);
}
static void DCAPI ui_play_sound(const char* path) { ui_two(ISO_UI_PLAY_SOUND, path, NULL); }
static void DCAPI ui_notify(const char* title, const char* message)
{
    ui_two(ISO_UI_NOTIFY, title, message);
}

static DCUI ui_table = {DCINTF_DCPP_UI_VER, ui_add_command, ui_remove_command, ui_play_sound,
                        ui_notify};

/* ---- DCTagger -------------------------------------------------------------------------- */

static const char* DCAPI tag_get_text(TagData* tags)
{
    app_call c;
    begin(&c, ISO_APP_TAGGER, ISO_TAG_GET_TEXT);
    iso_w_u64(&c.w, runner_tag_token(tags));
    send(&c);
    const char* text = iso_r_str(&c.r);
    const char* kept = c.r.err || !text ? NULL : runner_tag_keep(tags, text);
    end(&c);
    return kept;
}

static void tag_edit(int fn, TagData* tags, size_t start, size_t stop, const char* a,
                     const char* b)
{
    app_call c;
    begin(&c, ISO_APP_TAGGER, fn);
    iso_w_u64(&c.w, runner_tag_token(tags));
    iso_w_u64(&c.w, start);
    iso_w_u64(&c.w, stop);
    iso_w_str(&c.w, a);
    iso_w_str(&c.w, b);
    finish(&c);
}

static void DCAPI tag_add(TagData* tags, size_t start, size_t end_, const char* id,
                          const char* attributes)
{
    tag_edit(ISO_TAG_ADD, tags, start, end_, id, attributes);
}

static void DCAPI tag_replace(TagData* tags, size_t start, size_t end_, const char* text)
{
    tag_edit(ISO_TAG_REPLACE, tags, start, end_, text, NULL);
}

static DCTagger tagger_table = {DCINTF_DCPP_TAGGER_VER, tag_get_text, tag_add, tag_replace};

/* ---- DCDataAccess ---------------------------------------------------------------------- */

static void DCAPI data_get_http(const char* uri, const char* local_path)
{
    app_call c;
    begin(&c, ISO_APP_DATA, ISO_DATA_GET_HTTP);
    iso_w_str(&c.w, uri);
    iso_w_str(&c.w, local_path);
    finish(&c);
}

static DCDataAccess data_table = {DCINTF_DCPP_DATAACCESSOR_VER, data_get_http, phn_data_copy,
                                  phn_data_release};

DCInterface* runner_app_table(int which, uint32_t version)
{
    DCInterface* t;
    switch (which) {
    case ISO_APP_HUB: t = (DCInterface*)&hub_table; break;
    case ISO_APP_CONNECTION: t = (DCInterface*)&connection_table; break;
    case ISO_APP_QUEUE: t = (DCInterface*)&queue_table; break;
    case ISO_APP_UI: t = (DCInterface*)&ui_table; break;
    case ISO_APP_TAGGER: t = (DCInterface*)&tagger_table; break;
    case ISO_APP_DATA: t = (DCInterface*)&data_table; break;
    default: return NULL;
    }
    /* The functions above are those of version 1; a newer host table is answered with the
     * same functions, labelled with its version (the reference answers "same or newer"). */
    (void)version;
    return t;
}
