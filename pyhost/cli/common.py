"""Helpers the command modules share: opening the host for a command, a record as JSON."""
from __future__ import annotations

import argparse

from pyhost.host.host import Host


def open_host(args: argparse.Namespace, start: bool = False) -> Host:
    """The host for a command: ``--home`` or the default. Started (enabled plugins loaded)
    when the command needs plugins running; close it with ``shutdown()``."""
    host = Host(args.home, timers=False)
    if start:
        try:
            host.start()
        except BaseException:
            host.shutdown()
            raise
    return host


def record_dict(record) -> dict:
    return {"guid": record.guid, "name": record.name, "version": record.version,
            "author": record.author, "description": record.description,
            "website": record.website, "path": record.path, "kind": record.kind,
            "enabled": record.enabled, "position": record.position}
