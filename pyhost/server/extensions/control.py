"""How the command line reaches the ``pyhost run`` of the same home: that run writes
``<home>/run-api.json`` (mode 0600: its Web API address and a token of a session of its own,
kind ``"control"``, admin) and removes it when it ends; ``pyhost extension start|stop|
restart`` read it and call the Web API over loopback HTTP. Whoever can read the home can
control its pyhost, as with the rest of the home's files (api-users.json, the registry)."""
from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.server.files import write_json

CONTROL_FILE = "run-api.json"


class ControlError(RuntimeError):
    """No running pyhost to talk to, or it refused; one sentence."""


def write(home: Path, url: str, token: str) -> None:
    write_json(Path(home) / CONTROL_FILE, {"url": url, "token": token, "pid": os.getpid()},
               0o600)


def remove(home: Path, token: str) -> None:
    """Removes the file if it is still this run's."""
    info = read(home, check_alive=False)
    if info is not None and info.get("token") == token:
        with contextlib.suppress(FileNotFoundError):
            (Path(home) / CONTROL_FILE).unlink()


def read(home: Path, check_alive: bool = True) -> Optional[dict]:
    try:  # (without blocking on a FIFO put in its place)
        with open_regular(Path(home) / CONTROL_FILE, "run's address file") as f:
            info = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, FileTypeError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str) or \
            not isinstance(info.get("token"), str):
        return None
    if check_alive and not pid_alive(info.get("pid")):
        return None
    return info


def request(home: Path, method: str, path: str, data: Any = None,
            timeout: float = 60.0) -> Any:
    """Calls the running pyhost's Web API; its reply data, or ControlError."""
    info = read(home)
    if info is None:
        raise ControlError(f"No pyhost is running with the home {home}: extensions run "
                           "while `pyhost run` does.")
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(info["url"] + path, data=body, method=method, headers={
        "Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise ControlError(_message(exc.read().decode("utf-8", "replace"),
                                    f"the running pyhost answered {exc.code}")) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ControlError(f"Cannot reach the running pyhost at {info['url']}: "
                           f"{getattr(exc, 'reason', exc)}.") from None
    return json.loads(text) if text.strip() else None


def _message(text: str, fallback: str) -> str:
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) and message else fallback + "."


def pid_alive(pid: Any) -> bool:
    """Whether ``pid`` (as read from a state file: any JSON value) names a live process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
