"""The application's side of the ABI: what the program embedding pyhost provides to plugins.

- ``application``: the interfaces an application implements (DCHub, DCConnection, DCQueue,
  DCUI, DCTagger, DCDataAccess) as Python classes and value types, and ``Application``,
  which bundles them for ``Host(app=...)``.
- ``world``: ``SimulatedWorld``, an in-memory application (hubs, users, connections,
  queue) that the host uses when it is given none, and that the test bench scripts.

Pure Python: no native code, no import of the host. The host turns these objects into ABI
tables (``pyhost.host.services.app_tables``).
"""
from pyhost.app.application import *  # noqa: F401,F403  (the public names, see __all__)
from pyhost.app.application import __all__  # noqa: F401
