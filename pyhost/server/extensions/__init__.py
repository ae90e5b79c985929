"""AirDC++ extensions: packages installed in the home (``layout``, ``package``, ``archive``,
``installer``), their processes and supervision (``process``, ``supervisor``, ``manager``),
their settings (``settings``, ``setting_values``), the command line's way to a running
pyhost (``control``) and their host events (``events``). The API endpoints are in
:mod:`pyhost.server.api.extensions`; see docs/extensions.md."""
