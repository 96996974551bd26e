"""Which server certificates the client trusts.

Two ways, as for SSH and browsers:

- a CA file (``cafile``): the server's certificate must be signed by it and
  name the host, the usual TLS check;
- trust on first use (the default for a self-signed LAN server): the first
  connection to ``host:port`` pins the certificate's SHA-256 fingerprint,
  shown to the user; later connections must present the same certificate,
  otherwise the client refuses and says so (``CertificateChanged``).
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from guigui.common.tls import fingerprint


class CertificateChanged(ssl.SSLError):
    """The server presents another certificate than the one pinned: maybe an attacker."""

    def __init__(self, server: str, pinned: str, presented: str) -> None:
        super().__init__(
            f"the certificate of {server} has CHANGED: pinned {pinned}, presented {presented}."
            " Refusing to connect: someone may be impersonating the server. If the admin"
            " really replaced it, remove the old pin from known_servers.json."
        )
        self.server = server
        self.pinned = pinned
        self.presented = presented


@dataclass
class TrustPolicy:
    """How to check a server's certificate."""

    cafile: str | None = None
    """Verify against this CA file (None: trust on first use)."""
    known_servers: Path | None = None
    """Where pinned fingerprints are kept (trust on first use)."""
    on_new_server: Callable[[str, str], None] | None = None
    """Told ``(server, fingerprint)`` when a server is pinned for the first time."""

    def wrap(self, sock: socket.socket, host: str, port: int) -> ssl.SSLSocket:
        """Do the TLS handshake on ``sock`` and check the certificate; raise ``ssl.SSLError``."""
        if self.cafile is not None:
            context = ssl.create_default_context(cafile=self.cafile)
            return context.wrap_socket(sock, server_hostname=host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # checked below, against the pin
        wrapped = context.wrap_socket(sock, server_hostname=host)
        certificate = wrapped.getpeercert(binary_form=True)
        if certificate is None:
            wrapped.close()
            raise ssl.SSLError("the server sent no certificate")
        self.check_pin(f"{host}:{port}", fingerprint(certificate), wrapped)
        return wrapped

    def check_pin(self, server: str, presented: str, wrapped: ssl.SSLSocket) -> None:
        """Pin a new server; refuse one whose certificate changed."""
        path = self.known_servers
        if path is None:
            return
        try:
            known: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        pinned = known.get(server)
        if pinned is None:
            known[server] = presented
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(known, indent=2), encoding="utf-8")
            os.chmod(path, 0o600)
            if self.on_new_server is not None:
                self.on_new_server(server, presented)
        elif pinned != presented:
            wrapped.close()
            raise CertificateChanged(server, pinned, presented)
