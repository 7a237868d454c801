"""The server's TLS set-up: which mode, which certificate on which attempt.

The certificate catalogue (``harness.tls``) builds each variant once per process; a
server keeps one ``ssl.SSLContext`` per variant it serves.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from harness.attempts import Attempts
from harness.clients import TLSMode
from harness.errors import InvalidFaultPlan
from harness.timeline import printable
from harness.tls import certificate, names

TLS_MODES: tuple[TLSMode, ...] = get_args(TLSMode)

# OpenSSL reasons a server sees when the client refused the certificate with an alert.
_CERTIFICATE_ALERTS = frozenset({
    "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED", "SSLV3_ALERT_CERTIFICATE_REVOKED",
})
_VERSION_REASONS = frozenset({
    "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "WRONG_VERSION_NUMBER",
    "TLSV1_ALERT_PROTOCOL_VERSION", "NO_SHARED_CIPHER", "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "VERSION_TOO_LOW", "TLSV1_ALERT_INSUFFICIENT_SECURITY",
})


@dataclass(frozen=True)
class TLSConfig:
    """``mode``: plaintext, STARTTLS (as on port 587) or implicit TLS (as on 465).

    ``certificate`` is a catalogue name, or a mapping from attempts to names
    (``{"1": "expired", "2+": "valid"}``) for a certificate that differs per attempt.
    ``starttls_required`` answers ``530`` to mail commands before STARTTLS.
    """

    mode: TLSMode = "none"
    certificate: str | Mapping[Any, str] = "valid"
    starttls_required: bool = False
    _by_attempt: tuple[tuple[Attempts, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in TLS_MODES:
            raise InvalidFaultPlan(
                f"tls={self.mode!r} is not a TLS mode; allowed: {', '.join(TLS_MODES)}"
            )
        pairs = (
            [(Attempts(), self.certificate)] if isinstance(self.certificate, str)
            else [(Attempts.parse(k), v) for k, v in self.certificate.items()]
        )
        for _, name in pairs:
            if name not in names():
                raise InvalidFaultPlan(
                    f"certificate={name!r} is not in the catalogue; allowed: {', '.join(names())}"
                )
        object.__setattr__(self, "_by_attempt", tuple(pairs))

    def certificate_for(self, attempt: int) -> str:
        for selector, name in self._by_attempt:
            if attempt in selector:
                return name
        return "valid"


class ContextCache:
    """One server context per certificate variant, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}

    def get(self, name: str) -> ssl.SSLContext:
        with self._lock:
            if name not in self._contexts:
                self._contexts[name] = certificate(name).server_context()
            return self._contexts[name]


def handshake_failure(error: BaseException, first_bytes: bytes = b"\x16") -> dict[str, Any]:
    """What a failed server-side handshake says about the client.

    ``outcome`` is ``plaintext`` when what the client sent was not a TLS record (a
    ClientHello starts with 0x16), ``client-rejected-certificate`` when it sent a
    certificate alert, ``version-mismatch`` when no protocol or cipher was shared,
    ``client-closed`` when it hung up without an alert, ``error`` otherwise.
    ``client_hello`` is False when no ClientHello arrived at all; ``first_bytes`` shows
    what came instead.
    """
    reason = str(getattr(error, "reason", "") or "")
    client_hello = first_bytes[:1] == b"\x16"
    if first_bytes and not client_hello:
        outcome = "plaintext"
    elif reason in _CERTIFICATE_ALERTS:
        outcome = "client-rejected-certificate"
    elif reason in _VERSION_REASONS:
        outcome = "version-mismatch"
    elif isinstance(error, (ConnectionError, ssl.SSLEOFError)) or "EOF" in reason:
        outcome = "client-closed"
    else:
        outcome = "error"
    return {
        "outcome": outcome,
        "alert": reason if "ALERT" in reason else None,
        "error": f"{type(error).__name__}: {reason or error}",
        "client_hello": client_hello,
        "first_bytes": "" if client_hello else printable(first_bytes),
    }
