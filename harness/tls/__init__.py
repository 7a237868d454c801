"""Certificates a fake server presents, good and bad, made offline and cached per process.

>>> cert = certificate("expired")
>>> server_ctx = cert.server_context()   # what the server presents
>>> cert.cafile                          # what a correctly configured client trusts

Names: ``valid``, ``valid-intermediate`` (controls), ``expired``, ``not-yet-valid``,
``wrong-host``, ``self-signed``, ``untrusted-root``, ``incomplete-chain``,
``wildcard-mismatch``, ``weak-key``, ``sha1-signature``, ``tls1.0-only``.
See ``docs/certificates.md`` for what each simulates and what a correct client does.
"""

from harness.tls.catalogue import CertificateCatalogue, catalogue, certificate, names
from harness.tls.contexts import permissive_client_context
from harness.tls.model import (
    LOOPBACK,
    CertificateHandling,
    CertificateLevel,
    Refusal,
    ServerCertificate,
)

__all__ = [
    "LOOPBACK",
    "CertificateCatalogue",
    "CertificateHandling",
    "CertificateLevel",
    "Refusal",
    "ServerCertificate",
    "catalogue",
    "certificate",
    "names",
    "permissive_client_context",
]
