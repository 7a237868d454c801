"""A non-Python client against the certificate catalogue: swaks (Debian's package).

swaks verifies the chain with ``--tls-verify``; whatever it does with each variant, the
timeline must show it, and the ``refuses-bad-certificate`` check must fail exactly when
it sent mail over a certificate that must not validate. The valid controls must deliver.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness.tls import CertificateHandling, certificate, names
from harness.verdicts.tls import refuses_bad_certificate
from tests.e2e.conftest import ServerFactory, settled

pytestmark = pytest.mark.skipif(shutil.which("swaks") is None,
                                reason="swaks is not installed (scripts/test.sh installs it)")


@pytest.mark.parametrize("path", ["starttls", "implicit"])
@pytest.mark.parametrize("name", names())
def test_swaks_against_the_catalogue(smtp_server: ServerFactory, name: str, path: str) -> None:
    variant = certificate(name)
    server = smtp_server(tls=path, certificate=name)
    completed = subprocess.run(
        ["swaks", "--server", f"{server.host}:{server.port}", "--timeout", "10",
         "--from", "sender@harness.test", "--to", "rcpt@harness.test",
         "--tls" if path == "starttls" else "--tlsc",
         "--tls-verify", "--tls-ca-path", str(variant.cafile)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    timeline = settled(server)
    (handshake,) = [e.data for e in timeline.attempt(1).of_kind("tls")
                    if e.data["event"] == "handshake"]
    delivered = len(timeline.messages) == 1
    assert delivered == (completed.returncode == 0) == bool(handshake["ok"])
    if variant.handling is CertificateHandling.ACCEPT:
        assert delivered, completed.stdout[-2000:]
    else:
        verdict = refuses_bad_certificate(timeline)
        assert verdict.status == ("failed" if delivered else "passed")
