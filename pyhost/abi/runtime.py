"""``pyhost.host.Runtime``: pyhost's own interface for its Python plugins.

Declared here, below both sides: the host registers an implementation (the Python opener's
``attach``), and each Python plugin queries it through its DCCore like any interface.
"""
from __future__ import annotations

from pyhost.abi.interfaces import Interface, function


class HostRuntime(Interface, guid="pyhost.host.Runtime", version=1):
    """What pyhost offers its Python plugins beyond the ABI, as an interface table.

    Registered by the host (pyhost.host.python_loader.attach); queried by each Python plugin
    through its DCCore, like any other interface. A C plugin may use it too.
    """

    @function("void(const char* guid, const char* name, const char* where, const char* what,"
              " const char* error, const char* traceback)")
    def report_exception(self, guid, name, where, what, error, traceback):
        """Reports an exception caught at the C boundary: ``where`` is a hook guid, an
        interface guid, or a lifecycle state name (``ON_CONFIGURE``, ``ON_UNLOAD``...)."""

    @function("size_t(void)")
    def pending_reclaim(self):
        """How many released subscriber arrays a dispatch may still be reading (0 = none:
        every handle released so far can be freed)."""
