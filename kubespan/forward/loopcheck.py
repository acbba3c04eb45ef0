"""Is a forward target one of kubespan's own receivers? Then every span would circle forever.

A target loops when it is on a receiver's port and reaches that receiver: its host resolves
to the receiver's own address, or, for a receiver on a wildcard address (`0.0.0.0`, `::`),
to any address of this machine (loopback, a wildcard, or one of its interfaces). Any other
host is somebody else's receiver, even on the same port: `--grpc 0.0.0.0:4317 --forward
grpc://jaeger:4317` forwards to Jaeger. Names are resolved with a time limit, so a slow DNS
never holds up the start; a name that does not resolve (or not in time) is not a loop.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from kubespan.forward.settings import HTTP, ForwardSettings

RESOLVE_TIMEOUT_S = 2.0
"""The longest the loop check waits for one name to resolve."""

Resolver = Callable[[str, float], list[str]]


def resolve(host: str, timeout: float = RESOLVE_TIMEOUT_S) -> list[str]:
    """The addresses `host` resolves to; [] when it does not resolve within `timeout` seconds."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    found: list[str] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            found.extend(str(info[4][0]) for info in infos)
        except (OSError, UnicodeError):
            pass
        done.set()

    threading.Thread(target=lookup, name="resolve-forward-target", daemon=True).start()
    return list(found) if done.wait(timeout) else []


def is_this_machine(address: str) -> bool:
    """True for a loopback or wildcard address, or one that a socket here can bind (our own)."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    if ip.is_loopback or ip.is_unspecified:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_this_machine(str(ip.ipv4_mapped))
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:
        return False
    return True


def target_host_port(target: ForwardSettings) -> tuple[str, int | None]:
    """The host and port a forwarder connects to."""
    if target.protocol == HTTP:
        parts = urlsplit(target.target)
        try:
            return parts.hostname or "", parts.port
        except ValueError:
            return parts.hostname or "", None
    host, _, port_text = target.target.rpartition(":")
    return host.strip("[]"), int(port_text) if port_text.isdigit() else None


def own_receiver(target: ForwardSettings, receivers: Iterable[tuple[str, str | None]], *,
                 resolver: Resolver | None = None, timeout: float = RESOLVE_TIMEOUT_S) -> str | None:
    """The name of the receiver (of `(name, "host:port")` pairs) that `target` would reach."""
    resolver = resolver or resolve
    host, port = target_host_port(target)
    if not port:
        return None
    target_addresses: list[str] | None = None
    for name, address in receivers:
        if not address:
            continue
        own_host, _, own_port = address.rpartition(":")
        if own_port != str(port):
            continue
        if target_addresses is None:  # resolved once, and only when a port matches
            target_addresses = resolver(host, timeout) if host else []
        if _reaches(own_host.strip("[]") or "127.0.0.1", target_addresses, resolver, timeout):
            return name
    return None


def _reaches(own_host: str, target_addresses: list[str], resolver: Resolver, timeout: float) -> bool:
    """Would a connection to one of `target_addresses` reach a socket bound to `own_host`?"""
    local = {_normal(address) for address in target_addresses if _is_this_machine_or_false(address)}
    if not local:
        return False
    own = {_normal(address) for address in resolver(own_host, timeout)}
    if any(ipaddress.ip_address(address).is_unspecified for address in own | local):
        return True  # a wildcard receiver takes connections to every address of this machine
    return bool(local & own)


def _is_this_machine_or_false(address: str) -> bool:
    try:
        return is_this_machine(address)
    except ValueError:
        return False


def _normal(address: str) -> str:
    """`::ffff:127.0.0.1` is `127.0.0.1`; a zone (`%eth0`) is dropped."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").partition("%")[0]))
    except ValueError:
        return None
