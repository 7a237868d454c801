"""The named variants: how each is made, what it simulates, what a correct client does.

Each variant is one function that issues the leaf; its docstring is the variant's
description. The expectations are those of a submission client or a policy-enforcing MTA:
RFC 8314 §5.3, "MUAs MUST NOT treat a session as meeting a minimum level of
confidentiality if the server's TLS certificate cannot be validated."
"""

from __future__ import annotations

import datetime
import inspect
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from harness.tls.forge import Forge, Issued
from harness.tls.model import LOOPBACK, CertificateHandling, CertificateLevel, Refusal

Issuer = Callable[[Forge], Issued]

ACCEPT, REFUSE = CertificateHandling.ACCEPT, CertificateHandling.REFUSE
_HOST_MISMATCH = Refusal(62, "Hostname mismatch")
_IP_MISMATCH = Refusal(64, "IP address mismatch")


@dataclass(frozen=True)
class Variant:
    """How to build one catalogue entry; ``ServerCertificate`` is what it becomes."""

    name: str
    issue: Issuer
    handling: CertificateHandling
    level: CertificateLevel
    reference: str
    refusal: Refusal | None = None
    ip_refusal: Refusal | None = None
    security_level: int | None = None
    tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None

    @property
    def description(self) -> str:
        return inspect.getdoc(self.issue) or ""


VARIANTS: dict[str, Variant] = {}


def _variant(
    name: str,
    handling: CertificateHandling,
    level: CertificateLevel,
    reference: str,
    refusal: Refusal | None = None,
    *,
    ip_refusal: Refusal | None = None,
    security_level: int | None = None,
    tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
) -> Callable[[Issuer], Issuer]:
    def register(issue: Issuer) -> Issuer:
        VARIANTS[name] = Variant(
            name, issue, handling, level, reference, refusal, ip_refusal or refusal,
            security_level, tls_versions,
        )  # fmt: skip
        return issue

    return register


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@_variant("valid", ACCEPT, "violation", "RFC 8314 §5.3 (control)")
def _valid(forge: Forge) -> Issued:
    """Control: a leaf for localhost, 127.0.0.1 and ::1, signed by the trusted root.

    A correct client completes the handshake and carries on. If it refuses, its trust
    setup is wrong and every other certificate verdict is void.
    """
    return forge.issue(forge.root, *LOOPBACK)


@_variant("valid-intermediate", ACCEPT, "violation", "RFC 5280 §6.1; RFC 8446 §4.4.2 (control)")
def _valid_intermediate(forge: Forge) -> Issued:
    """Control: the leaf is signed by an intermediate CA and the server sends both.

    A correct client builds the path leaf → intermediate → trusted root and carries on.
    """
    return forge.issue(forge.intermediate, *LOOPBACK)


@_variant("expired", REFUSE, "violation", "RFC 5280 §4.1.2.5; RFC 8314 §5.3",
          Refusal(10, "certificate has expired"))  # fmt: skip
def _expired(forge: Forge) -> Issued:
    """The leaf's validity ended yesterday (it began 30 days ago).

    A correct client aborts the handshake and sends nothing, least of all credentials;
    it reports a certificate error, and may retry later, but never in plaintext.
    """
    now = _now()
    return forge.issue(
        forge.root, *LOOPBACK,
        not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1),
    )  # fmt: skip


@_variant("not-yet-valid", REFUSE, "violation", "RFC 5280 §4.1.2.5; RFC 8314 §5.3",
          Refusal(9, "certificate is not yet valid"))  # fmt: skip
def _not_yet_valid(forge: Forge) -> Issued:
    """The leaf's validity begins tomorrow.

    A correct client refuses it exactly as an expired one.
    """
    now = _now()
    return forge.issue(
        forge.root, *LOOPBACK,
        not_before=now + datetime.timedelta(days=1), not_after=now + datetime.timedelta(days=365),
    )  # fmt: skip


@_variant("wrong-host", REFUSE, "violation", "RFC 6125 §6 / RFC 9525; RFC 8314 §5.3",
          _HOST_MISMATCH, ip_refusal=_IP_MISMATCH)  # fmt: skip
def _wrong_host(forge: Forge) -> Issued:
    """A leaf from the trusted root, but for wrong.host.example only.

    A correct client checks the name it was told to connect to against the certificate
    and refuses: a valid chain is not enough.
    """
    return forge.issue(forge.root, "wrong.host.example")


@_variant("self-signed", REFUSE, "violation", "RFC 5280 §6.1; RFC 8314 §5.3",
          Refusal(18, "self-signed certificate"))  # fmt: skip
def _self_signed(forge: Forge) -> Issued:
    """A leaf that signs itself, with the right names.

    A correct client refuses: no trusted root vouches for it. This is the certificate most
    often "fixed" by turning verification off.
    """
    return forge.self_signed(*LOOPBACK)


@_variant("untrusted-root", REFUSE, "violation", "RFC 5280 §6.1; RFC 8314 §5.3",
          Refusal(19, "self-signed certificate in certificate chain"))  # fmt: skip
def _untrusted_root(forge: Forge) -> Issued:
    """A leaf with the right names from a root the client does not trust, root included.

    This is what an interception proxy presents. A correct client refuses, whatever the
    server sends along.
    """
    return forge.issue(forge.rogue, *LOOPBACK, extra_chain=forge.rogue.cert_pem.bytes())


@_variant("incomplete-chain", REFUSE, "violation", "RFC 8446 §4.4.2; RFC 5280 §6.1",
          Refusal(20, "unable to get local issuer certificate"))  # fmt: skip
def _incomplete_chain(forge: Forge) -> Issued:
    """The leaf is signed by an intermediate CA, but the server sends the leaf alone.

    A correct client cannot build a path to its root and refuses (offline there is no
    AIA fetching to rescue it).
    """
    return forge.issue(forge.intermediate, *LOOPBACK, chain_length=1)


@_variant("wildcard-mismatch", REFUSE, "violation", "RFC 6125 §6.4.3 / RFC 9525; RFC 8314 §5.3",
          _HOST_MISMATCH, ip_refusal=_IP_MISMATCH)  # fmt: skip
def _wildcard_mismatch(forge: Forge) -> Issued:
    """A leaf for *.localhost only, reached as localhost.

    A wildcard stands for exactly one left-most label: it never covers the bare parent
    name, nor two labels. A correct client refuses; a client that strips "*." and compares
    the rest accepts.
    """
    return forge.issue(forge.root, "*.localhost")


@_variant("weak-key", REFUSE, "deviation", "RFC 8314 §5 (MAY refuse weak cryptography)",
          Refusal(66, "EE certificate key too weak"), security_level=0)  # fmt: skip
def _weak_key(forge: Forge) -> Issued:
    """A leaf with an RSA-1024 key, otherwise valid; the server runs at @SECLEVEL=0.

    A correct client refuses keys below 2048 bits, as OpenSSL does from security level 2
    (its default). Accepting is a deviation, not a violation: RFC 8314 leaves minimum
    strength to local policy.
    """
    return forge.weak_rsa(*LOOPBACK)


@_variant("sha1-signature", REFUSE, "deviation", "RFC 8314 §5 (MAY refuse weak cryptography)",
          Refusal(68, "CA signature digest algorithm too weak"), security_level=0)  # fmt: skip
def _sha1_signature(forge: Forge) -> Issued:
    """A leaf the trusted root signed with SHA-1; the server runs at @SECLEVEL=0.

    A correct client refuses SHA-1 signatures, which are open to chosen-prefix collisions,
    as OpenSSL does from security level 1. Accepting is a deviation, not a violation.
    """
    return forge.sha1_signed(*LOOPBACK)


@_variant("tls1.0-only", REFUSE, "deviation", "RFC 8996; RFC 8314 §5",
          Refusal(None, "TLSV1_ALERT_PROTOCOL_VERSION"), security_level=0,
          tls_versions=(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))  # fmt: skip
def _tls10_only(forge: Forge) -> Issued:
    """A valid leaf, but the server offers only TLS 1.0 and 1.1.

    RFC 8996 forbids negotiating either; a correct client fails the handshake with a
    protocol-version alert instead of downgrading, and never falls back to plaintext.
    """
    return forge.issue(forge.root, *LOOPBACK)
