"""``testbench``: drive the test bench of a running host remotely.

``POST testbench/replay {"lines": [<replay events as JSON objects, or JSON text>]}`` (admin)
replays them on this host, as ``pyhost run --replay`` does, and answers ``{"events": [<the
per-event records of run --json>], "summary": {...}}``. One replay runs at a time; it runs
in a worker thread, so API hook subscribers it triggers are waited for normally.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from pyhost.server.protocol import ApiError, body
from pyhost.server.routes import Call
from pyhost.testbench.replay import ReplayError, replay

MAX_LINES = 10_000
REPLAY_SCHEMA = {"type": "object", "required": ["lines"],
                 "properties": {"lines": {"type": "array", "maxItems": MAX_LINES,
                                          "items": {"type": ["object", "string"]}}}}


class TestbenchApi:
    def __init__(self, server: Any):
        self.server = server
        self._lock = threading.Lock()
        server.routes.add("POST", "testbench/replay", "admin", self.replay,
                          "Replay events on the running host", body=REPLAY_SCHEMA)

    def replay(self, call: Call) -> dict:
        lines = body(call.data).get("lines")
        if not isinstance(lines, list):
            raise ApiError(400, "Field 'lines' must be a list of replay events.", "lines")
        if len(lines) > MAX_LINES:
            raise ApiError(400, f"At most {MAX_LINES} lines per replay.", "lines")
        texts = []
        for n, line in enumerate(lines, start=1):
            if isinstance(line, dict):
                texts.append(json.dumps(line))
            elif isinstance(line, str) and "\n" not in line:
                texts.append(line)
            else:
                raise ApiError(400, f"Line {n} must be a JSON object or one line of JSON "
                                    "text.", "lines")
        if not self._lock.acquire(timeout=60):
            raise ApiError(409, "Another replay is still running.")
        try:
            records: list[dict] = []
            try:
                summary = replay(self.server.host, texts, records.append)
            except ReplayError as exc:
                raise ApiError(400, str(exc)) from None
        finally:
            self._lock.release()
        return {"events": records,
                "summary": {"events": summary.events, "errors": summary.errors,
                            "error_lines": summary.error_lines}}


def register(server: Any) -> TestbenchApi:
    return TestbenchApi(server)
