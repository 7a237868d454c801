"""Every variant over a real socket: verifying clients refuse for the right reason, broken
clients accept, and each refusal has a control twin that passes once the fault is lifted."""

from __future__ import annotations

import ssl

import pytest

from harness.tls import CertificateHandling, names, permissive_client_context
from tests.tls.echo import echo_server, exchange, has_ipv6_loopback, pem_certificates, variant

IPV6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
# (the name the client verifies, the address it connects to)
REACHED_AS = [
    pytest.param("localhost", "127.0.0.1", id="localhost"),
    pytest.param("127.0.0.1", "127.0.0.1", id="127.0.0.1"),
    pytest.param("::1", "::1", id="::1", marks=IPV6),
]


def verifying_client(cafile: object) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile))


@pytest.mark.parametrize(("host", "address"), REACHED_AS)
@pytest.mark.parametrize("name", names())
def test_a_verifying_client_does_what_the_variant_expects(
    name: str, host: str, address: str
) -> None:
    cert = variant(name)
    client = verifying_client(cert.cafile)
    with echo_server(cert.server_context(), address) as server:
        if cert.handling is CertificateHandling.ACCEPT:
            assert exchange(server.port, client, host, address) == ("TLSv1.3", b"ping\r\n")
            refusal = None
        else:
            refusal = cert.expected_refusal(host)
            assert refusal is not None
            with pytest.raises(ssl.SSLError) as caught:
                exchange(server.port, client, host, address)
    assert server.done.is_set()
    if refusal is None:
        assert server.error is None
        return
    error = caught.value
    assert server.error is not None, "the server must see the handshake fail too"
    if refusal.verify_code is None:
        assert not isinstance(error, ssl.SSLCertVerificationError)
        assert error.reason == refusal.reason
    else:
        assert isinstance(error, ssl.SSLCertVerificationError)
        assert error.verify_code == refusal.verify_code
        assert error.verify_message.startswith(refusal.reason)


@pytest.mark.parametrize("name", names())
def test_a_client_that_checks_nothing_accepts_every_variant(name: str) -> None:
    cert = variant(name)
    with echo_server(cert.server_context()) as server:
        version, echoed = exchange(server.port, permissive_client_context(), "localhost")
    assert echoed == b"ping\r\n"
    assert server.error is None
    assert version == ("TLSv1.1" if name == "tls1.0-only" else "TLSv1.3")


def test_the_default_client_without_verification_still_refuses_tls10() -> None:
    """Turning verification off is not enough to talk to a TLS 1.0 server: the protocol
    floor is a separate setting, which is why the catalogue ships a permissive client."""
    cert = variant("tls1.0-only")
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    with echo_server(cert.server_context()) as server, pytest.raises(ssl.SSLError) as caught:
        exchange(server.port, client, "localhost")
    assert caught.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION"


# Control twins: lift exactly the fault and the same verifying client accepts, so each
# refusal above is caused by the fault and nothing else in the certificate.


def test_wrong_host_is_accepted_under_its_own_name() -> None:
    cert = variant("wrong-host")
    with echo_server(cert.server_context()) as server:
        version, _ = exchange(server.port, verifying_client(cert.cafile), "wrong.host.example")
    assert version == "TLSv1.3"


def test_self_signed_is_accepted_by_a_client_that_trusts_the_leaf_itself() -> None:
    cert = variant("self-signed")
    with echo_server(cert.server_context()) as server:
        version, _ = exchange(server.port, verifying_client(cert.cert_chain_file), "localhost")
    assert version == "TLSv1.3"


def test_incomplete_chain_is_accepted_once_the_client_holds_the_intermediate() -> None:
    cert = variant("incomplete-chain")
    _, intermediate = pem_certificates(variant("valid-intermediate").cert_chain_file)
    client = verifying_client(cert.cafile)
    client.load_verify_locations(cadata=intermediate)
    with echo_server(cert.server_context()) as server:
        version, _ = exchange(server.port, client, "localhost")
    assert version == "TLSv1.3"


def test_wildcard_mismatch_also_fails_two_labels_down() -> None:
    cert = variant("wildcard-mismatch")
    with echo_server(cert.server_context()) as server, pytest.raises(
        ssl.SSLCertVerificationError
    ) as caught:
        exchange(server.port, verifying_client(cert.cafile), "a.b.localhost")
    assert caught.value.verify_code == 62


@pytest.mark.parametrize("name", ["weak-key", "sha1-signature"])
def test_weak_crypto_is_accepted_by_a_verifying_client_at_security_level_0(name: str) -> None:
    cert = variant(name)
    client = verifying_client(cert.cafile)
    client.set_ciphers("DEFAULT:@SECLEVEL=0")
    # Python 3.13's strict X.509 default also refuses the weak-key leaf for its missing
    # Authority Key Identifier: off here, so only the weakness is judged
    client.verify_flags &= ~ssl.VERIFY_X509_STRICT
    with echo_server(cert.server_context()) as server:
        version, _ = exchange(server.port, client, "localhost")
    assert version == "TLSv1.3"


def test_tls10_only_is_accepted_by_a_verifying_client_that_allows_tls10() -> None:
    cert = variant("tls1.0-only")
    client = permissive_client_context()  # TLS 1.0 floor and @SECLEVEL=0 ...
    client.load_verify_locations(cert.cafile)
    client.check_hostname = True  # ... but verifying, so only the protocol is at fault
    client.verify_mode = ssl.CERT_REQUIRED
    with echo_server(cert.server_context()) as server:
        version, _ = exchange(server.port, client, "localhost")
    assert version == "TLSv1.1"
