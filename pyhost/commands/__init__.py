"""Subcommands of the ``pyhost`` command, one module per group (see pyhost.cli)."""
