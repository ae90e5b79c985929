"""``web``: the web page at ``/``, its files at ``/web/<file>``, and each plugin's own UI
files at ``/plugin-ui/<guid>/<path>`` (docs/web-ui.md).

The page is plain HTML, CSS and JavaScript shipped in ``pyhost/server/web/`` (no build
step); it talks to the Web API over one WebSocket. A plugin's UI is shown in a sandboxed
frame (``sandbox="allow-scripts allow-forms"``, served with the same sandbox in its
Content-Security-Policy), so it runs in an origin of its own: it cannot reach the page,
its token or the API, and a broken plugin UI cannot break the page. It talks to its plugin
only through the page (``postMessage``; ``/web/plugin-frame.js`` wraps it), which calls that
plugin's exported methods and forwards that plugin's events, nothing else.
"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from pyhost.host.loader import PluginError
from pyhost.server.plugin_ui import ui_dir, ui_file

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_ASSET = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\.(html|js|css|svg|png|ico)")
_TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css",
          "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon"}

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; frame-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PLUGIN_UI_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts allow-forms; default-src 'self' data: "
                               "'unsafe-inline'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class WebPage:
    def __init__(self, server: Any):
        self.server = server

    def http_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/", self.index)
        router.add_get("/web/{name}", self.asset)
        router.add_get("/plugin-ui/{guid:[^/]+}/{path:.*}", self.plugin_ui)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return _file(WEB_DIR / "index.html", "text/html", PAGE_HEADERS)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        match = _ASSET.fullmatch(name)
        if match is None or not (WEB_DIR / name).is_file():
            return _not_found(f"There is no file /web/{name[:100]}.")
        return _file(WEB_DIR / name, _TYPES[match.group(1)], PAGE_HEADERS)

    async def plugin_ui(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()  # the registry and the disk: not on the loop
        found = await loop.run_in_executor(self.server.executor, self._plugin_ui_file,
                                           request.match_info["guid"],
                                           request.match_info["path"])
        if isinstance(found, str):
            return _not_found(found)
        path, kind = found
        return _file(path, kind, PLUGIN_UI_HEADERS)

    def _plugin_ui_file(self, guid: str, relative: str) -> tuple[Path, str] | str:
        """The file and its type, or why there is none."""
        try:
            record = self.server.host.plugin(guid)
        except PluginError:
            return f"No plugin with guid {guid[:100]} is installed."
        root = ui_dir(self.server.host, record)
        found = ui_file(root, relative) if root is not None else None
        return found or f"{record.name} has no UI file {relative[:100]}."


def _file(path: Path, kind: str, headers: dict) -> web.StreamResponse:
    return web.FileResponse(path, headers={**headers, "Content-Type": kind})


def _not_found(message: str) -> web.Response:
    return web.json_response({"message": message}, status=404)


def register(server: Any) -> WebPage:
    return WebPage(server)
