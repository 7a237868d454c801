"""SMTP-over-TLS clients for the TLS tests: correct ones, and ones with one real bug each.

Each broken client reproduces a bug from the reference list: carrying on in cleartext when
STARTTLS fails (chatto#226, upyo#36), trusting bytes buffered before the handshake
(CVE-2011-0411 family), sending AUTH before TLS (subethasmtp#1).
"""

from __future__ import annotations

import smtplib
import socket
import ssl

MESSAGE = b"Message-ID: <tls@harness.test>\r\nSubject: tls\r\n\r\nover TLS\r\n"
SENDER, RECIPIENT = "sender@harness.test", "rcpt@harness.test"


def verifying(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def send_starttls(host: str, port: int, context: ssl.SSLContext, *, login: bool = False) -> None:
    """Correct: STARTTLS is required, so any failure to start it stops the send."""
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.starttls(context=context)
        if login:
            client.login("user", "secret")
        client.sendmail(SENDER, [RECIPIENT], MESSAGE)


def send_implicit(host: str, port: int, context: ssl.SSLContext) -> None:
    with smtplib.SMTP_SSL(host, port, timeout=5, context=context) as client:
        client.sendmail(SENDER, [RECIPIENT], MESSAGE)


def send_opportunistic(host: str, port: int, context: ssl.SSLContext) -> None:
    """Broken: uses TLS only when offered and working, else sends (and logs in) in clear."""
    try:
        with smtplib.SMTP(host, port, timeout=5) as client:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=context)
            client.login("user", "secret")
            client.sendmail(SENDER, [RECIPIENT], MESSAGE)
            return
    except (smtplib.SMTPException, ssl.SSLError, OSError):
        pass
    with smtplib.SMTP(host, port, timeout=5) as client:  # "fallback": try again in clear
        client.ehlo()
        client.login("user", "secret")
        client.sendmail(SENDER, [RECIPIENT], MESSAGE)


def send_auth_before_tls(host: str, port: int, context: ssl.SSLContext) -> None:
    """Broken: logs in as soon as AUTH is advertised, before STARTTLS."""
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.ehlo()
        if client.has_extn("auth"):
            client.login("user", "secret")
        client.starttls(context=context)
        client.sendmail(SENDER, [RECIPIENT], MESSAGE)


def send_restarting_tls(host: str, port: int, context: ssl.SSLContext) -> None:
    """Broken: issues STARTTLS again whenever it is advertised, even inside TLS."""
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.starttls(context=context)
        client.ehlo()
        if client.has_extn("starttls"):
            client.docmd("STARTTLS")
        client.sendmail(SENDER, [RECIPIENT], MESSAGE)


def send_trusting_buffered_replies(host: str, port: int, context: ssl.SSLContext) -> list[str]:
    """Broken: reads replies through one buffer that outlives STARTTLS, so lines injected
    in cleartext after ``220`` are taken as the answer to the post-TLS EHLO.

    Returns the capability lines it believed, and uses AUTH if it saw it.
    """
    raw = socket.create_connection((host, port), timeout=5)
    buffered = raw.makefile("rb")
    try:
        read_reply(buffered)
        raw.sendall(b"EHLO broken.test\r\n")
        read_reply(buffered)
        raw.sendall(b"STARTTLS\r\n")
        read_reply(buffered)  # 220 -- and the injected lines now sit in `buffered`
        tls = context.wrap_socket(raw, server_hostname=host)
        tls.sendall(b"EHLO broken.test\r\n")
        capabilities = read_reply(buffered)  # the bug: the stale cleartext buffer
        auth = next((line for line in capabilities if line[4:].startswith("AUTH")), None)
        if auth is not None:  # it picks the last mechanism offered
            tls.sendall(f"AUTH {auth.split()[-1]}\r\n".encode())
        tls.sendall(b"QUIT\r\n")
        while tls.recv(4096):  # read to the server's close, so no reset loses our commands
            pass
        tls.close()
        return capabilities
    finally:
        buffered.close()
        raw.close()


def read_reply(stream: socket.SocketIO | object) -> list[str]:
    lines = []
    while True:
        line = stream.readline().decode()  # type: ignore[attr-defined]
        lines.append(line.rstrip("\r\n"))
        if line[3:4] != "-":
            return lines
