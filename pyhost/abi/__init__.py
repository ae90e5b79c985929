"""The C ABI seen from Python: the lowest room of pyhost above native/.

- ``_ffi`` (generated at build time by ``_ffi_build.py``): the compiled cffi module, ``ffi``
  and ``lib``, over native/ and sdk_headers/dcplugin.h.
- ``bus``: the hook bus (``Bus``, ``Hook``, ``Subscription``, ``EventBatch``).
- ``views``: typed, lazy views of the ABI's structs (HubData, UserData, ...).
- ``interfaces``: Python classes as C function tables, and tables as Python objects.
- ``hook_specs``: the table of standard hooks every other room derives from.
- ``meta``: MetaData and the plugin states; ``config_values``: ConfigValue <-> Python.
- ``runtime``: pyhost's own ``pyhost.host.Runtime`` interface for Python plugins.
- ``paths``: where the installed native files are (sample plugins, the SDK header).

Nothing here imports another room of pyhost: everything above builds on it.
"""
