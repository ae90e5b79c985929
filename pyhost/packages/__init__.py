"""``.dcext`` packages: reading, checking, installing, updating and removing them.

- ``dcext``: reading a package (raw ZIP checks, limits, info.xml against its XSD, platform
  selection, binary checks) and ``pack``.
- ``python_package``: the convention for a Python plugin inside a .dcext.
- ``install``: install / update / remove on a Host, crash-safe (staging, atomic rename,
  rollback), under the home's package lock.

Builds on ``pyhost.host`` (it asks the host to load and unload the plugin); the host never
imports this room.
"""
from pyhost.packages.installer import (
                                     InstallResult,
                                     PackageError,
                                     install,
                                     is_package,
                                     plugins_root,
                                     recover,
                                     remove,
)

__all__ = ["InstallResult", "PackageError", "install", "is_package", "plugins_root",
           "recover", "remove"]
