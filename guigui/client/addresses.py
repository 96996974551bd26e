"""Where the servers are: one address or several, and every IP address each name has.

A cluster of GuiGui nodes is reached through several addresses
(``--server chat1:6767,chat2:6767``), or through one name with several DNS
records. ``parse_addresses`` reads such a list (each entry ``host``,
``host:port`` or ``[ipv6]:port``; an entry without a port gets the default one)
and names the entry that is wrong. ``AddressRing`` hands out the endpoints to
try, one IP address of one configured name each, resolved afresh on every
round (DNS may change), starting after the one last used: a client whose node
went away goes on to the next, round robin, instead of knocking at the same
door first.

Nothing here opens a connection: ``ChatConnection.connect_any`` does, with an
``AddressRing``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import Enum
from typing import Any

from guigui.common.protocol import DEFAULT_PORT

SEPARATOR = ","
"""Between the entries of a list: ``host:port,host:port``."""


class Flaw(Enum):
    """What is wrong with one entry of an address list (each has its words in the dialog)."""

    EMPTY = "no server named"
    HOST = "a server name has no spaces or slashes"
    PORT = "a port is a number from 1 to 65535"
    IPV6 = "write an IPv6 address as [address]:port"


class AddressError(ValueError):
    """An address list with a wrong entry: ``entry`` is the entry, ``flaw`` what is wrong."""

    def __init__(self, entry: str, flaw: Flaw) -> None:
        super().__init__(f"{entry!r}: {flaw.value}" if entry else flaw.value)
        self.entry = entry
        self.flaw = flaw


@dataclass(frozen=True)
class ServerAddress:
    """One server as configured: a name (or an IP address) and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> ServerAddress:
    """``host``, ``host:port``, ``[ipv6]:port`` or a bare IPv6 address; ``AddressError`` if not."""
    entry = text.strip()
    host, port = entry, str(default_port)
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise AddressError(entry, Flaw.IPV6)
        port = rest[1:] or port
    elif entry.count(":") == 1:  # more than one: a bare IPv6 address, on the default port
        host, port = entry.split(":")
    if not host or any(character.isspace() or character == "/" for character in host):
        raise AddressError(entry, Flaw.HOST)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise AddressError(entry, Flaw.PORT)
    return ServerAddress(host, int(port))


def split_entries(text: str) -> list[str]:
    """The entries of a comma-separated list, stripped; empty ones (``a,,b``, ``a,``) dropped."""
    return [entry.strip() for entry in text.split(SEPARATOR) if entry.strip()]


def parse_addresses(text: str, default_port: int = DEFAULT_PORT) -> list[ServerAddress]:
    """Every address of ``host[:port],host[:port]...``, in order, each once.

    Raises ``AddressError`` naming the first wrong entry, or ``Flaw.EMPTY`` when
    the list names no server at all.
    """
    addresses: list[ServerAddress] = []
    for entry in split_entries(text):
        address = parse_address(entry, default_port)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressError("", Flaw.EMPTY)
    return addresses


def format_addresses(addresses: list[ServerAddress]) -> str:
    """The list as a user writes it: ``chat1:6767, chat2:6767``."""
    return ", ".join(str(address) for address in addresses)


@dataclass(frozen=True)
class Endpoint:
    """One IP address of a configured server: what a socket connects to."""

    address: ServerAddress
    """The server as configured: its name is the one TLS checks and pins."""
    family: socket.AddressFamily
    sockaddr: tuple[Any, ...]

    def __str__(self) -> str:
        ip = self.sockaddr[0]
        return str(self.address) if ip == self.address.host else f"{self.address} ({ip})"

    def open(self, timeout: float) -> socket.socket:
        """A TCP socket connected to this endpoint (``OSError`` if it cannot be)."""
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self.sockaddr)
        except BaseException:
            sock.close()
            raise
        return sock


def resolve(address: ServerAddress) -> list[Endpoint]:
    """Every IP address the server's name has (all its DNS records), in the resolver's order.

    Raises ``OSError`` (``socket.gaierror``) when the name does not resolve.
    """
    found: list[Endpoint] = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM
    ):
        endpoint = Endpoint(address, family, tuple(sockaddr))
        if endpoint not in found:
            found.append(endpoint)
    return found


class AddressRing:
    """The servers to try, round robin: each round starts after the endpoint last used.

    Not thread-safe: one owner (the network thread, or one CLI command) uses it.
    """

    def __init__(self, addresses: list[ServerAddress]) -> None:
        if not addresses:
            raise ValueError("an AddressRing needs at least one address")
        self.addresses = list(addresses)
        self.last_used: Endpoint | None = None
        """The endpoint of the last connection made (the next round starts after it)."""

    def round(self) -> tuple[list[Endpoint], list[str]]:
        """The endpoints to try now, in turn, and the names that did not resolve (why, each).

        Every configured name is resolved again: a node added to the DNS name is
        found by the next round.
        """
        endpoints: list[Endpoint] = []
        unresolved: list[str] = []
        for address in self.addresses:
            try:
                endpoints += [found for found in resolve(address) if found not in endpoints]
            except OSError as error:
                unresolved.append(f"{address}: {error}")
        if self.last_used in endpoints:
            start = endpoints.index(self.last_used) + 1
            endpoints = endpoints[start:] + endpoints[:start]
        return endpoints, unresolved

    def used(self, endpoint: Endpoint) -> None:
        """Remember the endpoint a connection was made to."""
        self.last_used = endpoint

    def __str__(self) -> str:
        return format_addresses(self.addresses)
