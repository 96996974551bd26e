"""What server and clients share about TLS: the certificate fingerprint users compare."""

from __future__ import annotations

import hashlib


def fingerprint(certificate_der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as ``AB:CD:...``."""
    digest = hashlib.sha256(certificate_der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
