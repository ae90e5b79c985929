"""One function per application interface, building its ABI table over the application's
object: DCHub, DCConnection, DCQueue, DCUI, DCTagger, DCDataAccess.

Each entry converts the C arguments, records the call as an effect and runs the
application's method through :meth:`AppServices.call` (``s.call``), then converts the result
back; copy and release are the native functions of native/app_data.c.
"""
from __future__ import annotations

from typing import Any

from pyhost.abi._ffi import ffi, lib
from pyhost.app.application import Hub, MsgType, QueueItem, QueuePrio, User, _enum
from pyhost.host.services.app_structs import (
    _b,
    connection_from_c,
    hub_from_c,
    queue_item_from_c,
    text,
    user_from_c,
)


def build_hub(s: Any, impl, I: str):
    t = ffi.new("DCHub*")
    e = s._entry

    def add_hub(url, nick, password):
        a = {"url": text(url), "nick": text(nick) or "",
             "password": "***" if text(password) else ""}
        return s.call(I, "add_hub", a,
                         lambda: impl.add_hub(a["url"], a["nick"], text(password) or ""),
                         required=("url",), convert=s._copy_for_plugin(Hub),
                         default=ffi.NULL)

    def find_hub(url):
        a = {"url": text(url)}
        return s.call(I, "find_hub", a, lambda: impl.find_hub(a["url"]),
                         required=("url",), convert=s._copy_for_plugin(Hub),
                         default=ffi.NULL)

    def remove_hub(hub):
        a = {"hub": hub_from_c(hub)}
        s.call(I, "remove_hub", a, lambda: impl.remove_hub(a["hub"]), required=("hub",))

    def hub_cmd(function):
        def run(hub, cmd):
            a = {"hub": hub_from_c(hub), "cmd": text(cmd)}
            s.call(I, function, a, lambda: getattr(impl, function)(a["hub"], a["cmd"]),
                      required=("hub", "cmd"))
        return run

    def send_message(hub, msg, third):
        a = {"hub": hub_from_c(hub), "message": text(msg), "third_person": bool(third)}
        s.call(I, "send_message", a,
                  lambda: impl.send_message(a["hub"], a["message"], a["third_person"]),
                  required=("hub", "message"))

    def local_message(hub, msg, kind):
        a = {"hub": hub_from_c(hub), "message": text(msg), "type": _enum(MsgType, kind)}
        s.call(I, "local_message", a,
                  lambda: impl.local_message(a["hub"], a["message"], a["type"]),
                  required=("hub", "message"))

    def send_private_message(user, msg, third):
        a = {"user": user_from_c(user), "message": text(msg), "third_person": bool(third)}
        return s.call(I, "send_private_message", a,
                         lambda: impl.send_private_message(a["user"], a["message"],
                                                           a["third_person"]),
                         required=("user", "message"), convert=lambda r: 1 if r else 0,
                         default=0)

    def find_user(cid, hub_url):
        a = {"cid": text(cid), "hub_url": text(hub_url) or ""}
        return s.call(I, "find_user", a, lambda: impl.find_user(a["cid"], a["hub_url"]),
                         required=("cid",), convert=s._copy_for_plugin(User),
                         default=ffi.NULL)

    t.add_hub = e(I, "add_hub", "HubData*(*)(const char*, const char*, const char*)",
                  add_hub, ffi.NULL)
    t.find_hub = e(I, "find_hub", "HubData*(*)(const char*)", find_hub, ffi.NULL)
    t.remove_hub = e(I, "remove_hub", "void(*)(HubData*)", remove_hub, None)
    t.emulate_protocol_cmd = e(I, "emulate_protocol_cmd", "void(*)(HubData*, const char*)",
                               hub_cmd("emulate_protocol_cmd"), None)
    t.send_protocol_cmd = e(I, "send_protocol_cmd", "void(*)(HubData*, const char*)",
                            hub_cmd("send_protocol_cmd"), None)
    t.send_message = e(I, "send_message", "void(*)(HubData*, const char*, Bool)",
                       send_message, None)
    t.local_message = e(I, "local_message", "void(*)(HubData*, const char*, MsgType)",
                        local_message, None)
    t.send_private_message = e(I, "send_private_message",
                               "Bool(*)(UserData*, const char*, Bool)",
                               send_private_message, 0)
    t.find_user = e(I, "find_user", "UserData*(*)(const char*, const char*)", find_user,
                    ffi.NULL)
    t.copy_user = ffi.addressof(lib, "phn_user_copy")
    t.release_user = ffi.addressof(lib, "phn_user_release")
    t.copy = ffi.addressof(lib, "phn_hub_copy")
    t.release = ffi.addressof(lib, "phn_hub_release")
    return t


def build_connection(s: Any, impl, I: str):
    t = ffi.new("DCConnection*")
    e = s._entry

    def send_udp_data(ip, port, data, n):
        payload = b"" if data == ffi.NULL or n == 0 else \
            ffi.unpack(ffi.cast("char*", data), n)
        a = {"ip": text(ip), "port": port, "data": payload}
        s.call(I, "send_udp_data", a, lambda: impl.send_udp_data(a["ip"], port, payload),
                  required=("ip",))

    def send_protocol_cmd(conn, cmd):
        a = {"connection": connection_from_c(conn), "cmd": text(cmd)}
        s.call(I, "send_protocol_cmd", a,
                  lambda: impl.send_protocol_cmd(a["connection"], a["cmd"]),
                  required=("connection", "cmd"))

    def terminate_conn(conn, graceless):
        a = {"connection": connection_from_c(conn), "graceless": bool(graceless)}
        s.call(I, "terminate_conn", a,
                  lambda: impl.terminate_conn(a["connection"], a["graceless"]),
                  required=("connection",))

    def get_user(conn):
        a = {"connection": connection_from_c(conn)}
        return s.call(I, "get_user", a, lambda: impl.get_user(a["connection"]),
                         required=("connection",), convert=s._copy_for_plugin(User),
                         default=ffi.NULL)

    t.send_udp_data = e(I, "send_udp_data", "void(*)(const char*, uint32_t, dcptr_t, size_t)",
                        send_udp_data, None)
    t.send_protocol_cmd = e(I, "send_protocol_cmd", "void(*)(ConnectionData*, const char*)",
                            send_protocol_cmd, None)
    t.terminate_conn = e(I, "terminate_conn", "void(*)(ConnectionData*, Bool)",
                         terminate_conn, None)
    t.get_user = e(I, "get_user", "UserData*(*)(ConnectionData*)", get_user, ffi.NULL)
    return t


def build_queue(s: Any, impl, I: str):
    t = ffi.new("DCQueue*")
    e = s._entry
    copy_item = s._copy_for_plugin(QueueItem)

    def add_list(user, silent):
        a = {"user": user_from_c(user), "silent": bool(silent)}
        return s.call(I, "add_list", a, lambda: impl.add_list(a["user"], a["silent"]),
                         required=("user",), convert=copy_item, default=ffi.NULL)

    def add_download(hash_, size, target):
        a = {"hash": text(hash_), "size": size, "target": text(target)}
        return s.call(I, "add_download", a,
                         lambda: impl.add_download(a["hash"], size, a["target"]),
                         required=("hash", "target"), convert=copy_item, default=ffi.NULL)

    def find_download(target):
        a = {"target": text(target)}
        return s.call(I, "find_download", a, lambda: impl.find_download(a["target"]),
                         required=("target",), convert=copy_item, default=ffi.NULL)

    def remove_download(item):
        a = {"item": queue_item_from_c(item)}
        s.call(I, "remove_download", a, lambda: impl.remove_download(a["item"]),
                  required=("item",))

    def set_priority(item, prio):
        a = {"item": queue_item_from_c(item), "priority": _enum(QueuePrio, prio)}
        s.call(I, "set_priority", a, lambda: impl.set_priority(a["item"], a["priority"]),
                  required=("item",))

    def pause(item):
        a = {"item": queue_item_from_c(item)}
        return s.call(I, "pause", a, lambda: impl.pause(a["item"]), required=("item",),
                         convert=lambda r: 1 if r else 0, default=0)

    t.add_list = e(I, "add_list", "QueueData*(*)(UserData*, Bool)", add_list, ffi.NULL)
    t.add_download = e(I, "add_download", "QueueData*(*)(const char*, uint64_t, const char*)",
                       add_download, ffi.NULL)
    t.find_download = e(I, "find_download", "QueueData*(*)(const char*)", find_download,
                        ffi.NULL)
    t.remove_download = e(I, "remove_download", "void(*)(QueueData*)", remove_download, None)
    t.set_priority = e(I, "set_priority", "void(*)(QueueData*, QueuePrio)", set_priority,
                       None)
    t.pause = e(I, "pause", "Bool(*)(QueueData*)", pause, 0)
    t.copy = ffi.addressof(lib, "phn_queue_copy")
    t.release = ffi.addressof(lib, "phn_queue_release")
    return t


def build_ui(s: Any, impl, I: str):
    t = ffi.new("DCUI*")
    e = s._entry

    def add_command(guid, name, fn, icon):
        a = {"guid": text(guid), "name": text(name), "icon": text(icon) or "",
             "command": None if fn == ffi.NULL else "<function>"}

        def add():
            command = s._new_command(a["guid"], a["name"], a["icon"], fn)
            impl.add_command(a["guid"], a["name"], command, a["icon"])
        s.call(I, "add_command", a, add, required=("guid", "name", "command"))

    def remove_command(guid, name):
        a = {"guid": text(guid), "name": text(name)}

        def remove():
            with s._lock:
                command = s._commands.pop((a["guid"], a["name"]), None)
            if command is not None:
                command.invalidate()
            impl.remove_command(a["guid"], a["name"])
        s.call(I, "remove_command", a, remove, required=("guid", "name"))

    def play_sound(path):
        a = {"path": text(path)}
        s.call(I, "play_sound", a, lambda: impl.play_sound(a["path"]), required=("path",))

    def notify(title, message):
        a = {"title": text(title) or "", "message": text(message)}
        s.call(I, "notify", a, lambda: impl.notify(a["title"], a["message"]),
                  required=("message",))

    t.add_command = e(I, "add_command",
                      "void(*)(const char*, const char*, DCCommandFunc, const char*)",
                      add_command, None)
    t.remove_command = e(I, "remove_command", "void(*)(const char*, const char*)",
                         remove_command, None)
    t.play_sound = e(I, "play_sound", "void(*)(const char*)", play_sound, None)
    t.notify = e(I, "notify", "void(*)(const char*, const char*)", notify, None)
    return t


def build_tagger(s: Any, impl, I: str):
    t = ffi.new("DCTagger*")
    e = s._entry

    def get_text(tags):
        session = s._session(tags)

        def get():
            if session is None:
                raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
            return session.tagger.get_text()

        def keep(value: str):
            buffer = ffi.new("char[]", _b(value))
            session.texts.append(buffer)
            return buffer
        return s.call(I, "get_text", {}, get, convert=keep, default=ffi.NULL)

    def add_tag(tags, start, end, id_, attributes):
        session = s._session(tags)
        a = {"start": start, "end": end, "id": text(id_), "attributes": text(attributes) or ""}

        def add():
            if session is None:
                raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
            session.tagger.add_tag(start, end, a["id"], a["attributes"])
        s.call(I, "add_tag", a, add, required=("id",))

    def replace_text(tags, start, end, replacement):
        session = s._session(tags)
        a = {"start": start, "end": end, "replacement": text(replacement)}

        def replace():
            if session is None:
                raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
            session.tagger.replace_text(start, end, a["replacement"])
        s.call(I, "replace_text", a, replace, required=("replacement",))

    t.get_text = e(I, "get_text", "const char*(*)(TagData*)", get_text, ffi.NULL)
    t.add_tag = e(I, "add_tag",
                  "void(*)(TagData*, size_t, size_t, const char*, const char*)", add_tag,
                  None)
    t.replace_text = e(I, "replace_text", "void(*)(TagData*, size_t, size_t, const char*)",
                       replace_text, None)
    return t


def build_data_access(s: Any, impl, I: str):
    t = ffi.new("DCDataAccess*")

    def get_http_resource(uri, local_path):
        a = {"uri": text(uri), "local_path": text(local_path) or ""}
        s.call(I, "get_http_resource", a,
                  lambda: impl.get_http_resource(a["uri"], a["local_path"]),
                  required=("uri",))

    t.get_http_resource = s._entry(I, "get_http_resource",
                                      "void(*)(const char*, const char*)",
                                      get_http_resource, None)
    t.copy = ffi.addressof(lib, "phn_data_copy")
    t.release = ffi.addressof(lib, "phn_data_release")
    return t


BUILDERS = {"hub": build_hub, "connection": build_connection, "queue": build_queue,
            "ui": build_ui, "tagger": build_tagger, "data_access": build_data_access}
