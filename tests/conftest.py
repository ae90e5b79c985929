"""Shared fixtures: a fresh host home, and the compiled sample plugins."""
import pytest

from pyhost.host.host import Host
from pyhost.abi.paths import sample_plugin


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def host(home):
    """A started host with no timer thread (tests fire timers with host.tick)."""
    with Host(home, timers=False) as h:
        yield h


@pytest.fixture
def sample():
    return sample_plugin


@pytest.fixture(params=["in-process", "isolated"])
def isolation(request, monkeypatch):
    """Runs a test twice: every compiled plugin in the host's process, then every one in a
    runner process of its own (PYHOST_ISOLATION=all, pyhost.host.isolation)."""
    monkeypatch.setenv("PYHOST_ISOLATION", "none" if request.param == "in-process" else "all")
    return request.param
