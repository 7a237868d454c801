"""``ssl`` contexts: the server side of a variant, and a deliberately broken client.

Weak variants need OpenSSL's security level lowered to 0 on the side that must tolerate
them: at the default level a server refuses to load an RSA-1024 key (``EE_KEY_TOO_SMALL``)
or a SHA-1-signed certificate (``CA_MD_TOO_WEAK``), and TLS 1.0/1.1 handshakes need SHA-1.
"""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path


def server_context(
    cert_chain_file: Path,
    key_file: Path,
    *,
    security_level: int | None = None,
    tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
) -> ssl.SSLContext:
    """A server context presenting the chain, lowered only as far as the variant needs."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if security_level is not None:
        ctx.set_ciphers(f"DEFAULT:@SECLEVEL={security_level}")
    if tls_versions is not None:
        _set_versions(ctx, *tls_versions)
    ctx.load_cert_chain(cert_chain_file, key_file)
    return ctx


def permissive_client_context() -> ssl.SSLContext:
    """The client that gets every certificate check wrong: no verification, no name check,
    TLS 1.0 and weak keys allowed.

    It exists to show what a broken client looks like against the catalogue (it completes
    the handshake with every variant); never use it to send real mail.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT  # set by default from Python 3.13
    _set_versions(ctx, ssl.TLSVersion.TLSv1, ssl.TLSVersion.MAXIMUM_SUPPORTED)
    return ctx


def handshake_in_memory(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> str:
    """Run one handshake through memory buffers, no socket; return the negotiated version.

    Used at build time to prove that this OpenSSL can really serve a legacy variant.
    Raises ``ssl.SSLError`` as a socket handshake would.
    """
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(c_in, c_out, server_hostname=host)
    server_side = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(8):  # a TLS 1.0-1.3 handshake needs at most three flights each way
        pending = False
        for side in (client_side, server_side):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pending = True
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if not pending:
            return client_side.version() or ""
    raise ssl.SSLError("the in-memory handshake did not finish")


def _set_versions(ctx: ssl.SSLContext, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion) -> None:
    # Python deprecates naming TLS 1.0/1.1 and warns on every assignment; these contexts
    # name them on purpose. The filter is scoped to exactly that warning (catch_warnings
    # swaps process-wide state for these two assignments only).
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", r"ssl\.TLSVersion\.TLSv1(_1)? is deprecated", DeprecationWarning
        )
        ctx.minimum_version = minimum
        ctx.maximum_version = maximum
