"""Broken: pipelines EHLO right after STARTTLS, in the same write, before the TLS
handshake (RFC 2920 §3.1: STARTTLS must end a pipelined group; RFC 3207 §4.2). A server
with the CVE-2011-0411 bug would answer those bytes inside TLS as if they came from it.
Without TLS it behaves like the correct client."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import sys

from harness.clients import Target
from tests.clients._common import (
    RECIPIENT,
    SENDER,
    Behaviour,
    Policy,
    context,
    main,
    send_once,
    send_with_retries,
)

POLICY = Policy()
BEHAVIOUR = Behaviour()


class PipeliningSMTP(smtplib.SMTP):
    """smtplib, but STARTTLS and the next EHLO leave in one write."""

    def starttls(self, *, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
        assert context is not None
        self.ehlo_or_helo_if_needed()
        self.send("STARTTLS\r\nEHLO zoo\r\n")
        code, reply = self.getreply()
        if code != 220:
            raise smtplib.SMTPResponseException(code, reply)
        self.sock = context.wrap_socket(self.sock, server_hostname=self._host)
        self.file = None
        self.helo_resp = self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        self.getreply()  # the pipelined EHLO's reply, now inside TLS
        return code, reply


def once(target: Target, data: bytes, policy: Policy, behaviour: Behaviour,
         state: dict[str, bool]) -> None:
    if target.tls != "starttls":
        send_once(target, data, policy, behaviour, state)
        return
    smtp = PipeliningSMTP(target.host, target.port, local_hostname="zoo",
                          timeout=policy.timeout_s)
    try:
        smtp.ehlo()
        smtp.starttls(context=context(target, behaviour))
        smtp.ehlo()
        smtp.sendmail(SENDER, [RECIPIENT], data)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR, once=once)


if __name__ == "__main__":
    sys.exit(main(send))
