"""The catalogue itself: names, metadata, the files on disk, caching, errors."""

from __future__ import annotations

import datetime
import gc
import shutil
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.errors import CertificateError, HarnessError, UnknownCertificate
from harness.tls import (
    LOOPBACK,
    CertificateCatalogue,
    CertificateHandling,
    ServerCertificate,
    catalogue,
    certificate,
    names,
)
from tests.tls.echo import pem_certificates, variant

NAMES = (
    "valid", "valid-intermediate", "expired", "not-yet-valid", "wrong-host", "self-signed",
    "untrusted-root", "incomplete-chain", "wildcard-mismatch", "weak-key", "sha1-signature",
    "tls1.0-only",
)  # fmt: skip
CONTROLS = {"valid", "valid-intermediate"}


def leaf(cert: ServerCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem_certificates(cert.cert_chain_file)[0].encode())


def test_the_names_are_the_documented_ones_controls_first() -> None:
    assert names() == NAMES
    assert catalogue().names() == NAMES
    assert tuple(catalogue()) == NAMES
    assert len(catalogue()) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_variant_says_what_a_correct_client_does_and_why(name: str) -> None:
    cert = variant(name)
    assert cert.name == name
    assert "correct client" in cert.description
    assert cert.reference.startswith("RFC ")
    wanted = CertificateHandling.ACCEPT if name in CONTROLS else CertificateHandling.REFUSE
    assert cert.handling is wanted
    assert (cert.refusal is None) == (name in CONTROLS)
    assert cert.level == ("deviation" if name in {"weak-key", "sha1-signature", "tls1.0-only"}
                          else "violation")  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_every_variant_is_written_to_disk_and_trusts_the_same_root(name: str) -> None:
    cert = variant(name)
    assert cert.cert_chain_file.is_file()
    assert cert.key_file.is_file()
    assert cert.cafile == certificate("valid").cafile
    root = x509.load_pem_x509_certificate(cert.cafile.read_bytes())
    assert root.subject != leaf(cert).subject


def test_valid_covers_every_loopback_name() -> None:
    assert variant("valid").hostnames == LOOPBACK
    san = leaf(variant("valid")).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1", "::1"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "count"),
    [("valid", 1), ("valid-intermediate", 2), ("incomplete-chain", 1), ("untrusted-root", 2)],
)
def test_the_chain_the_server_sends(name: str, count: int) -> None:
    assert len(pem_certificates(variant(name).cert_chain_file)) == count


def test_the_incomplete_chain_leaf_comes_from_the_intermediate() -> None:
    sent = leaf(variant("incomplete-chain"))
    intermediate = pem_certificates(variant("valid-intermediate").cert_chain_file)[1]
    assert sent.issuer == x509.load_pem_x509_certificate(intermediate.encode()).subject


def test_the_validity_windows() -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    assert leaf(variant("expired")).not_valid_after_utc < now
    assert leaf(variant("not-yet-valid")).not_valid_before_utc > now


def test_the_weak_variants_are_weak_in_the_way_they_claim() -> None:
    key = leaf(variant("weak-key")).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 1024
    assert isinstance(leaf(variant("sha1-signature")).signature_hash_algorithm, hashes.SHA1)
    assert isinstance(leaf(variant("valid")).signature_hash_algorithm, hashes.SHA256)
    assert variant("tls1.0-only").tls_versions is not None
    assert variant("valid").security_level is None


def test_the_self_signed_leaf_is_its_own_issuer() -> None:
    cert = leaf(variant("self-signed"))
    assert cert.issuer == cert.subject


def test_the_shared_catalogue_is_built_once() -> None:
    first = certificate("valid")
    assert catalogue() is catalogue()
    assert certificate("valid") is first
    assert catalogue()["valid"] is first
    assert first.server_context() is not first.server_context()  # one context per attempt


def test_a_catalogue_of_its_own_writes_where_it_is_told(tmp_path: Path) -> None:
    own = CertificateCatalogue(tmp_path)
    cert = own["expired"]
    assert cert.cert_chain_file.parent == tmp_path
    assert cert is not certificate("expired")
    assert own["expired"] is cert


def test_threads_asking_at_once_get_the_same_certificate(tmp_path: Path) -> None:
    own = CertificateCatalogue(tmp_path)
    start = threading.Barrier(8)
    got: list[ServerCertificate] = []

    def ask() -> None:
        start.wait()
        got.append(own["valid-intermediate"])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8
    assert all(cert is got[0] for cert in got)


def test_the_temporary_files_live_as_long_as_a_certificate_does() -> None:
    own = CertificateCatalogue()
    cert = own["valid"]
    directory = own.directory
    del own
    gc.collect()
    assert cert.cert_chain_file.is_file()
    del cert
    gc.collect()
    assert not directory.exists()


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownCertificate) as caught:
        certificate("expird")
    message = str(caught.value)
    assert message.startswith("no certificate variant 'expird'; did you mean 'expired'?")
    assert all(name in message for name in NAMES)
    assert isinstance(caught.value, HarnessError)
    assert isinstance(caught.value, KeyError)
    assert catalogue().get("expird") is None
    assert "expird" not in catalogue()


def test_a_variant_this_machine_cannot_build_says_why_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)
    own = CertificateCatalogue(tmp_path)
    for _ in range(2):
        with pytest.raises(CertificateError, match="needs the `openssl` command"):
            own["sha1-signature"]
    assert own["valid"].name == "valid"
