"""A zoo of SMTP clients: correct ones, and broken ones with one realistic bug each.

Every module has ``send(target)`` (one message, retries included; raises when it gives
up) and runs as ``python -m tests.clients.<name> --host H --port P [--tls MODE]
[--cafile F]``. :data:`ZOO` lists them with the policy each declares.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from harness.clients import Target
from harness.properties import ClientPolicy
from harness.verdicts import BackoffPolicy
from tests.clients._common import Policy


@dataclass(frozen=True)
class Specimen:
    name: str
    bug: str | None  # None: a correct client

    @property
    def module(self) -> str:
        return f"tests.clients.{self.name}"

    @property
    def send(self) -> Callable[[Target], object]:
        function: Callable[[Target], object] = importlib.import_module(self.module).send
        return function

    def policy(self) -> ClientPolicy:
        """What the client declares: every zoo client claims the correct one's policy."""
        p: Policy = importlib.import_module(self.module).POLICY
        return ClientPolicy(
            max_attempts=p.max_attempts,
            backoff=BackoffPolicy(p.initial_s, p.factor, p.cap_s, "equal"),
            time_limit_s=5.0,
        )


ZOO = (
    Specimen("smtplib_backoff", None),
    Specimen("aiosmtplib_backoff", None),
    Specimen("never_retries", "never retries"),
    Specimen("retries_instantly", "retries instantly"),
    Specimen("constant_backoff", "waits the same 0.3 s before every retry"),
    Specimen("retries_forever", "retries forever"),
    Specimen("retries_after_550", "retries after 550"),
    Specimen("resends_after_drop", "resends after store-then-drop without limit"),
    Specimen("new_message_id", "a new Message-ID on every attempt"),
    Specimen("reuses_after_421", "continues on the same connection after 421"),
    Specimen("no_timeout", "no timeout on a silent server"),
    Specimen("accepts_any_certificate", "accepts any certificate"),
    Specimen("plaintext_fallback", "falls back to plaintext"),
    Specimen("auth_before_tls", "sends AUTH before TLS"),
    Specimen("auth_hammer", "retries the same credentials after 535"),
    Specimen("doubled_retries", "the application retries a library that retries"),
)
