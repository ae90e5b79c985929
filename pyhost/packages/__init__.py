"""``.dcext`` packages: reading, checking, installing, updating and removing them.

- ``dcext``: reading a package and what a valid one holds (platform selection, binary
  checks), built on ``rules`` (limits, errors), ``zip_reader`` (the raw ZIP container) and
  ``manifest`` (info.xml against its XSD); ``packer``: building a package (``pack``).
- ``python_package``: the convention for a Python plugin inside a .dcext.
- ``installer``: install / update / remove on a Host, crash-safe (staging, atomic rename,
  rollback), under the home's package lock.

Builds on ``pyhost.host`` (it asks the host to load and unload the plugin); the host never
imports this room.
"""
from pyhost.packages.installer import (InstallResult, PackageError, install, is_package,
                                       plugins_root, recover, remove)
from pyhost.packages.packer import pack

__all__ = ["InstallResult", "PackageError", "install", "is_package", "pack", "plugins_root",
           "recover", "remove"]
