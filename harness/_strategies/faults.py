"""Faults, per-attempt fault plans and toxics.

Plans are built so that what a correct client does with them is certain (see
:func:`harness.properties.expected_outcome`): permanent replies only where a 5yz refuses
the message, body faults early in the content, delays shorter than any sane timeout,
toxics that slow the link but break no attempt. Which kinds and toxic types exist comes
from their registries (``harness.faults.KINDS``, ``harness.chaos.TYPES``); what is drawn
by default, and where, is the client-testing knowledge kept here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, replace
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from harness import faults as f
from harness._strategies._checks import check_bool, check_int, check_strategy, check_subset
from harness._strategies.kinds import setting_values
from harness._strategies.replies import replies, reply_codes
from harness.chaos.toxic import Toxic
from harness.faults import PHASES, Fault
from harness.plan import Plan
from harness.smtp.faults.shape import Setting, settings_of

DEFAULT_KINDS = ("reply", "close", "reset", "delay", "store-then-drop")
"""Fault kinds drawn unless ``kinds`` names others (any registered kind may be named):
``hang`` costs a client timeout each, the TLS kinds need ``tls="starttls"``."""
TLS_KINDS = ("handshake-failure", "strip-starttls")
PLAIN_PHASES = ("connect", "banner", "ehlo", "mail", "rcpt", "data", "body", "dot", "quit")
TLS_PHASES = ("starttls", "tls")
PERMANENT_PHASES = ("banner", "mail", "rcpt", "data", "dot", "starttls")
"""Where a 5yz refuses the message for good; a 5yz to EHLO is answered with HELO."""
REPLY_PHASES = ("banner", "ehlo", "mail", "rcpt", "data", "dot", "quit", "starttls")
DROP_PHASES = ("connect", "banner", "ehlo", "mail", "rcpt", "data", "body", "dot", "quit",
               "starttls")
BODY_MAX_BYTES = 64
"""Body faults fire within the first 64 bytes of content: every message has more."""
MAX_DELAY_S = 0.02
TOXIC_TYPES = ("latency", "reset_peer", "limit_data", "slicer", "slow_close", "bandwidth")
GENTLE_TOXICS = ("latency", "slicer", "slow_close", "bandwidth")
"""What ``fault_plans(network=True)`` draws, downstream only: toxics that slow the link
from the server to the client but break no attempt, so a plan's expected outcome is still
its faults' alone, and the server sees each attempt end no later than the client does (an
upstream delay would make a retry look earlier than it was)."""
_DRAWN_AT: dict[str, tuple[str, ...]] = {
    "reply": REPLY_PHASES,
    "close": DROP_PHASES,
    "reset": DROP_PHASES,
    "hang": tuple(p for p in DROP_PHASES if p != "quit"),
    "delay": tuple(p for p in PHASES if p != "connect"),
}
"""Where a kind is drawn, when narrower than where it can fire (its ``phases``)."""


@st.composite
def faults(draw: st.DrawFn, *, phases: Iterable[str] | None = None,
           kinds: Iterable[str] | None = None, transient_only: bool = False,
           attempts: SearchStrategy[int] | None = None) -> Fault:
    """One :mod:`harness.faults` object, on one attempt drawn from ``attempts`` (default
    1 to 3), at one of ``phases``, of one of ``kinds`` (default: reply, close, reset,
    delay, store-then-drop; add ``hang`` and the TLS kinds by naming them).

    With ``transient_only``, replies are 4yz; otherwise 5yz come up where they refuse
    the message (greeting, MAIL, RCPT, DATA, final dot).
    """
    check_bool("transient_only", transient_only)
    chosen_phases = check_subset("phases", phases, PHASES, PLAIN_PHASES)
    chosen_kinds = check_subset("kinds", kinds, tuple(f.KINDS), DEFAULT_KINDS)
    attempt_strategy = st.integers(1, 3) if attempts is None else check_strategy(
        "attempts", attempts)
    options = [(k, p) for k in chosen_kinds for p in chosen_phases if _fits(k, p)]
    if not options:
        raise InvalidArgument(
            f"no fault of kinds={chosen_kinds!r} fires at phases={chosen_phases!r};"
            " reply/close/reset/delay/hang fire almost anywhere, store-then-drop at 'dot',"
            " handshake-failure at 'tls', strip-starttls at 'ehlo'"
        )
    attempt = draw(attempt_strategy)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise InvalidArgument(f"attempts drew {attempt!r}; attempts are numbered from 1")
    kind, phase = draw(st.sampled_from(options))
    return _fault(draw, kind, phase, attempt, transient_only)


def _fits(kind: str, phase: str) -> bool:
    return phase in f.KINDS[kind].phases and phase in _DRAWN_AT.get(kind, PHASES)


def _fault(draw: st.DrawFn, kind: str, phase: Any, attempt: Any, transient_only: bool) -> Fault:
    """A fault of ``kind`` with its required settings drawn for a client test; the others
    keep their defaults."""
    cls = f.KINDS[kind]
    given: dict[str, Any] = {"attempts": attempt}
    default_at = cls.__dataclass_fields__["at"].default
    if default_at is MISSING or phase != default_at:
        given["at"] = phase
    if phase == "body":
        given["after_bytes"] = draw(st.integers(0, BODY_MAX_BYTES))
    for setting in settings_of(cls):
        if setting.required:
            given[setting.name] = draw(_for_a_client(setting, phase, transient_only))
    return cls(**given)


def _for_a_client(setting: Setting, phase: str, transient_only: bool) -> SearchStrategy[Any]:
    """Values whose effect on a correct client is certain: replies whose class the phase
    makes final or not, delays shorter than any timeout, small counts."""
    if setting.type == "reply":
        permanent = not transient_only and phase in PERMANENT_PHASES
        codes = reply_codes(transient=True, permanent=permanent)
        return replies(codes=st.just(454) | codes if phase == "starttls" else codes)
    if setting.type == "seconds":
        return st.sampled_from([0.0, 0.001, 0.005, MAX_DELAY_S])
    if setting.type in ("count", "positive-count"):
        return st.integers(1, 3)
    return setting_values(setting)


@st.composite
def fault_plans(draw: st.DrawFn, *, transient_only: bool = False, max_attempts: int = 3,
                phases: Iterable[str] | None = None, kinds: Iterable[str] | None = None,
                tls: Literal["none", "starttls"] = "none", max_faults: int = 4,
                endless: bool = False, network: bool = False) -> Plan:
    """:class:`harness.plan.Plan` values: up to ``max_faults`` faults, each on one of
    attempts 1 to ``max_attempts - 1``, so a client allowed ``max_attempts`` attempts can
    always deliver on a clean one when every fault is transient.

    ``transient_only`` keeps every fault transient (4yz, drops, delays); ``phases`` and
    ``kinds`` narrow what is drawn (as :func:`faults`); ``tls="starttls"`` serves
    STARTTLS and adds STARTTLS and handshake faults; ``endless`` sometimes makes the
    last fault repeat on every later attempt, so that no budget is enough and a correct
    client must give up; ``network`` adds up to two toxics of the chaos proxy that slow
    the link but break no attempt (:data:`GENTLE_TOXICS`). Plans shrink towards fewer
    faults on earlier attempts, and no toxics.
    """
    check_bool("transient_only", transient_only)
    check_bool("endless", endless)
    check_bool("network", network)
    check_int("max_attempts", max_attempts, min_value=2, max_value=20)
    check_int("max_faults", max_faults, min_value=1, max_value=50)
    if tls not in ("none", "starttls"):
        raise InvalidArgument(f"tls={tls!r} must be 'none' or 'starttls'")
    default_phases = PLAIN_PHASES + (TLS_PHASES if tls == "starttls" else ())
    chosen_phases = check_subset("phases", phases, PHASES, default_phases)
    default_kinds = DEFAULT_KINDS + (TLS_KINDS if tls == "starttls" else ())
    chosen_kinds = check_subset("kinds", kinds, tuple(f.KINDS), default_kinds)
    if tls == "none":
        bad = [p for p in chosen_phases if p in TLS_PHASES] + [
            k for k in chosen_kinds if k in TLS_KINDS]
        if bad:
            raise InvalidArgument(f"{bad[0]!r} needs a TLS server: pass tls='starttls'")
    # Each fault says whether it starts the next attempt or joins the current one, so
    # deleting an early fault moves the later ones to earlier attempts: plans shrink to
    # the few faults that matter, on the first attempts.
    steps = draw(st.lists(
        st.tuples(st.booleans(), faults(phases=chosen_phases, kinds=chosen_kinds,
                                        transient_only=transient_only, attempts=st.just(1))),
        max_size=max_faults,
    ))
    drawn: list[Fault] = []
    attempt = 1
    for index, (next_attempt, fault) in enumerate(steps):
        if index and next_attempt:
            attempt += 1
        if attempt >= max_attempts:
            break
        drawn.append(fault if attempt == 1 else replace(fault, attempts=attempt))
    drawn.sort(key=lambda fault: (min(fault.selector.only or {1}), PHASES.index(fault.at)))
    if endless and drawn and draw(st.booleans()):
        last = drawn.pop()
        first = min(last.selector.only or {1})
        drawn.append(replace(last, attempts=f"{first}+"))
    plan = Plan(drawn, tls=tls)
    if network:
        on = st.integers(1, max_attempts - 1)
        for toxic in draw(st.lists(toxics(types=GENTLE_TOXICS, attempts=on), max_size=2,
                                   unique_by=lambda t: t.type)):
            plan.toxic(toxic.type, attempts=str(toxic.selector), **dict(toxic.attributes))
    plan.name = "drawn-plan"
    return plan


@st.composite
def toxics(draw: st.DrawFn, *, types: Iterable[str] | None = None,
           attempts: SearchStrategy[int] | None = None) -> Toxic:
    """:class:`harness.chaos.Toxic` values with Toxiproxy's names and units, small enough
    for a test (latency up to 50 ms, resets within 50 ms, data limits up to 2 KiB), on
    one attempt drawn from ``attempts`` (default 1 to 3)."""
    chosen = check_subset("types", types, TOXIC_TYPES, TOXIC_TYPES)
    attempt_strategy = st.integers(1, 3) if attempts is None else check_strategy(
        "attempts", attempts)
    kind = draw(st.sampled_from(chosen))
    attempt = draw(attempt_strategy)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise InvalidArgument(f"attempts drew {attempt!r}; attempts are numbered from 1")
    stream = draw(st.sampled_from(["downstream", "upstream"]))
    attributes: dict[str, int] = {
        "latency": lambda: {"latency": draw(st.integers(0, 50)),
                            "jitter": draw(st.integers(0, 10))},
        "reset_peer": lambda: {"timeout": draw(st.integers(0, 50))},
        "limit_data": lambda: {"bytes": draw(st.integers(0, 2048))},
        "slicer": lambda: {"average_size": draw(st.integers(2, 64)), "size_variation": 1,
                           "delay": draw(st.integers(0, 1000))},
        "slow_close": lambda: {"delay": draw(st.integers(0, 50))},
        "bandwidth": lambda: {"rate": draw(st.integers(10, 1000))},
    }[kind]()
    return Toxic(type=kind, attributes=attributes, stream=stream, attempts=attempt)
