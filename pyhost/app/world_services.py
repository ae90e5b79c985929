"""The simulated world's six application interfaces (DCHub, DCConnection, DCQueue, DCUI,
DCDataAccess; the tagger is pyhost's SimpleTagger), acting on the world's state."""
from __future__ import annotations

import logging
from typing import Any

from pyhost.app.application import (
    Connection,
    ConnectionService,
    DataAccessService,
    Hub,
    HubService,
    QueueItem,
    QueuePrio,
    QueueService,
    UIService,
)
from pyhost.app.world_entities import (
    _TTH,
    ChatLine,
    WorldConnection,
    WorldHub,
    WorldQueueItem,
)
from pyhost.app.world_protocol import apply_line

log = logging.getLogger("pyhost.world")


class _Hubs(HubService):
    def __init__(self, world: Any):
        self.w = world

    def _require(self, hub: Hub) -> WorldHub:
        known = self.w._find_hub(hub)
        if known is None:
            raise LookupError(f"no hub {hub.url}")
        return known

    def add_hub(self, url, nick, password):
        with self.w._lock:
            hub = self.w._hub(url)
            if hub is not None and hub.online:
                return hub.value()
            hub = self.w._hub(url, create=True)
            hub.online = True
            hub.nick = nick or self.w.nick
            value = hub.value()
        self.w._fire("hub_online", "dcpp.hubs.onOnline", value)
        return value

    def find_hub(self, url):
        with self.w._lock:
            hub = self.w._hub(url)
            return hub.value() if hub is not None and hub.online else None

    def remove_hub(self, hub):
        with self.w._lock:
            known = self._require(hub)
            was_online = known.online
            value = known.value()
        if was_online:
            self.w._fire("hub_offline", "dcpp.hubs.onOffline", value)
        with self.w._lock:
            self.w._hub_offline(known)

    def emulate_protocol_cmd(self, hub, cmd):
        # As DC++'s emulateCommand: the line is handled as if the hub sent it, without the
        # network.onHubDataIn hook.
        with self.w._lock:
            known = self._require(hub)
            known.emulated.append(cmd)
        apply_line(self.w, known, cmd)

    def send_protocol_cmd(self, hub, cmd):
        with self.w._lock:
            self._require(hub).sent.append(cmd)

    def send_message(self, hub, message, third_person):
        with self.w._lock:
            known = self._require(hub)
            if not known.online:
                raise ConnectionError(f"{known.url} is offline")
            known.chat.append(ChatLine(message, third_person, known.nick))

    def local_message(self, hub, message, type):
        with self.w._lock:
            self._require(hub).status.append((message, type))

    def send_private_message(self, user, message, third_person):
        with self.w._lock:
            known = self.w._find_user(user)
            if known is None or not known.online:
                return False
            known.pms.append(ChatLine(message, third_person, self.w.nick))
            return True

    def find_user(self, cid, hub_url):
        with self.w._lock:
            for (known_cid, url), user in self.w.users.items():
                if known_cid == cid and user.online and (not hub_url or url == hub_url):
                    return user.value()
            return None


class _Connections(ConnectionService):
    def __init__(self, world: Any):
        self.w = world

    def _require(self, conn: Connection) -> WorldConnection:
        known = self.w._find_connection(conn)
        if known is None:
            raise LookupError(f"no connection {conn.ip}:{conn.port}")
        return known

    def send_udp_data(self, ip, port, data):
        with self.w._lock:
            self.w.udp_sent.append((ip, port, data))

    def send_protocol_cmd(self, connection, cmd):
        with self.w._lock:
            known = self._require(connection)
            if not known.open:
                raise ConnectionError(f"{known.ip}:{known.port} is closed")
            known.sent.append(cmd)

    def terminate_conn(self, connection, graceless):
        with self.w._lock:
            self._require(connection).open = False

    def get_user(self, connection):
        with self.w._lock:
            known = self._require(connection)
            if known.user is None:
                return None
            user = self.w.users.get(known.user)
            return user.value() if user is not None and user.online else None


class _Queue(QueueService):
    def __init__(self, world: Any):
        self.w = world

    def _require(self, item: QueueItem) -> WorldQueueItem:
        known = self.w._find_item(item)
        if known is None:
            raise LookupError(f"{item.target} is not queued")
        return known

    def _add(self, target: str, **fields) -> QueueItem:
        with self.w._lock:
            if target in self.w.downloads:
                raise FileExistsError(f"{target} is already queued")
            value = self.w.queue_item_for(target, **fields)
        self.w._fire("queue_added", "dcpp.queue.onAdded", value)
        return value

    def add_list(self, user, silent):
        with self.w._lock:
            known = self.w._find_user(user)
            if known is None or not known.online:
                raise LookupError(f"{user.nick or user.cid} is not online")
            target = f"FileLists/{known.nick}.{known.cid}.xml.bz2"
            existing = self.w.downloads.get(target)
            if existing is not None:
                return existing.value()
        return self._add(target, is_file_list=True, location="FileLists/")

    def add_download(self, hash, size, target):
        if not _TTH.fullmatch(hash):
            raise ValueError(f"{hash!r} is not a TTH (39 base32 characters)")
        if not target or target.endswith("/"):
            raise ValueError(f"{target!r} is not a file name")
        if not target.startswith("/"):
            target = self.w.download_dir + target
        return self._add(target, hash=hash, size=size)

    def find_download(self, target):
        with self.w._lock:
            item = self.w.downloads.get(target) or \
                self.w.downloads.get(self.w.download_dir + target)
            return item.value() if item is not None else None

    def remove_download(self, item):
        with self.w._lock:
            value = self._require(item).value()
        self.w._fire("queue_removed", "dcpp.queue.onRemoved", value)
        with self.w._lock:
            self.w.downloads.pop(value.target, None)

    def set_priority(self, item, priority):
        if priority not in set(QueuePrio):
            raise ValueError(f"{priority} is not a QueuePrio")
        with self.w._lock:
            self._require(item).priority = QueuePrio(priority)

    def pause(self, item):
        with self.w._lock:
            known = self._require(item)
            known.paused = not known.paused
            return known.paused


class _UI(UIService):
    def __init__(self, world: Any):
        self.w = world

    def add_command(self, guid, name, command, icon):
        with self.w._lock:
            self.w.commands[(guid, name)] = command

    def remove_command(self, guid, name):
        with self.w._lock:
            self.w.commands.pop((guid, name), None)

    def play_sound(self, path):
        with self.w._lock:
            self.w.sounds.append(path)

    def notify(self, title, message):
        with self.w._lock:
            self.w.notifications.append((title, message))


class _DataAccess(DataAccessService):
    def __init__(self, world: Any):
        self.w = world

    def get_http_resource(self, uri, local_path):
        with self.w._lock:
            self.w.http_requests.append((uri, local_path))
