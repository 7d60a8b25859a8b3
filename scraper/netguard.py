"""Which URLs the downloader may fetch: http(s) only, public addresses only."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class Refused(Exception):
    """A URL the downloader will not fetch; ``reason`` is the catalog's reason code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise :class:`Refused` unless ``url`` is http(s) on a host that resolves to public addresses.

    The check runs after DNS resolution, so a public name pointing at 127.0.0.1
    or 169.254.169.254 is refused too.
    """
    try:
        # A page can link "http://[::1" or "http://[zz]/": urlsplit and .hostname raise.
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise Refused("bad_url", f"malformed URL {url[:80]!r}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("unsupported_scheme", f"{parts.scheme or 'no'} scheme in {url[:80]}")
    if not host:
        raise Refused("bad_url", f"no host in {url[:80]}")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("bad_url", f"bad port in {url[:80]}") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as e:
        raise Refused("dns_error", f"{host}: {e}") from None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise Refused("private_address", f"{host} resolves to {address}")
