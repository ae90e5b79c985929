"""API users: names, permissions and password hashes, kept in ``<home>/api-users.json``.

Passwords are hashed with scrypt (``hashlib.scrypt``, memory-hard: n=2**14, r=8, p=1, about
16 MiB per hash) with a random salt; the clear password is never stored nor logged. The
file is rewritten atomically (a temporary file, fsync, rename) with mode 0600, under an
advisory lock so two ``pyhost user`` commands cannot lose each other's change. A running
server re-reads it when it changes, so ``pyhost user add`` takes effect without a restart.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.server.files import locked, write_json

USERS_FILE = "api-users.json"
FORMAT_VERSION = 1

# What a user may do; "admin" allows everything. Each API endpoint names the one it needs.
PERMISSIONS: dict[str, str] = {
    "admin": "everything, including the test bench and managing sessions",
    "plugins_view": "list plugins and read their settings",
    "plugins_edit": "enable and disable plugins, change their settings",
    "settings_view": "read the server's settings",
    "settings_edit": "change the server's settings",
    "events_view": "read the event log and listen to it",
    "events_edit": "post messages to the event log",
    "hubs_view": "list hubs and listen to hub chat",
    "hubs_send": "send chat messages to hubs",
    "hubs_edit": "subscribe to hub chat hooks (and filter messages), post status messages",
    "private_chat_view": "list private chats and listen to them",
    "private_chat_send": "send private messages",
    "private_chat_edit": "open private chats, subscribe to private chat hooks, post status "
                         "messages",
}
DEFAULT_PERMISSIONS = ("admin",)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DKLEN = 32
MAX_PASSWORD = 1024


class UserError(ValueError):
    """A refused user operation (bad name, unknown user, bad permission...)."""


@dataclass(frozen=True)
class ApiUser:
    name: str
    permissions: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"username": self.name, "permissions": list(self.permissions)}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(f"{name!r} is not a valid user name (1-64 letters, digits, '.', '_' "
                        "or '-', starting with a letter or digit).")
    return name


def check_permissions(permissions: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for p in permissions:
        p = p.strip()
        if not p:
            continue
        if p not in PERMISSIONS:
            raise UserError(f"Unknown permission {p!r} (known: {', '.join(PERMISSIONS)}).")
        if p not in out:
            out.append(p)
    if not out:
        raise UserError("A user needs at least one permission.")
    return tuple(out)


def _check_password(password: str) -> bytes:
    if not isinstance(password, str) or not password:
        raise UserError("The password is empty.")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"The password is longer than {MAX_PASSWORD} characters.")
    return password.encode("utf-8")


def hash_password(password: str) -> dict:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(_check_password(password), salt=salt, dklen=_DKLEN,
                            maxmem=64 * 1024 * 1024, **_SCRYPT)
    return {"kdf": "scrypt", **_SCRYPT, "salt": base64.b64encode(salt).decode(),
            "hash": base64.b64encode(digest).decode()}


def _verify(record: dict, password: str) -> bool:
    try:
        salt = base64.b64decode(record["salt"])
        expected = base64.b64decode(record["hash"])
        n, r, p = int(record["n"]), int(record["r"]), int(record["p"])
        if record.get("kdf") != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (KeyError, ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


_DUMMY = hash_password("pyhost-dummy-password")  # equal work for unknown users


class UserStore:
    """The users of one home. Thread-safe; every change is written atomically."""

    def __init__(self, home: str | os.PathLike[str]):
        self.path = Path(home) / USERS_FILE
        self._lock = threading.RLock()
        self._cache: Optional[tuple[tuple[int, int], dict]] = None

    # -- reading -------------------------------------------------------------------------
    def _load(self) -> dict:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            with open_regular(self.path, "users file") as f:  # a FIFO would block for ever
                doc = json.loads(f.read().decode("utf-8"))
        except FileTypeError as exc:
            raise UserError(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise UserError(f"Cannot read {self.path}: {exc}.") from None
        if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION or \
                not isinstance(doc.get("users"), dict):
            raise UserError(f"{self.path} is not a pyhost users file (version "
                            f"{FORMAT_VERSION}).")
        users = doc["users"]
        self._cache = (stamp, users)
        return users

    def users(self) -> list[ApiUser]:
        with self._lock:
            return [ApiUser(name, tuple(rec.get("permissions", ())))
                    for name, rec in sorted(self._load().items())]

    def get(self, name: str) -> Optional[ApiUser]:
        with self._lock:
            rec = self._load().get(name)
        return None if rec is None else ApiUser(name, tuple(rec.get("permissions", ())))

    def authenticate(self, name: str, password: str) -> Optional[ApiUser]:
        """The user if the password is right, else None (same work either way)."""
        if not isinstance(name, str) or not isinstance(password, str) or \
                len(password) > MAX_PASSWORD:
            return None
        with self._lock:
            try:
                rec = self._load().get(name)
            except UserError:
                rec = None
        if rec is None:
            _verify(_DUMMY, password)
            return None
        if not _verify(rec.get("password", {}), password):
            return None
        return ApiUser(name, tuple(rec.get("permissions", ())))

    # -- changing ------------------------------------------------------------------------
    def add(self, name: str, password: str, permissions: Iterable[str] = DEFAULT_PERMISSIONS
            ) -> ApiUser:
        check_name(name)
        perms = check_permissions(permissions)
        hashed = hash_password(password)
        with self._change() as users:
            if name in users:
                raise UserError(f"A user named {name} exists already.")
            users[name] = {"permissions": list(perms), "password": hashed}
        return ApiUser(name, perms)

    def remove(self, name: str) -> None:
        with self._change() as users:
            if users.pop(name, None) is None:
                raise UserError(f"There is no user named {name}.")

    def set_password(self, name: str, password: str) -> None:
        hashed = hash_password(password)
        with self._change() as users:
            if name not in users:
                raise UserError(f"There is no user named {name}.")
            users[name]["password"] = hashed

    def set_permissions(self, name: str, permissions: Iterable[str]) -> ApiUser:
        perms = check_permissions(permissions)
        with self._change() as users:
            if name not in users:
                raise UserError(f"There is no user named {name}.")
            users[name]["permissions"] = list(perms)
        return ApiUser(name, perms)

    @contextlib.contextmanager
    def _change(self) -> Iterator[dict]:
        with self._lock, locked(self.path):
            self._cache = None
            users = {k: dict(v) for k, v in self._load().items()}
            yield users
            write_json(self.path, {"version": FORMAT_VERSION, "users": users}, 0o600)
            self._cache = None
