"""What a certificate variant is: the files a server presents and what a client must do."""

from __future__ import annotations

import enum
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.tls.contexts import server_context

CertificateLevel = Literal["violation", "deviation"]
"""How much doing the opposite of the expected handling weighs: the level (two of
:data:`harness.verdicts.spec.Level`'s three) the certificate check takes."""

LOOPBACK = ("localhost", "127.0.0.1", "::1")
"""The names the fake server is reached by; the valid variants cover all three."""


class CertificateHandling(enum.Enum):
    """What a verifying client (submission MUA, policy-enforcing MTA) does with a variant.

    An opportunistic MTA without a policy (RFC 7435) may accept a bad certificate; verdicts
    report that as advisory, not as a failure.
    """

    ACCEPT = "accept"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Refusal:
    """How an OpenSSL-based verifying client refuses a variant, to tell right from wrong reasons.

    ``verify_code`` is OpenSSL's ``X509_V_ERR_*`` number (``SSLCertVerificationError.verify_code``,
    stable across OpenSSL versions); ``None`` when the handshake fails before verification,
    and ``reason`` is then the SSL error reason (``SSLError.reason``). Otherwise ``reason`` is
    how OpenSSL 3 words ``verify_message`` at its start.
    """

    verify_code: int | None
    reason: str


@dataclass(frozen=True, eq=False)
class ServerCertificate:
    """One named variant, written to disk and ready to serve.

    This type has no public constructor; get one from ``harness.tls.certificate(name)``.
    The files live in a per-process temporary directory for as long as the process or the
    certificate object does.
    """

    name: str
    description: str
    """What the variant simulates and what a correct client does with it."""
    reference: str
    """The standard (and section) the expected handling rests on."""
    handling: CertificateHandling
    level: CertificateLevel
    hostnames: tuple[str, ...]
    """The names and addresses the leaf certificate is issued for (its subjectAltName)."""
    cert_chain_file: Path
    """PEM: the leaf first, then whatever intermediates (or foreign root) the server sends."""
    key_file: Path
    cafile: Path
    """The one root a correctly configured client trusts; the same file for every variant."""
    refusal: Refusal | None
    """How a verifying client refuses when it reaches the server by name (``localhost``)."""
    ip_refusal: Refusal | None
    """The same when it reaches the server by address (``127.0.0.1``, ``::1``)."""
    security_level: int | None = None
    """OpenSSL ``@SECLEVEL`` the server needs to present this variant; ``None`` = default."""
    tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None
    """The only protocol versions the server offers; ``None`` = this Python's defaults."""
    _owner: object = field(default=None, repr=False)

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side context presenting this variant, one per attempt if need be.

        About a millisecond, mostly ``load_cert_chain``; contexts may also be shared.
        """
        return server_context(
            self.cert_chain_file,
            self.key_file,
            security_level=self.security_level,
            tls_versions=self.tls_versions,
        )

    def expected_refusal(self, host: str) -> Refusal | None:
        """The refusal a verifying client reaching the server as ``host`` should report."""
        return self.ip_refusal if is_address(host) else self.refusal


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (verified against IP SANs) rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
