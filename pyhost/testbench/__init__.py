"""The test bench: scripted events (JSONL replay) against a host and its application.

- ``replay``: reads a replay file line by line, fires each event through ``host.fire``,
  and reports per event whether it was handled and what the plugins did (effects).
- ``examples/``: replay files shipped with pyhost (``pyhost run --replay example:chat``).

The simulated world it usually drives is ``pyhost.app.world``.
"""
