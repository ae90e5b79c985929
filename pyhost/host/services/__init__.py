"""Interfaces the host provides to plugins as ABI tables: DCConfig (``config``), DCLog
(``log``), and the application's interfaces (``app_tables``: DCHub, DCQueue, DCUI, ...)."""
