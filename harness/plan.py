"""A fluent way to write a scenario in Python: faults, toxics, and what the client must do.

::

    plan = Plan()
    plan.on("rcpt", to="bob@example.org").reply("451 4.7.1 Try again later").times(2)
    plan.drop_after(2048, attempt=1)
    plan.expect.delivered_once().backoff(at_least=0.1, factor=2)

A plan builds the same :mod:`harness.faults` objects and
:class:`~harness.verdicts.spec.Expectations` a scenario file does, and writes itself out
as one (:meth:`Plan.to_yaml`), so whatever a test found can be saved as a regression
scenario. Every argument is checked when it is given: a mistake fails on the line that
made it, with :class:`~harness.errors.InvalidFaultPlan`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness import faults
from harness.chaos.errors import InvalidToxic
from harness.chaos.toxic import Toxic
from harness.clients import TLSMode
from harness.errors import InvalidFaultPlan
from harness.faults import Fault, FaultSchedule, Phase
from harness.replies import SMTPReply
from harness.smtp.faults.shape import beside_key, kind_value
from harness.verdicts.spec import AttemptBounds, BackoffPolicy, Expectations, Jitter

__all__ = ["ExpectationBuilder", "Plan", "Rule", "fault_item", "toxic_item"]


class Rule:
    """One fault being written: where it fires (``plan.on(...)``), then what it does.

    Finish it with one action (:meth:`reply`, :meth:`close`, :meth:`reset`, :meth:`hang`,
    :meth:`delay`, :meth:`store_then_drop`, or any kind by name with :meth:`kind`); scope
    it, before or after the action, with :meth:`times`, :meth:`on_attempts` or
    :meth:`with_probability`. Faults are scheduled per attempt (one TCP connection):
    ``times(2)`` means "on the first two attempts".
    """

    def __init__(self, at: Phase, *, match: str | None, after_bytes: int | None) -> None:
        self._common: dict[str, Any] = {"at": at, "match": match, "after_bytes": after_bytes}
        self._kind: type[Fault] | None = None
        self._settings: dict[str, Any] = {}
        self.fault: Fault | None = None

    def __repr__(self) -> str:
        return f"<Rule {self.fault!r}>" if self.fault else f"<Rule at={self._common['at']!r}>"

    # -- actions ------------------------------------------------------------------------

    def reply(self, reply: str | Sequence[str] | SMTPReply, *, then_close: bool = False) -> Rule:
        """Answer with ``reply`` (``"451 4.7.1 Try again later"``); a 421 also closes."""
        return self._set(faults.Reply, reply=reply, then_close=then_close)

    def close(self) -> Rule:
        """Close the connection (FIN) without a reply."""
        return self._set(faults.Close)

    def reset(self) -> Rule:
        """Abort the connection with a TCP RST."""
        return self._set(faults.Reset)

    def hang(self) -> Rule:
        """Never answer; keep the connection open (the client's timeout must fire)."""
        return self._set(faults.Hang)

    def delay(self, seconds: float) -> Rule:
        """Wait ``seconds``, then answer normally."""
        return self._set(faults.Delay, seconds=seconds)

    def store_then_drop(self) -> Rule:
        """At ``dot``: keep the message, then drop the connection before the ``250``."""
        return self._set(faults.StoreThenDrop)

    def kind(self, name: str, **settings: Any) -> Rule:
        """Any fault kind by its scenario-file name, with its settings as keywords:
        ``plan.on("mail").kind("size-limit", max_bytes=1000)``."""
        found = faults.KINDS.get(name)
        if found is None:
            raise InvalidFaultPlan(
                f"kind({name!r}) is not a fault kind; allowed: {', '.join(faults.KINDS)}"
            )
        return self._set(found, **settings)

    # -- scope --------------------------------------------------------------------------

    def times(self, n: int) -> Rule:
        """Only on the first ``n`` attempts, then behave normally."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidFaultPlan(f"times(n={n!r}): n must be an integer >= 1")
        return self.on_attempts(1 if n == 1 else f"1-{n}")

    def once(self) -> Rule:
        """Only on the first attempt."""
        return self.times(1)

    def on_attempts(self, *attempts: int | str) -> Rule:
        """On these attempts: ``on_attempts(1, 3)``, ``on_attempts("2-4")``, ``("3+")``."""
        if not attempts:
            raise InvalidFaultPlan("on_attempts() needs at least one attempt, e.g. 1 or '2+'")
        spec: Any = list(attempts) if len(attempts) > 1 else attempts[0]
        if len(attempts) > 1 and not all(isinstance(a, int) for a in attempts):
            raise InvalidFaultPlan(
                f"on_attempts{attempts!r}: give several numbers, or one text like '2-4'"
            )
        return self._scope(attempts=spec)

    def always(self) -> Rule:
        """On every attempt (the default)."""
        return self._scope(attempts="all")

    def with_probability(self, probability: float) -> Rule:
        """Fire with this chance, drawn from the run's seed."""
        return self._scope(probability=probability)

    # -- internals ----------------------------------------------------------------------

    def _scope(self, **changes: Any) -> Rule:
        self._common.update(changes)
        if self._kind is not None:
            self._build()
        return self

    def _set(self, kind: type[Fault], **settings: Any) -> Rule:
        if self._kind is not None:
            raise InvalidFaultPlan(
                f"this rule already does {self._kind.kind!r}; start another with plan.on(...)"
            )
        self._kind, self._settings = kind, settings
        self._build()
        return self

    def _build(self) -> None:
        assert self._kind is not None
        common = {k: v for k, v in self._common.items() if v is not None}
        self.fault = self._kind(**common, **self._settings)


class ExpectationBuilder:
    """What the client must do, one call at a time; each returns the builder.

    ``plan.expect.delivered_once().attempts(max=5).backoff(at_least=0.1, factor=2)``.
    :meth:`build` gives the :class:`~harness.verdicts.spec.Expectations` the verdicts read.
    """

    def __init__(self, base: Expectations | None = None) -> None:
        self._spec = base or Expectations()

    def __repr__(self) -> str:
        return f"<ExpectationBuilder {self._spec!r}>"

    def build(self) -> Expectations:
        return self._spec

    def _with(self, **changes: Any) -> ExpectationBuilder:
        self._spec = dataclasses.replace(self._spec, **changes)
        return self

    def delivered_once(self) -> ExpectationBuilder:
        """Exactly one copy arrives (one more per connection dropped between store and 250)."""
        return self._with(delivered="once")

    def delivered_at_least_once(self) -> ExpectationBuilder:
        return self._with(delivered="at-least-once")

    def never_delivered(self) -> ExpectationBuilder:
        return self._with(delivered="never")

    def attempts(self, exactly: int | None = None, *, min: int | None = None,
                 max: int | None = None) -> ExpectationBuilder:
        """How many connections: ``attempts(3)``, ``attempts(min=2)``, ``attempts(max=5)``."""
        if exactly is not None:
            if min is not None or max is not None:
                raise InvalidFaultPlan("attempts(): give exactly, or min/max, not both")
            min = max = exactly
        for name, value in (("min", min), ("max", max)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < (0 if name == "min" else 1)):
                raise InvalidFaultPlan(f"attempts({name}={value!r}) is not a valid count")
        if min is None and max is None:
            raise InvalidFaultPlan("attempts() needs exactly, min or max")
        if min is not None and max is not None and max < min:
            raise InvalidFaultPlan(f"attempts(min={min}, max={max}): max is below min")
        return self._with(attempts=AttemptBounds(min, max))

    def backoff(self, at_least: float, *, factor: float = 2.0, cap: float | None = None,
                jitter: Jitter = "none") -> ExpectationBuilder:
        """The client's declared policy: the first retry waits ``at_least`` seconds, each
        next one ``factor`` times longer, up to ``cap``, randomised by ``jitter``
        (``none``, ``full``, ``equal``, ``decorrelated``)."""
        if isinstance(at_least, bool) or not isinstance(at_least, (int, float)) or at_least <= 0:
            raise InvalidFaultPlan(f"backoff(at_least={at_least!r}): seconds above 0")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1:
            raise InvalidFaultPlan(f"backoff(factor={factor!r}): a number >= 1")
        if cap is not None and (not isinstance(cap, (int, float)) or cap < at_least):
            raise InvalidFaultPlan(f"backoff(cap={cap!r}): seconds >= at_least ({at_least})")
        if jitter not in ("none", "full", "equal", "decorrelated"):
            raise InvalidFaultPlan(
                f"backoff(jitter={jitter!r}): allowed: none, full, equal, decorrelated"
            )
        return self._with(backoff=BackoffPolicy(float(at_least), float(factor),
                                                None if cap is None else float(cap), jitter))

    def backs_off(self) -> ExpectationBuilder:
        """Retries wait longer and longer, whatever the policy."""
        return self._with(backoff="increasing")

    def no_retry_after_permanent(self) -> ExpectationBuilder:
        return self._with(no_retry_after_permanent=True)

    def closes_after_421(self) -> ExpectationBuilder:
        return self._with(closes_after_421=True)

    def gives_up_within(self, seconds: float) -> ExpectationBuilder:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise InvalidFaultPlan(f"gives_up_within(seconds={seconds!r}): seconds above 0")
        return self._with(gives_up_within_s=float(seconds))

    def refuses_bad_certificate(self) -> ExpectationBuilder:
        return self._with(refuses_bad_certificate=True)

    def no_plaintext_fallback(self) -> ExpectationBuilder:
        return self._with(no_plaintext_fallback=True)

    def no_plaintext_auth(self) -> ExpectationBuilder:
        return self._with(no_plaintext_auth=True)

    def relax(self, *names: str) -> ExpectationBuilder:
        """Report these deviation-level checks (``backoff.envelope``...) as advisory."""
        return self._with(relax=self._spec.relax | frozenset(names))


class Plan:
    """Faults, toxics, the server's TLS mode and the expectations of one run.

    Build it with :meth:`on`, :meth:`drop_after`, :meth:`toxic`, :meth:`tls` and
    :attr:`expect`; run it with the ``smtp_scenario`` fixture or ``engine.run(plan)``;
    save it with :meth:`to_yaml`.
    """

    def __init__(self, faults: Iterable[Fault] = (), *, toxics: Iterable[Toxic] = (),
                 tls: TLSMode = "none", certificate: str = "valid",
                 expect: Expectations | None = None, name: str = "plan") -> None:
        self._rules: list[Rule | Fault] = list(faults)
        for fault in self._rules:
            if not isinstance(fault, Fault):
                raise InvalidFaultPlan(f"{fault!r} is not a fault from harness.faults")
        self._toxics: list[Toxic] = list(toxics)
        self.name = name
        self.server_tls: TLSMode = "none"
        self.certificate = "valid"
        self.tls(tls, certificate=certificate)
        self.expect = ExpectationBuilder(expect)

    def __repr__(self) -> str:
        parts = [repr(f) for f in self.faults()] + [repr(t) for t in self._toxics]
        tls = f", tls={self.server_tls!r}" if self.server_tls != "none" else ""
        return f"Plan([{', '.join(parts)}]{tls})"

    # -- building -----------------------------------------------------------------------

    def on(self, phase: Phase, *, to: str | None = None, match: str | None = None,
           after_bytes: int | None = None) -> Rule:
        """A fault at ``phase`` (``banner``, ``ehlo``, ``mail``, ``rcpt``, ``data``,
        ``body``, ``dot``, ``quit``...); ``to`` (RCPT) or ``match`` narrows it to commands
        whose argument contains that text."""
        if phase not in faults.PHASES:
            raise InvalidFaultPlan(
                f"on({phase!r}): not a phase; allowed: {', '.join(faults.PHASES)}"
            )
        if to is not None and match is not None:
            raise InvalidFaultPlan("on(): give to= or match=, not both")
        if to is not None and phase != "rcpt":
            raise InvalidFaultPlan(f"on({phase!r}, to=...): to= is for 'rcpt'; use match=")
        rule = Rule(phase, match=to if to is not None else match, after_bytes=after_bytes)
        self._rules.append(rule)
        return rule

    def drop_after(self, n_bytes: int, *, attempt: int | str = "all",
                   reset: bool = False) -> Rule:
        """Drop the connection once ``n_bytes`` of message content arrived (RST with
        ``reset``), on ``attempt`` (a number, ``"1-2"``, ``"2+"`` or ``"all"``)."""
        if isinstance(n_bytes, bool) or not isinstance(n_bytes, int) or n_bytes < 0:
            raise InvalidFaultPlan(f"drop_after(n_bytes={n_bytes!r}): an integer >= 0")
        rule = self.on("body", after_bytes=n_bytes)
        rule.on_attempts(attempt)
        return rule.reset() if reset else rule.close()

    def add(self, *items: Fault | Toxic) -> Plan:
        """Add ready-made :mod:`harness.faults` objects or :class:`~harness.chaos.Toxic`."""
        for item in items:
            if isinstance(item, Fault):
                self._rules.append(item)
            elif isinstance(item, Toxic):
                self._toxics.append(item)
            else:
                raise InvalidFaultPlan(f"{item!r} is neither a fault nor a toxic")
        return self

    def toxic(self, type: str, *, stream: str = "downstream", attempts: int | str = "all",
              toxicity: float = 1.0, name: str = "", **attributes: int) -> Plan:
        """A network toxic with Toxiproxy's names and units: ``toxic("latency",
        latency=50)``; the run puts the chaos proxy in front of the server."""
        try:
            self._toxics.append(Toxic(type=type, attributes=attributes, name=name,
                                      stream=stream, toxicity=toxicity, attempts=attempts))
        except InvalidToxic as error:
            raise InvalidFaultPlan(f"toxic({type!r}): {error}") from None
        return self

    def tls(self, mode: TLSMode, *, certificate: str = "valid") -> Plan:
        """Serve ``none``, ``starttls`` or ``implicit`` TLS with a catalogue certificate."""
        if mode not in ("none", "starttls", "implicit"):
            raise InvalidFaultPlan(f"tls({mode!r}): allowed: none, starttls, implicit")
        self.server_tls, self.certificate = mode, certificate
        return self

    # -- reading ------------------------------------------------------------------------

    def faults(self) -> tuple[Fault, ...]:
        """The fault objects, in the order written."""
        built: list[Fault] = []
        for rule in self._rules:
            if isinstance(rule, Fault):
                built.append(rule)
            elif rule.fault is None:
                raise InvalidFaultPlan(
                    f"plan.on({rule._common['at']!r}) has no action: finish it with .reply(...),"
                    " .close(), .reset(), .hang(), .delay(s) or .store_then_drop()"
                )
            else:
                built.append(rule.fault)
        return tuple(built)

    def toxics(self) -> tuple[Toxic, ...]:
        return tuple(self._toxics)

    def fault_schedule(self, *, seed: int | None = None) -> FaultSchedule:
        return FaultSchedule(self.faults(), seed=seed)

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~harness.smtp.server.FakeSMTPServer`."""
        return {"tls": self.server_tls, "certificate": self.certificate}

    def to_dict(self, name: str | None = None, *, about: str = "") -> dict[str, Any]:
        """The plan as scenario-file data (what ``Scenario.from_dict`` reads)."""
        data: dict[str, Any] = {"name": name or self.name}
        if about:
            data["about"] = about
        if self.server_tls != "none" or self.certificate != "valid":
            data["server"] = {"tls": self.server_tls, "certificate": self.certificate}
        data["faults"] = [fault_item(f) for f in self.faults()]
        if self._toxics:
            data["network"] = [toxic_item(t) for t in self._toxics]
        expect = expectations_data(self.expect.build())
        if expect:
            data["expect"] = expect
        return data

    def to_scenario(self, name: str | None = None, *, about: str = "") -> Any:
        """The plan as a validated :class:`~harness.model.Scenario`."""
        from harness.model import Scenario

        return Scenario.from_dict(self.to_dict(name, about=about), source="<plan>")

    def to_yaml(self, name: str | None = None, *, about: str = "") -> str:
        """The plan as a scenario file, ready to save and run with ``harness run``."""
        from harness.model.safe_yaml import dump

        return dump(self.to_dict(name, about=about))


# -- the scenario-file spelling of faults, toxics and expectations ---------------------


def _attempts_value(fault: Fault | Toxic) -> Any:
    selector = fault.selector
    if selector.only is not None:
        only = sorted(selector.only)
        return only[0] if len(only) == 1 else only
    return str(selector)


def fault_item(fault: Fault) -> dict[str, Any]:
    """One ``faults:`` item of a scenario file for a :mod:`harness.faults` object, written
    from the kind's own declaration (:mod:`harness.smtp.faults.shape`), so no setting
    of any kind can be left out."""
    kind = type(fault)
    item: dict[str, Any] = {}
    at_default = kind.__dataclass_fields__["at"].default
    if fault.at != at_default:
        item["at"] = fault.at
    attempts = _attempts_value(fault)
    if attempts != "all":
        item["attempts"] = attempts
    if fault.match is not None:
        item["match"] = fault.match
    if fault.probability != 1.0:
        item["probability"] = fault.probability
    if fault.after_bytes is not None:
        item["after_bytes"] = fault.after_bytes
    item[kind.kind] = kind_value(fault)
    for setting in beside_key(kind):
        value = getattr(fault, setting.name)
        if not setting.is_default(value):
            item[setting.name] = setting.dump(value)
    return item


def toxic_item(toxic: Toxic) -> dict[str, Any]:
    """One ``network:`` item of a scenario file for a :class:`~harness.chaos.Toxic`."""
    item: dict[str, Any] = {"toxic": toxic.type, **dict(toxic.attributes)}
    if toxic.name != f"{toxic.type}_{toxic.stream}":
        item["name"] = toxic.name
    if toxic.direction != "downstream":
        item["stream"] = toxic.direction
    if toxic.toxicity != 1.0:
        item["toxicity"] = toxic.toxicity
    attempts = _attempts_value(toxic)
    if attempts != "all":
        item["attempts"] = attempts
    return item


def expectations_data(spec: Expectations) -> dict[str, Any]:
    """The ``expect:`` section of a scenario file for an Expectations value."""
    data: dict[str, Any] = {}
    if spec.delivered is not None:
        data["delivered"] = spec.delivered
    if spec.attempts is not None:
        bounds = {k: v for k, v in (("min", spec.attempts.min), ("max", spec.attempts.max))
                  if v is not None}
        data["attempts"] = bounds
    if isinstance(spec.backoff, BackoffPolicy):
        policy: dict[str, Any] = {"initial_s": spec.backoff.initial_s,
                                  "factor": spec.backoff.factor}
        if spec.backoff.cap_s is not None:
            policy["cap_s"] = spec.backoff.cap_s
        if spec.backoff.jitter != "none":
            policy["jitter"] = spec.backoff.jitter
        data["backoff"] = policy
    elif spec.backoff is not None:
        data["backoff"] = spec.backoff
    flags: Mapping[str, bool | None] = {
        "no-retry-after-permanent": spec.no_retry_after_permanent,
        "closes-after-421": spec.closes_after_421,
        "refuses-bad-certificate": spec.refuses_bad_certificate,
        "no-plaintext-fallback": spec.no_plaintext_fallback,
        "no-plaintext-auth": spec.no_plaintext_auth,
        "discards-injected-responses": spec.discards_injected_responses,
        "re-ehlo-after-starttls": spec.re_ehlo_after_starttls,
        "waits-for-ehlo-after-starttls": spec.waits_for_ehlo_after_starttls,
    }
    data.update({key: True for key, value in flags.items() if value})
    if spec.gives_up_within_s is not None:
        data["gives-up-within"] = spec.gives_up_within_s
    if spec.client_exit is not None:
        data["client-exit"] = spec.client_exit
    if spec.relax:
        data["relax"] = sorted(spec.relax)
    return data
