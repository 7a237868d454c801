"""The certificate material the catalogue is cut from, all made offline.

trustme issues from a root or an intermediate with any names and validity window. What it
cannot make is built here: a self-signed leaf and an RSA-1024 leaf with ``cryptography``,
and a SHA-1 signature with the ``openssl`` command, because ``cryptography`` refuses to sign
with SHA-1 ("Hash algorithm "sha1" not supported for signatures").
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.errors import CertificateError
from harness.tls.model import is_address

_ORGANIZATION = "smtp-fault-harness"
_LIFETIME = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class Issued:
    """A leaf as the server presents it: the chain it sends, its key, the names it covers."""

    chain_pem: bytes
    key_pem: bytes
    hostnames: tuple[str, ...]


class Forge:
    """The process's roots and the directory the ``openssl`` command works in.

    ``root`` is the one CA clients trust; ``intermediate`` hangs below it; ``rogue`` is a
    second root nobody trusts.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = trustme.CA(organization_name=f"{_ORGANIZATION} trusted root")
        self.intermediate = self.root.create_child_ca()
        self.rogue = trustme.CA(organization_name=f"{_ORGANIZATION} untrusted root")
        self.cafile = directory / "ca.pem"
        self.cafile.write_bytes(self.root.cert_pem.bytes())

    def issue(
        self,
        ca: trustme.CA,
        *hostnames: str,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        chain_length: int | None = None,
        extra_chain: bytes = b"",
    ) -> Issued:
        """A trustme leaf; ``chain_length`` cuts the chain the server sends (1 = leaf only)."""
        leaf = ca.issue_cert(*hostnames, not_before=not_before, not_after=not_after)
        chain = [blob.bytes() for blob in leaf.cert_chain_pems][:chain_length]
        return Issued(b"".join(chain) + extra_chain, leaf.private_key_pem.bytes(), hostnames)

    def self_signed(self, *hostnames: str) -> Issued:
        """A leaf that is its own issuer, signed with its own key (trustme cannot)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("self-signed leaf")
        cert = _leaf_builder(name, name, key.public_key(), hostnames).sign(key, hashes.SHA256())
        return Issued(_pem(cert), _key_pem(key), hostnames)

    def weak_rsa(self, *hostnames: str, bits: int = 1024) -> Issued:
        """A leaf with a small RSA key, signed by the trusted root (trustme only does 2048)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        issuer = x509.load_pem_x509_certificate(self.root.cert_pem.bytes())
        subject = _name(f"RSA-{bits} leaf")
        builder = _leaf_builder(subject, issuer.subject, key.public_key(), hostnames)
        cert = builder.sign(_root_key(self.root), hashes.SHA256())
        return Issued(_pem(cert), _key_pem(key), hostnames)

    def sha1_signed(self, *hostnames: str) -> Issued:
        """A leaf the trusted root signs with SHA-1, through the ``openssl`` command."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise CertificateError(
                "sha1-signature needs the `openssl` command on PATH: the `cryptography` package"
                " refuses to sign with SHA-1"
            )
        work = self.directory / "sha1-work"
        work.mkdir(exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        files = ("ca.pem", "ca.key", "leaf.key", "req.cnf", "leaf.pem")
        paths = {name: work / name for name in files}
        paths["ca.pem"].write_bytes(self.root.cert_pem.bytes())
        paths["ca.key"].write_bytes(self.root.private_key_pem.bytes())
        paths["leaf.key"].write_bytes(_key_pem(key))
        # A config of our own, so the system's openssl.cnf adds no CA:TRUE or other extensions.
        paths["req.cnf"].write_text(
            f"[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nO = {_ORGANIZATION}\n"
            "CN = SHA-1 leaf\n"
        )
        san = ",".join(("IP:" if is_address(h) else "DNS:") + h for h in hostnames)
        command = [
            openssl, "req", "-new", "-x509", "-sha1",
            "-config", str(paths["req.cnf"]),
            "-key", str(paths["leaf.key"]),
            "-CA", str(paths["ca.pem"]), "-CAkey", str(paths["ca.key"]),
            "-days", str(_LIFETIME.days),
            "-addext", f"subjectAltName=critical,{san}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
            "-out", str(paths["leaf.pem"]),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CertificateError(
                f"sha1-signature: `openssl req -x509 -sha1` failed ({done.returncode}):"
                f" {done.stderr.strip() or 'no message'}"
            )
        paths["ca.key"].unlink()
        return Issued(paths["leaf.pem"].read_bytes(), _key_pem(key), hostnames)


def _leaf_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    hostnames: tuple[str, ...],
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(h)) if is_address(h) else x509.DNSName(h)
        for h in hostnames
    ]
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.SubjectAlternativeName(names), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _root_key(ca: trustme.CA) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise CertificateError(f"trustme made a {type(key).__name__} root key; expected EC or RSA")
    return key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
