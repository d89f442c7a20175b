"""Addresses the server may send to on someone's say-so (webhook URLs).

A URL names a host; in production the host is resolved and every address it resolves to must be a public
one (not private, loopback, link-local, shared, multicast or reserved), and the caller then connects to one
of exactly those addresses, so a name that resolves differently a moment later cannot reach inside. In
development every address is allowed, so tests and local tools can receive on 127.0.0.1.
"""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000


class UnsafeURL(ValueError):
    """The URL is malformed, or names a host the server must not reach. ``str()`` is a sentence."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str          # as written in the URL (the Host header and TLS name)
    port: int
    path: str          # path and query, at least "/"
    addresses: tuple   # where to connect, in the resolver's order


def parse(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of an http(s) URL, else ``UnsafeURL``."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("Enter the address to send events to.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise UnsafeURL(f"This address is {len(url):,} characters; the limit is {MAX_URL:,}.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("That is not a valid web address.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("The address must start with http:// or https://.")
    if not parts.hostname or any(c.isspace() for c in url):
        raise UnsafeURL("That is not a valid web address.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def is_public(address: str) -> bool:
    """True for an address on the public internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str, *, production: bool) -> Target:
    """Where to send ``url``: its parts and the addresses to connect to; ``UnsafeURL`` when it may not be.

    In production the URL's host must resolve, and only to public addresses.
    """
    scheme, host, port, path = parse(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host {host} cannot be found.") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise UnsafeURL(f"The host {host} cannot be found.")
    if production and not all(is_public(a) for a in addresses):
        raise UnsafeURL("The address must be on the public internet, not a private, loopback or "
                        "link-local one.")
    return Target(scheme, host, port, path, addresses)
