"""Shared pieces of the extension tests: the test extensions of tests/extensions packed once
per session (their official npm libraries installed from the committed lock file), and a
host with its Web API and extension manager, with short supervision delays."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from pyhost.host.host import Host
from pyhost.server import serve
from pyhost.server.api.system import API_FEATURE_LEVEL
from pyhost.server.extensions import installer
from server_helpers import make_users

EXTENSIONS_DIR = Path(__file__).resolve().parent / "extensions"
sys.path.insert(0, str(EXTENSIONS_DIR))
import pack  # noqa: E402  tests/extensions/pack.py

FILTER = "airdcpp-pyhost-chat-filter"
WATCHER = "airdcpp-pyhost-settings-watcher"
CRASHER = "airdcpp-pyhost-crasher"
NEVER_READY = "airdcpp-pyhost-never-ready"
PYTHON = "airdcpp-pyhost-python"
HUB = "adc://hub.example:1511"

FAST = {"restart_delay": 0.3, "backoff_initial": 0.1, "backoff_max": 0.4,
        "stop_timeout": 3.0, "ready_timeout": 10.0}


def extension_modules() -> Path:
    """tests/extensions/node_modules, installed from the committed lock file if missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed (the test extensions run on node)")
    if not (pack.NODE_MODULES / "airdcpp-extension").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXTENSIONS_DIR,
                       check=True, capture_output=True, timeout=300)
    return pack.NODE_MODULES


@pytest.fixture(scope="session")
def packed(tmp_path_factory) -> dict[str, Path]:
    extension_modules()
    return pack.pack_all(tmp_path_factory.mktemp("extension-packages"))


def wait_for(predicate: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


class Hosted:
    """A home with API users and the given extensions installed, a started host, its Web
    API on a free loopback port and the extensions started (close() stops everything)."""

    def __init__(self, home: Path, packages: list[Path], start: bool = True,
                 **options: Any):
        home.mkdir(parents=True, exist_ok=True)
        make_users(home)
        for package in packages:
            installer.install(home, package, API_FEATURE_LEVEL)
        self.home = home
        self.host = Host(home, timers=False)
        self.seen: list = []
        self.host.events.subscribe(self.seen.append)
        self.host.start()
        try:
            self.server = serve(self.host, "127.0.0.1:0")
        except BaseException:
            self.host.shutdown()
            raise
        self.api = self.server.modules["extensions"]
        self.manager = self.api.manager
        for key, value in {**FAST, **options}.items():
            setattr(self.manager.options, key, value)
        if start:
            self.manager.start_enabled()

    @property
    def url(self) -> str:
        return self.server.url

    def ext(self, name: str):
        return self.manager.get(name)

    def events(self, kind: str) -> list:
        return [e for e in list(self.seen) if e.kind == kind]

    def close(self) -> None:
        self.server.stop()
        self.host.shutdown()
