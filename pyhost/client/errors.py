"""What the client raises."""
from __future__ import annotations

from typing import Optional


class ClientError(Exception):
    """The host cannot be reached, or the connection broke."""


class ApiError(ClientError):
    """The host answered a request with an error: ``code`` (the HTTP status, 404, 403...),
    ``kind`` (pyhost's error kind when it gives one: ``not_found``, ``failed``, ``timeout``,
    ``forbidden``, ``unauthorized``, ``bad_params``...) and the host's sentence."""

    def __init__(self, code: int, message: str, kind: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.message = message


class RpcError(ApiError):
    """An exported method call that did not return a result (see ApiError for the fields;
    ``kind == "failed"``: the method itself reported a failure)."""
