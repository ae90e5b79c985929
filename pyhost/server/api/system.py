"""``system``: what the server is. ``GET system/system_info`` (any session) answers the
API version (1) and the feature level pyhost implements, as AirDC++ clients check them."""
from __future__ import annotations

import os
import platform
import socket
import time
from typing import Any

from pyhost import __version__
from pyhost.server.routes import Call

API_VERSION = 1
# AirDC++'s feature levels: 4 = chat hooks and menus, 6 = the extension ready signal
# (signalReady), 7 = appPid in the extensions' arguments. pyhost implements those of the
# areas it has (docs/extensions.md); AirDC++ itself is at 10.
API_FEATURE_LEVEL = 7


class SystemApi:
    def __init__(self, server: Any):
        self.server = server
        self.started = int(time.time())
        server.routes.add("GET", "system/system_info", None, self.system_info,
                          "API version, feature level and the host's identity")

    def info(self) -> dict:
        return {"api_version": API_VERSION, "api_feature_level": self.server.feature_level,
                "client_version": f"pyhost {__version__}", "client_started": self.started,
                "hostname": socket.gethostname(), "platform": platform.system().lower(),
                "cpu_count": os.cpu_count() or 1, "path_separator": os.sep}

    async def system_info(self, call: Call) -> dict:
        return self.info()


def register(server: Any) -> SystemApi:
    return SystemApi(server)
