"""``uploads``: installing plugins by uploading their file (the web page's "Install").

``POST /api/v1/plugins/upload?filename=<name>`` with the file as the raw request body and
``Authorization: Bearer <token>`` of a session with the ``admin`` permission (installing a
plugin runs its code in the host). The file name's extension decides what it is, and it
is checked exactly as ``pyhost install`` checks it:

- ``.dcext``: a package: read and validated (info.xml, binaries, platform) before anything
  is written, then installed under the home's Plugins directory;
- ``.so`` / ``.dll`` / ``.dylib``: a compiled plugin, ``.py``: a Python plugin: kept under
  ``<home>/uploads/<random>/<name>`` (the registry points at it) and installed; refused, the
  file is deleted again;
- ``.tgz`` / ``.tar.gz``: an AirDC++ extension package, installed (or updated) as ``pyhost
  extension install`` does; the reply is then the extension object.

A higher version of an installed plugin updates it. The reply is the plugin object (as
``GET plugins/<guid>``) with ``action`` (``installed`` or ``updated``); every refusal is a
JSON error with one sentence (400; 413 for a body over ``max_upload_bytes``, 64 MiB by
default; 401/403 without the permission). The host events that follow (plugin_installed,
plugin_loaded, ...) reach every listening client. Uploaded files of removed or updated
plugins are deleted.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from pyhost.host.events import Category, Event, PluginRemoved, PluginUpdated
from pyhost.host.loader import PluginError
from pyhost.packages import dcext
from pyhost.server.protocol import ApiError, dumps

log = logging.getLogger("pyhost.server")

UPLOADS_DIR = "uploads"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ +-]{0,99}")
NATIVE = (".so", ".dll", ".dylib")
EXTENSION = (".tgz", ".tar.gz")
KINDS = (".dcext", ".py") + NATIVE + EXTENSION


class UploadsApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self.root = self.host.home / UPLOADS_DIR
        self._pending: set[Path] = set()   # being installed now: never swept
        self._unsubscribe: Optional[Any] = None

    def http_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v1/plugins/upload", self.upload)

    def start(self) -> None:
        self._unsubscribe = self.host.events.subscribe(self._on_event, Category.PLUGIN)
        self.sweep(startup=True)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # -- the endpoint --------------------------------------------------------------------
    async def upload(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
            name = _file_name(request.query.get("filename", ""))
            incoming = await self._receive(request, name)
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.server.executor, self._install,
                                                incoming, name)
        except ApiError as exc:
            return web.Response(status=exc.code, text=dumps(exc.body()),
                                content_type="application/json")
        return web.Response(text=dumps(result), content_type="application/json")

    def _authorize(self, request: web.Request) -> None:
        session = self.server.sessions.by_header(request.headers.get("Authorization"))
        if session is None:
            raise ApiError(401, "Not authorized: send Authorization: Bearer <token> of a "
                                "session (sessions/authorize).")
        if not session.allows("admin"):
            raise ApiError(403, "Permission denied: installing plugins needs the admin "
                                "permission.")

    async def _receive(self, request: web.Request, name: str) -> Path:
        """The body, streamed into a private directory, within max_upload_bytes. The disk
        is written from the worker threads, so a slow disk never holds up the loop."""
        limit = self.server.max_upload_bytes
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, f"The file is larger than {limit} bytes.")
        loop = asyncio.get_running_loop()
        directory = self.root / f".incoming-{secrets.token_hex(8)}"
        path = directory / name
        f = await loop.run_in_executor(self.server.executor, _create, path)
        size = 0
        try:
            try:
                async for chunk in request.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(413, f"The file is larger than {limit} bytes.")
                    await loop.run_in_executor(self.server.executor, f.write, chunk)
            finally:
                f.close()
            if size == 0:
                raise ApiError(400, f"{name} is empty: send the file as the request body.")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return path

    # -- installing (a worker thread) ------------------------------------------------------
    def _install(self, incoming: Path, name: str) -> dict:
        """Installs the received file; its directory goes in any case (here, so that a
        client that hangs up during the install does not pull the file from under it)."""
        try:
            return self._install_as(incoming, name)
        finally:
            shutil.rmtree(incoming.parent, ignore_errors=True)

    def _install_as(self, incoming: Path, name: str) -> dict:
        lower = name.lower()
        if lower.endswith(EXTENSION):
            return self._install_extension(incoming)
        if lower.endswith(".dcext"):
            return self._install_package(incoming)
        return self._install_file(incoming, name, "python" if lower.endswith(".py")
                                  else "native")

    def _install_package(self, path: Path) -> dict:
        from pyhost import packages
        try:
            package = dcext.read_package(path)
            package.select()
            result = packages.install(self.host, package)
        except (dcext.DcextError, PluginError) as exc:
            raise ApiError(400, str(exc)) from None
        return self._reply(result.record.guid, result.action)

    def _install_file(self, incoming: Path, name: str, kind: str) -> dict:
        kept = self.root / secrets.token_hex(8)
        kept.mkdir(parents=True, mode=0o700)
        target = kept / name
        os.replace(incoming, target)
        self._pending.add(kept)
        try:
            before = _installed_guids(self.host)
            record = self.host.install(target, kind=kind)
        except PluginError as exc:
            shutil.rmtree(kept, ignore_errors=True)
            # named as the client named it: the server's scratch path is gone, and private
            raise ApiError(400, str(exc).replace(str(target), name)) from None
        except BaseException:
            shutil.rmtree(kept, ignore_errors=True)
            raise
        finally:
            self._pending.discard(kept)
        action = "updated" if record.guid in before else "installed"
        self.sweep()  # an update leaves the old upload unreferenced
        return self._reply(record.guid, action)

    def _install_extension(self, path: Path) -> dict:
        """As ``pyhost extension install``: judged in a scratch directory of the home, then
        moved into place; the extensions area learns of it (extension_added)."""
        extensions = self.server.modules.get("extensions")
        if extensions is None:
            raise ApiError(400, "This host has no extension support, so it cannot install "
                                "extension packages (.tgz).")
        from pyhost.server.api.extensions import serialize
        from pyhost.server.extensions import installer
        from pyhost.server.extensions.package import PackageError
        manager = extensions.manager
        try:
            info, updated = installer.install(self.host.home, path, manager.feature_level)
            ext = manager.installed(info.name)
        except PackageError as exc:
            raise ApiError(400, str(exc)) from None
        return dict(serialize(ext, manager), action="updated" if updated else "installed")

    def _reply(self, guid: str, action: str) -> dict:
        plugins = self.server.modules["plugins"]
        return dict(plugins.describe(self.host.plugin(guid)), action=action)

    # -- cleaning up -----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if isinstance(event, (PluginRemoved, PluginUpdated)):
            self.sweep()

    def sweep(self, startup: bool = False) -> None:
        """Deletes uploaded files no installed plugin uses any more (at start-up also what
        an interrupted upload left)."""
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        used = [Path(r.path).resolve() for r in self.host.plugins()]
        for entry in entries:
            if entry in self._pending or (entry.name.startswith(".incoming-")
                                          and not startup):
                continue
            real = entry.resolve()
            if not any(p.is_relative_to(real) for p in used):
                shutil.rmtree(entry, ignore_errors=True)


def _file_name(raw: str) -> str:
    name = raw.strip()
    if not _NAME.fullmatch(name) or ".." in name:
        raise ApiError(400, "Give the file's name as ?filename=NAME (letters, digits, '.', "
                            "'_', '-', '+', spaces; at most 100).", "filename")
    if not name.lower().endswith(KINDS):
        raise ApiError(400, f"{name} is not a plugin file: upload a .dcext package, a "
                            "compiled plugin (.so, .dll, .dylib), a Python plugin (.py) "
                            "or an extension package (.tgz).", "filename")
    return name


def _create(path: Path):
    """A new file in a new private directory, open for writing."""
    path.parent.mkdir(parents=True, mode=0o700)
    return open(path, "wb")


def _installed_guids(host: Any) -> set[str]:
    return {r.guid for r in host.plugins()}


def register(server: Any) -> UploadsApi:
    return UploadsApi(server)
