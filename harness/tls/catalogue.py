"""The catalogue: variants built on first use, kept for the life of the process.

Building a variant means issuing it, writing its PEM files and proving it can be served
here: one in-memory handshake against the permissive client. A variant this OpenSSL cannot
serve raises ``CertificateError`` with the reason, every time it is asked for.
"""

from __future__ import annotations

import difflib
import os
import shutil
import ssl
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.errors import CertificateError, UnknownCertificate
from harness.tls.contexts import handshake_in_memory, permissive_client_context
from harness.tls.forge import Forge
from harness.tls.model import ServerCertificate
from harness.tls.variants import VARIANTS, Variant


class CertificateCatalogue(Mapping[str, ServerCertificate]):
    """Every named variant; a ``Mapping`` from name to ``ServerCertificate``.

    Safe to share between threads. Without ``directory`` the files go to a fresh temporary
    directory, removed when the catalogue and every certificate from it are gone.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._workdir = _Workdir(directory)
        self.directory = self._workdir.path
        self._lock = threading.Lock()
        self._forge: Forge | None = None
        self._built: dict[str, ServerCertificate] = {}
        self._failed: dict[str, str] = {}

    def names(self) -> tuple[str, ...]:
        """The variant names, controls first."""
        return tuple(VARIANTS)

    def __getitem__(self, name: str) -> ServerCertificate:
        built = self._built.get(name)
        if built is not None:
            return built
        if name not in VARIANTS:
            raise UnknownCertificate(_unknown(name))
        with self._lock:
            if name not in self._built and name not in self._failed:
                try:
                    self._built[name] = self._build(VARIANTS[name])
                except CertificateError as error:
                    self._failed[name] = str(error)
            if name in self._failed:
                raise CertificateError(self._failed[name])
            return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(VARIANTS)

    def __len__(self) -> int:
        return len(VARIANTS)

    def __contains__(self, name: object) -> bool:
        return name in VARIANTS

    def _build(self, variant: Variant) -> ServerCertificate:
        if self._forge is None:
            self._forge = Forge(self.directory)
        issued = variant.issue(self._forge)
        chain_file = self.directory / f"{variant.name}.chain.pem"
        key_file = self.directory / f"{variant.name}.key.pem"
        chain_file.write_bytes(issued.chain_pem)
        key_file.write_bytes(issued.key_pem)
        cert = ServerCertificate(
            name=variant.name,
            description=variant.description,
            reference=variant.reference,
            handling=variant.handling,
            level=variant.level,
            hostnames=issued.hostnames,
            cert_chain_file=chain_file,
            key_file=key_file,
            cafile=self._forge.cafile,
            refusal=variant.refusal,
            ip_refusal=variant.ip_refusal,
            security_level=variant.security_level,
            tls_versions=variant.tls_versions,
            _owner=self._workdir,
        )
        try:
            handshake_in_memory(cert.server_context(), permissive_client_context(), "localhost")
        except ssl.SSLError as error:
            raise CertificateError(
                f"{variant.name}: {ssl.OPENSSL_VERSION} cannot serve this variant even to a"
                f" client that accepts anything: {error}"
            ) from error
        return cert


class _Workdir:
    """Owns the temporary directory; certificates hold it so their files outlive the catalogue."""

    def __init__(self, directory: Path | None) -> None:
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory
            return
        self.path = Path(tempfile.mkdtemp(prefix="smtp-fault-harness-tls-"))
        weakref.finalize(self, _remove, self.path, os.getpid())


def _remove(path: Path, owner_pid: int) -> None:
    # A forked child inherits the finalizer; only the process that made the files removes them.
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, VARIANTS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no certificate variant {name!r}; {hint}valid names: {', '.join(VARIANTS)}"


_default: CertificateCatalogue | None = None
_default_pid = 0
_default_lock = threading.Lock()


def catalogue() -> CertificateCatalogue:
    """The process's shared catalogue; a forked child gets its own on first use."""
    global _default, _default_pid
    current = _default
    if current is not None and _default_pid == os.getpid():
        return current
    with _default_lock:
        if _default is None or _default_pid != os.getpid():
            _default, _default_pid = CertificateCatalogue(), os.getpid()
        return _default


def certificate(name: str) -> ServerCertificate:
    """The variant called ``name`` from the shared catalogue, built on first use.

    Raises ``UnknownCertificate`` (listing the valid names) for a name not in the
    catalogue, and ``CertificateError`` when this machine cannot build the variant.
    """
    return catalogue()[name]


def names() -> tuple[str, ...]:
    """Every variant name, controls first."""
    return tuple(VARIANTS)
