"""Where the server listens, and whether that is allowed without TLS.

``[HOST:]PORT``: ``5600``, ``127.0.0.1:5600``, ``[::1]:5600``, ``0.0.0.0:5600``. The host
defaults to 127.0.0.1. A non-loopback address needs a certificate and key (TLS) or an
explicit ``insecure_http=True``: tokens and passwords would otherwise cross the network in
clear.
"""
from __future__ import annotations

import ipaddress
import ssl
from typing import Any, Optional

from pyhost.server.app import DEFAULT_PORT, ApiServer, ServerError


def parse_listen(value: str) -> tuple[str, int]:
    """``[HOST:]PORT`` -> (host, port); ValueError with a sentence when it is not one."""
    value = value.strip()
    host, port_text = "127.0.0.1", value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or value[end + 1:end + 2] != ":":
            raise ValueError(f"{value!r} is not [IPv6]:PORT.")
        host, port_text = value[1:end], value[end + 2:]
    elif ":" in value:
        host, _, port_text = value.rpartition(":")
        if ":" in host:
            raise ValueError(f"{value!r}: write an IPv6 address in brackets, [::1]:PORT.")
    if not host:
        host = "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{port_text!r} is not a port number (0-65535).")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    from pyhost.host.file_checks import FileTypeError, check_regular
    try:  # OpenSSL would wait on a FIFO for ever, or read a device without end
        check_regular(cert, "TLS certificate")
        check_regular(key, "TLS key")
    except FileTypeError as exc:
        raise ServerError(str(exc)) from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(f"Cannot use the TLS certificate {cert} and key {key}: "
                          f"{getattr(exc, 'strerror', None) or exc}.") from None
    return context


def serve(host: Any, listen: str = f"127.0.0.1:{DEFAULT_PORT}", *,
          tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
          insecure_http: bool = False, **options: Any) -> ApiServer:
    """Starts the Web API for a started host and returns the running server (stop() it
    before the host shuts down). ``options`` go to :class:`ApiServer`."""
    try:
        address, port = parse_listen(listen)
    except ValueError as exc:
        raise ServerError(str(exc)) from None
    if (tls_cert is None) != (tls_key is None):
        raise ServerError("TLS needs both a certificate (--tls-cert) and a key (--tls-key).")
    context = tls_context(tls_cert, tls_key) if tls_cert is not None else None
    if context is None and not insecure_http and not is_loopback(address):
        raise ServerError(f"Refusing to serve the Web API on {address}, which is not a "
                          "loopback address, without TLS: give --tls-cert and --tls-key, "
                          "or --insecure-http to send passwords and tokens in clear.")
    return ApiServer(host, address=address, port=port, ssl_context=context,
                     **options).start()
