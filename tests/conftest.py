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
