"""The AirDC++ Web API envelope, and the errors and argument checks every endpoint shares.

WebSocket request ``{"method", "path", "callback_id"?, "data"?}``; reply
``{"callback_id", "code", "data"?}`` or ``{"callback_id", "code", "error": {"message",
"field"?, "code"?}}``; a request without ``callback_id`` gets no reply unless it fails.
Events ``{"event", "id"?, "data"}``; hook calls ``{"event", "completion_id", "data"}``.
Over HTTP the same paths are under ``/api/v1/`` and the error body is the ``error`` object.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_PATH = 1024
MAX_CALLBACK_ID = 2**53


class ApiError(Exception):
    """A request that cannot be served: its HTTP status code and one sentence.

    ``field`` names the offending field of the request data; ``kind`` is AirDC++'s field
    error code ("missing_field", "invalid", "already_exists").
    """

    def __init__(self, code: int, message: str, field: Optional[str] = None,
                 kind: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.kind = kind

    def body(self) -> dict:
        out: dict[str, Any] = {"message": self.message}
        if self.field is not None:
            out["field"] = self.field
            out["code"] = self.kind or "invalid"
        elif self.kind is not None:  # pyhost's own error kinds (exported method calls)
            out["code"] = self.kind
        return out


class NotText(ValueError):
    """JSON that parses but holds a lone surrogate escape (``"\\ud800"``): such a string is
    not Unicode text, so it could be stored but never sent or written again."""


def loads(raw: str | bytes) -> Any:
    """``json.loads`` of a request, refusing a lone surrogate (NotText) as well as invalid
    JSON (ValueError)."""
    obj = json.loads(raw)
    # Only a \\u escape can make one: the text itself arrived as valid UTF-8.
    if (b"\\u" if isinstance(raw, bytes) else "\\u") in raw:
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise NotText("The request contains a lone surrogate escape (\\ud800-\\udfff "
                          "without its pair), which is not text.") from None
    return obj


@dataclass
class Request:
    method: str
    path: str
    callback_id: Optional[int]
    data: Any


def normalize_path(path: str) -> str:
    """``/api/v1/hubs/1/`` and ``hubs/1`` are the same path."""
    path = path.strip("/")
    if path.startswith("api/v1/") or path == "api/v1":
        path = path[len("api/v1"):].lstrip("/")
    return path


def parse_frame(text: str) -> Request:
    """One WebSocket text frame as a request; ApiError(400) with what is wrong.

    A request whose callback_id could be read keeps it (so its error reaches the caller)
    even when another field is wrong: see :func:`callback_of`.
    """
    try:
        obj = loads(text)
    except NotText as exc:
        raise ApiError(400, str(exc)) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "The request is not valid JSON.") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "A request must be a JSON object.")
    callback_id = obj.get("callback_id")
    if callback_id is not None and not _is_callback_id(callback_id):
        raise ApiError(400, "callback_id must be a non-negative integer.", "callback_id")
    method = obj.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ApiError(400, f"method must be one of {', '.join(METHODS)}.", "method")
    path = obj.get("path")
    if not isinstance(path, str) or not path.strip("/") or len(path) > MAX_PATH:
        raise ApiError(400, f"path must be a non-empty string of at most {MAX_PATH} "
                            "characters.", "path")
    return Request(method.upper(), normalize_path(path), callback_id, obj.get("data"))


def callback_of(text: str) -> Optional[int]:
    """The callback_id of a frame that failed to parse, when there is a usable one."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    value = obj.get("callback_id") if isinstance(obj, dict) else None
    return value if _is_callback_id(value) else None


def _is_callback_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and \
        0 <= value <= MAX_CALLBACK_ID


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def reply(callback_id: Optional[int], code: int, data: Any = None) -> str:
    out: dict[str, Any] = {"callback_id": callback_id, "code": code}
    if data is not None:
        out["data"] = data
    return dumps(out)


def error_reply(callback_id: Optional[int], error: ApiError) -> str:
    out: dict[str, Any] = {"code": error.code, "error": error.body()}
    if callback_id is not None:
        out["callback_id"] = callback_id
    return dumps(out)


def event(name: str, data: Any, entity: Any = None) -> str:
    if entity is None:
        return dumps({"event": name, "data": data})
    return dumps({"event": name, "id": entity, "data": data})


# ---- argument checks ---------------------------------------------------------------------------

def body(data: Any, required: bool = True) -> dict:
    """The request data as an object ({} when absent and not required)."""
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "The request data must be a JSON object.")
    return data


def text(data: dict, key: str, required: bool = True, max_len: int = 65536,
         empty: bool = False) -> Optional[str]:
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"Field {key!r} is missing.", key, "missing_field")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Field {key!r} must be a string.", key)
    if not value and not empty:
        raise ApiError(400, f"Field {key!r} must not be empty.", key)
    if len(value) > max_len:
        raise ApiError(400, f"Field {key!r} is longer than {max_len} characters.", key)
    if "\x00" in value:
        raise ApiError(400, f"Field {key!r} must not contain NUL characters.", key)
    return value


def flag(data: dict, key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, f"Field {key!r} must be true or false.", key)
    return value


def number(data: dict, key: str, default: Optional[float] = None, lo: float = 0,
           hi: float = 2**53) -> Optional[float]:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or \
            not lo <= value <= hi:
        raise ApiError(400, f"Field {key!r} must be a number from {lo:g} to {hi:g}.", key)
    return value


def choice(data: dict, key: str, options: tuple[str, ...], default: Optional[str]) -> str:
    """One of ``options``; ``default`` when absent, or a missing_field error when the
    default is None (a required field)."""
    value = data.get(key)
    if value is None:
        if default is None:
            raise ApiError(400, f"Field {key!r} is missing.", key, "missing_field")
        return default
    if value not in options:
        raise ApiError(400, f"Field {key!r} must be one of {', '.join(options)}.", key)
    return value
