"""The ``expect:`` section, validated into :class:`harness.verdicts.spec.Expectations`.

Keys are kebab-case, as the verdict report names the expectations::

    expect:
      delivered: once
      attempts: {min: 3, max: 6}
      backoff: {initial_s: 0.1, factor: 2.0, jitter: full}
      closes-after-421: true

A ``true`` asks for the check; ``false`` or leaving the key out does not check it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from harness.model._base import Count, PositiveCount, Seconds, Strict
from harness.verdicts.spec import (
    AttemptBounds,
    BackoffPolicy,
    ClientExit,
    Delivered,
    Expectations,
    HerdSpec,
    Jitter,
)

Name = Literal[
    "delivered",
    "attempts",
    "backoff",
    "backoff.floor",
    "backoff.growth",
    "backoff.cap",
    "backoff.envelope",
    "no-retry-after-permanent",
    "closes-after-421",
    "gives-up-within",
    "client-exit",
    "refuses-bad-certificate",
    "no-plaintext-fallback",
    "no-plaintext-auth",
    "discards-injected-responses",
    "re-ehlo-after-starttls",
    "waits-for-ehlo-after-starttls",
    "no-pipelining-after-starttls",
    "herd-disperses",
    "resets-backoff",
    "attempt-budget",
]
"""The names of the expectations, as written here, in ``relax:`` and in reports; ``backoff``
relaxes all four backoff checks, ``backoff.growth`` (and the others) just one."""


class AttemptBoundsField(Strict):
    """``min <= attempts <= max``; either bound may be left out."""

    min: Count | None = None
    max: PositiveCount | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AttemptBoundsField:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise PydanticCustomError(
                "scenario",
                "expected max >= min ({min}), got {got}",
                {"field": "max", "min": self.min, "got": self.max},
            )
        return self


class Backoff(Strict):
    """A declared retry policy: the delay before retry n is drawn by ``jitter`` from
    ``min(cap_s, initial_s * factor ** (n - 1))``."""

    initial_s: Seconds = Field(description="The delay before the first retry, in seconds.")
    factor: float = Field(
        default=2.0, strict=True, ge=1, description="Growth of the delay per retry."
    )
    cap_s: Seconds | None = Field(default=None, description="The largest delay, in seconds.")
    jitter: Jitter = Field(
        default="none", description="How the delay is randomised (AWS 2015 names)."
    )

    @model_validator(mode="after")
    def _cap_above_initial(self) -> Backoff:
        if self.cap_s is not None and self.cap_s < self.initial_s:
            raise PydanticCustomError(
                "scenario",
                "expected cap_s >= initial_s ({initial}), got {got}",
                {"field": "cap_s", "initial": self.initial_s, "got": self.cap_s},
            )
        return self


class Herd(Strict):
    """C6: the delay every client would sleep before the retry after the synchronised
    failure, were there no jitter."""

    delay_s: Seconds = Field(
        gt=0, description="The no-jitter delay before the retry after the herd's failure.")


def _check(value: bool | None) -> bool | None:
    return True if value else None


class Expect(Strict):
    """What the client must do; every key is optional."""

    delivered: Delivered | None = Field(
        default=None,
        description="How many copies of the message must arrive: once, at-least-once,"
        " at-most-once (refusing is safe), never.",
    )
    attempts: PositiveCount | AttemptBoundsField | None = Field(
        default=None, description="Connections the client makes: an exact number or {min, max}."
    )
    backoff: Literal["increasing"] | Backoff | None = Field(
        default=None,
        description="'increasing', or the declared policy {initial_s, factor, cap_s, jitter}.",
    )
    no_retry_after_permanent: StrictBool | None = Field(
        default=None,
        alias="no-retry-after-permanent",
        description="No new attempt after a 5yz reply (RFC 5321 §4.2.1).",
    )
    closes_after_421: StrictBool | None = Field(
        default=None,
        alias="closes-after-421",
        description="No further command on a connection after 421 (RFC 5321 §3.8).",
    )
    gives_up_within: Seconds | None = Field(
        default=None,
        gt=0,
        alias="gives-up-within",
        description="Seconds from the first attempt by which the client has stopped.",
    )
    client_exit: ClientExit | None = Field(
        default=None,
        alias="client-exit",
        description="The client command's exit status: zero, non-zero, matches-delivery"
        " (zero exactly when the message was accepted).",
    )
    refuses_bad_certificate: StrictBool | None = Field(
        default=None,
        alias="refuses-bad-certificate",
        description="The client aborts the TLS handshake with a certificate it cannot verify.",
    )
    no_plaintext_fallback: StrictBool | None = Field(
        default=None,
        alias="no-plaintext-fallback",
        description="After a failed STARTTLS or handshake, nothing is sent in clear.",
    )
    no_plaintext_auth: StrictBool | None = Field(
        default=None, alias="no-plaintext-auth", description="AUTH is never sent before TLS."
    )
    discards_injected_responses: StrictBool | None = Field(
        default=None,
        alias="discards-injected-responses",
        description="Bytes pipelined after '220 Ready to start TLS' are ignored (RFC 3207 §4.2).",
    )
    re_ehlo_after_starttls: StrictBool | None = Field(
        default=None,
        alias="re-ehlo-after-starttls",
        description="EHLO is sent again after the handshake (RFC 3207 §4.2).",
    )
    waits_for_ehlo_after_starttls: StrictBool | None = Field(
        default=None,
        alias="waits-for-ehlo-after-starttls",
        description="No AUTH or mail command while the EHLO after the handshake is"
        " unanswered (RFC 3207 §4.2).",
    )
    no_pipelining_after_starttls: StrictBool | None = Field(
        default=None,
        alias="no-pipelining-after-starttls",
        description="Nothing is sent after STARTTLS before the handshake (RFC 2920 §3.1).",
    )
    herd_disperses: StrictBool | Herd | None = Field(
        default=None,
        alias="herd-disperses",
        description="Clients that failed at one instant retry apart (jitter): true, or"
        " {delay_s} to declare the no-jitter delay (a deviation then).",
    )
    resets_backoff: StrictBool | None = Field(
        default=None,
        alias="resets-backoff",
        description="After a delivery, the next failures start from the initial delay again.",
    )
    attempt_budget: PositiveCount | None = Field(
        default=None,
        alias="attempt-budget",
        description="Connections one message may take, every retry layer together.",
    )
    refused: PositiveCount | None = Field(
        default=None,
        description="Of the scenario's messages, how many the server refuses for good (a"
        " 5yz): none of them may arrive, every other one must.",
    )
    relax: tuple[Name, ...] = Field(
        default=(), description="Deviation-level expectations this scenario accepts as advisory."
    )
    opportunistic: StrictBool = Field(
        default=False,
        description="The client is an opportunistic MTA (RFC 7435): delivering over a bad"
        " certificate is reported as advisory.",
    )

    def to_spec(self) -> Expectations:
        """The verdicts' view of this section."""
        attempts = self.attempts
        bounds = (
            AttemptBounds(attempts, attempts)
            if isinstance(attempts, int)
            else AttemptBounds(attempts.min, attempts.max)
            if attempts is not None
            else None
        )
        backoff = self.backoff
        policy = (
            BackoffPolicy(backoff.initial_s, backoff.factor, backoff.cap_s, backoff.jitter)
            if isinstance(backoff, Backoff)
            else backoff
        )
        return Expectations(
            delivered=self.delivered,
            attempts=bounds,
            backoff=policy,
            no_retry_after_permanent=_check(self.no_retry_after_permanent),
            closes_after_421=_check(self.closes_after_421),
            gives_up_within_s=self.gives_up_within,
            client_exit=self.client_exit,
            refuses_bad_certificate=_check(self.refuses_bad_certificate),
            no_plaintext_fallback=_check(self.no_plaintext_fallback),
            no_plaintext_auth=_check(self.no_plaintext_auth),
            discards_injected_responses=_check(self.discards_injected_responses),
            re_ehlo_after_starttls=_check(self.re_ehlo_after_starttls),
            waits_for_ehlo_after_starttls=_check(self.waits_for_ehlo_after_starttls),
            no_pipelining_after_starttls=_check(self.no_pipelining_after_starttls),
            herd_disperses=(
                HerdSpec(self.herd_disperses.delay_s) if isinstance(self.herd_disperses, Herd)
                else HerdSpec() if self.herd_disperses else None),
            resets_backoff=_check(self.resets_backoff),
            attempt_budget=self.attempt_budget,
            refused=self.refused or 0,
            relax=frozenset(self.relax),
            opportunistic=self.opportunistic,
        )
