"""What every client of the zoo shares: one message, a retry loop, a command line.

The correct loop (:func:`send_with_retries`) retries transient failures with capped
exponential backoff and equal jitter, stops at a permanent failure, gives up after
``max_attempts``, times out every command, requires TLS when the server offers it and
verifies the certificate, counts a message as delivered once the final dot got a 2yz,
and logs in only over TLS. Each broken client changes exactly one of those decisions
through the hooks of :class:`Behaviour`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import smtplib
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any, Literal

from harness.clients import Target
from harness.examples import client as bundled
from harness.examples.client import log_in

SENDER = "app@zoo.example"
RECIPIENT = "user@zoo.example"
CREDENTIALS = ("user", "secret")  # what the starttls-auth-before-tls scenario accepts
SAFETY_ATTEMPTS = 12
"""The test suite's own bound for the clients whose bug is to retry without end: the real
bug has none, but a client thread that never stops would outlive the test."""

Failure = Literal["transient", "permanent"]


@dataclass(frozen=True)
class Policy:
    """The retry policy a client declares (and, unless broken, follows)."""

    initial_s: float = 0.005
    factor: float = 2.0
    cap_s: float = 0.04
    max_attempts: int = 6
    timeout_s: float = 0.5


class Permanent(Exception):
    """A failure retrying cannot fix: a 5yz, a certificate that does not verify, no TLS."""


@dataclass(frozen=True)
class Behaviour:
    """The decisions a client makes; the defaults are the correct ones."""

    attempts_unbounded: bool = False           # ignore max_attempts
    retry_permanent: bool = False              # treat 5yz as transient
    wait: bool = True                          # sleep between attempts
    give_up_first: bool = False                # never retry
    reset_after_data: bool = False             # restart the count when DATA was sent
    verify_certificate: bool = True
    require_tls: bool = True                   # when the target is a TLS server
    auth_before_tls: bool = False
    timeout: bool = True
    constant_delay_s: float | None = None      # the same delay before every retry
    new_message_id: bool = False               # build the message again for each attempt
    retry_auth_failure: bool = False           # a 5yz to AUTH taken as transient
    auth_failure_permanent: bool = False       # any failed login taken as wrong credentials
    log_in_once: bool = False                  # "logged in" kept across reconnections
    wait_for_ehlo_after_tls: bool = True       # else go on with the pre-TLS capabilities


def message(message_id: str | None = None) -> bytes:
    mid = message_id or f"<{uuid.uuid4()}@zoo.example>"
    return (
        f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: zoo\r\nMessage-ID: {mid}\r\n\r\n"
        "Sent by a client of the test zoo.\r\n"
    ).encode()


def workload(target: Target) -> list[EmailMessage]:
    """The messages a scenario asks one instance for (``{messages}``), each distinct."""
    return [bundled.build_message(SENDER, [RECIPIENT], f"message {n}, client {target.client}")
            for n in range(1, target.messages + 1)]


def send_workload(target: Target, policy: bundled.Policy, backoff: bundled.Backoff | None = None,
                  pool: type[bundled.Pool] = bundled.Pool) -> int:
    """The clients built on the bundled client: its pool and retries, with one part
    changed (``backoff``, ``pool``); raises when a message was not sent."""
    messages = workload(target)
    connection = pool(target.host, target.port, policy, tls=target.tls, cafile=target.cafile)
    if bundled.send_all(connection, messages, backoff):
        raise ConnectionError("some messages were not sent")
    return len(messages)


def context(target: Target, behaviour: Behaviour) -> ssl.SSLContext | None:
    """The TLS context (None without TLS); built once per CA file, as a real client would."""
    if target.tls == "none":
        return None
    return _context(target.cafile, behaviour.verify_certificate)


@functools.lru_cache(maxsize=8)
def _context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cafile or None)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def credentials(target: Target) -> tuple[str, str]:
    """The account the scenario hands out, else the one the zoo's own scenarios accept."""
    return (target.user, target.password) if target.user else CREDENTIALS


def classify(error: BaseException) -> Failure:
    """Transient or permanent, by the reply code's first digit (RFC 5321 §4.2.1)."""
    if isinstance(error, Permanent | ssl.SSLCertVerificationError):
        return "permanent"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "permanent" if codes and all(c // 100 == 5 for c in codes) else "transient"
    if isinstance(error, smtplib.SMTPResponseException):
        return "permanent" if error.smtp_code // 100 == 5 else "transient"
    return "transient"


def greet(smtp: smtplib.SMTP) -> None:
    """EHLO, and HELO only when EHLO is not understood. smtplib's own
    ``ehlo_or_helo_if_needed`` also falls back to HELO after a 4yz, even after 421, which
    closed the channel (RFC 5321 §3.8; simplesmtp#50): a property test found that."""
    code, reply = smtp.ehlo()
    if code // 100 == 4:
        raise smtplib.SMTPHeloError(code, reply)
    if code // 100 != 2:
        code, reply = smtp.helo()
        if code // 100 != 2:
            raise smtplib.SMTPHeloError(code, reply)


def impatient_ehlo(smtp: smtplib.SMTP, known: dict[str, str], wait_s: float) -> None:
    """EHLO, waiting ``wait_s`` at most for the reply; without one, carry on with ``known``,
    the capabilities from before TLS (the bug RFC 3207 §4.2 rules out)."""
    assert smtp.sock is not None
    smtp.putcmd("ehlo", smtp.local_hostname)
    timeout = smtp.sock.gettimeout()
    smtp.sock.settimeout(wait_s)
    reader = smtp.sock.makefile("rb")
    try:
        lines = [reader.readline()]
    except TimeoutError:  # that reader is spent: smtplib makes itself a new one
        smtp.esmtp_features, smtp.does_esmtp = dict(known), True
        return
    finally:
        smtp.sock.settimeout(timeout)
    while lines[-1][3:4] == b"-":
        lines.append(reader.readline())
    smtp.file = reader  # it may hold what came after
    smtp.does_esmtp = lines[0][:3] == b"250"
    smtp.esmtp_features = {}
    for line in lines[1:]:
        word, _, params = line[4:].decode("latin-1").strip().partition(" ")
        smtp.esmtp_features[word.lower()] = params


def send_once(target: Target, data: bytes, policy: Policy, behaviour: Behaviour,
              state: dict[str, bool]) -> None:
    """One connection: greet, secure, log in if offered (over TLS), send. A QUIT that
    fails after the 250 to the final dot does not undo the delivery."""
    timeout: Any = policy.timeout_s if behaviour.timeout else None  # None: block for ever
    ctx = context(target, behaviour)
    secured = target.tls == "implicit" and not state.get("downgraded")
    try:
        smtp = (
            smtplib.SMTP_SSL(target.host, target.port, local_hostname="zoo", timeout=timeout,
                             context=ctx)
            if secured
            else smtplib.SMTP(target.host, target.port, local_hostname="zoo", timeout=timeout)
        )
    except ssl.SSLError as error:  # the implicit-TLS handshake failed
        _note_tls_failure(error, behaviour, state)
        raise
    try:
        greet(smtp)
        logged_in = False
        if behaviour.auth_before_tls and smtp.has_extn("auth"):
            log_in(smtp, *credentials(target))
            logged_in = True
        if target.tls == "starttls" and not state.get("downgraded"):
            if smtp.has_extn("starttls"):
                known = dict(smtp.esmtp_features)
                try:
                    smtp.starttls(context=ctx)
                except smtplib.SMTPResponseException:
                    if behaviour.require_tls:
                        raise
                else:
                    if behaviour.wait_for_ehlo_after_tls:
                        smtp.ehlo()
                    else:
                        impatient_ehlo(smtp, known, policy.timeout_s / 5)
                    secured = True
            elif behaviour.require_tls:
                raise Permanent("the server offers no STARTTLS; not sending in clear")
        if behaviour.log_in_once and state.get("logged_in"):
            logged_in = True  # "the client is logged in": but that was another connection
        if secured and not logged_in and smtp.has_extn("auth"):
            log_in(smtp, *credentials(target))
            state["logged_in"] = True
        state["data_sent"] = False
        size = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        code, reply = smtp.mail(SENDER, size)
        if code // 100 != 2:
            raise smtplib.SMTPSenderRefused(code, reply, SENDER)
        code, reply = smtp.rcpt(RECIPIENT)
        if code // 100 != 2:
            raise smtplib.SMTPRecipientsRefused({RECIPIENT: (code, reply)})
        state["data_sent"] = True
        code, reply = smtp.data(data)  # data() returns the final reply: it does not raise
        if code // 100 != 2:
            raise smtplib.SMTPDataError(code, reply)
    except ssl.SSLError as error:
        _note_tls_failure(error, behaviour, state)
        raise
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()


def _note_tls_failure(error: ssl.SSLError, behaviour: Behaviour,
                      state: dict[str, bool]) -> None:
    if not behaviour.require_tls and not isinstance(error, ssl.SSLCertVerificationError):
        state["downgraded"] = True  # "TLS is broken here: next time, without it"


def send_with_retries(target: Target, policy: Policy = Policy(),
                      behaviour: Behaviour = Behaviour(),
                      rng: random.Random | None = None,
                      once: Callable[..., None] = send_once) -> int:
    """Deliver one message; returns the attempts it took. Raises :class:`Permanent` or
    the last transient error when it gives up."""
    rng = rng or random.Random()
    data = message()
    attempt = 0
    counted = 0
    state: dict[str, bool] = {}
    while True:
        attempt += 1
        counted += 1
        if behaviour.new_message_id and attempt > 1:
            data = message()
        try:
            once(target, data, policy, behaviour, state)
            return attempt
        except (OSError, smtplib.SMTPException, Permanent) as error:
            failure = classify(error)
            if isinstance(error, smtplib.SMTPAuthenticationError):
                if behaviour.retry_auth_failure:
                    failure = "transient"  # "the server is having trouble": penn-clubs#699
                if behaviour.auth_failure_permanent:
                    failure = "permanent"  # "the password is wrong": MailKit#1106
            if failure == "permanent" and not behaviour.retry_permanent:
                raise
            if behaviour.give_up_first:
                raise
            if behaviour.reset_after_data and state.get("data_sent"):
                counted = 0  # "it got as far as DATA: the server is fine, start over"
            if counted >= policy.max_attempts and not behaviour.attempts_unbounded:
                raise
            if attempt >= SAFETY_ATTEMPTS:
                raise
        if behaviour.constant_delay_s is not None:
            time.sleep(behaviour.constant_delay_s)
        elif behaviour.wait:
            envelope = min(policy.cap_s, policy.initial_s * policy.factor ** (attempt - 1))
            time.sleep(rng.uniform(0.75 * envelope, envelope))  # within the declared equal
            # jitter [envelope/2, envelope], with a margin for the timer


def main(send: Callable[[Target], object], argv: Sequence[str] | None = None) -> int:
    """``python -m tests.clients.<name> --host H --port P [--tls MODE] [--cafile F]``; the
    workload (messages, the instance's index) from the environment the harness sets."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cafile", default="")
    args = parser.parse_args(argv)
    target = Target(args.host, args.port, tls=args.tls, cafile=args.cafile or None,
                    messages=int(os.environ.get("HARNESS_SMTP_MESSAGES") or 1),
                    client=int(os.environ.get("HARNESS_CLIENT_INDEX") or 0))
    try:
        send(target)
    except Exception as error:  # the exit status is how a command reports failure
        print(f"not sent: {error!r}", file=sys.stderr)
        return 1
    return 0


def with_policy(policy: Policy, **changes: float | int) -> Policy:
    return replace(policy, **changes)  # type: ignore[arg-type]
