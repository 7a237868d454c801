"""The scenario model: one frozen value per file, the single source of truth.

The JSON Schema (:func:`harness.model.json_schema`) and every error message are
derived from these classes; nothing else describes the file format.
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator
from pydantic_core import PydanticCustomError

from harness.chaos.toxic import Toxic
from harness.clients import PLACEHOLDERS, TLSMode
from harness.faults import Fault, FaultSchedule
from harness.model import load, safe_yaml
from harness.model._base import AttemptsAsWritten, AttemptsField, PositiveCount, Seconds, Strict
from harness.model.expect import Expect
from harness.model.fault_items import FaultSpec
from harness.model.network import Down, NetworkItem, ToxicItem
from harness.verdicts.spec import Expectations

Certificate = Literal[
    "valid",
    "valid-intermediate",
    "expired",
    "not-yet-valid",
    "wrong-host",
    "self-signed",
    "untrusted-root",
    "incomplete-chain",
    "wildcard-mismatch",
    "weak-key",
    "sha1-signature",
    "tls1.0-only",
]
"""The certificate catalogue's variants, by name."""

AuthMechanism = Literal["PLAIN", "LOGIN"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""A scenario name: safe in file names, test ids and JUnit reports."""



class Extensions(Strict):
    """The ESMTP extensions the server advertises in its EHLO reply."""

    size: PositiveCount | None = Field(
        default=32 * 1024 * 1024,
        description="SIZE: the largest message accepted, in bytes; null: not advertised.",
    )
    eight_bit_mime: StrictBool = Field(default=True, alias="8bitmime", description="8BITMIME.")
    smtputf8: StrictBool = Field(default=False, description="SMTPUTF8 (RFC 6531).")
    pipelining: StrictBool = Field(default=False, description="PIPELINING (RFC 2920).")


class Auth(Strict):
    """SMTP AUTH (RFC 4954): the mechanisms offered and the accounts that may log in."""

    mechanisms: tuple[AuthMechanism, ...] = Field(
        default=("PLAIN", "LOGIN"), min_length=1, description="Mechanisms offered, in order."
    )
    credentials: dict[str, str] = Field(
        min_length=1, description="Accounts that may log in: user name to password."
    )
    required: StrictBool = Field(default=False, description="MAIL before AUTH gets 530 5.7.0.")
    allow_plaintext: StrictBool = Field(
        default=False, description="Offer AUTH before TLS too (a trap for no-plaintext-auth)."
    )


class ServerSetup(Strict):
    """How the fake server presents itself."""

    tls: TLSMode = Field(default="none", description="none | starttls | implicit.")
    starttls_required: StrictBool = Field(
        default=False, description="With tls: starttls, commands before STARTTLS get 530."
    )
    certificate: Certificate | dict[AttemptsField, Certificate] = Field(
        default="valid",
        description="The certificate presented with TLS, from the catalogue; or one per"
        " attempt: {1: expired, '2+': valid} (attempts not listed get 'valid').",
    )
    extensions: Extensions = Extensions()
    auth: Auth | None = Field(default=None, description="Offer AUTH; left out, no AUTH is offered.")

    @field_validator("certificate")
    @classmethod
    def _selectors_as_text(
        cls, certificate: Certificate | dict[AttemptsAsWritten, Certificate]
    ) -> Certificate | dict[AttemptsAsWritten, Certificate]:
        """``{1: expired}`` and ``{"1": expired}`` are one scenario: keep keys as text."""
        if isinstance(certificate, dict):
            return {
                str(selector) if isinstance(selector, int) else selector: name
                for selector, name in certificate.items()
            }
        return certificate

    @model_validator(mode="after")
    def _required_needs_starttls(self) -> ServerSetup:
        if self.starttls_required and self.tls != "starttls":
            raise PydanticCustomError(
                "scenario",
                "expected starttls_required only with tls: starttls, got tls: {tls}",
                {"field": "starttls_required", "tls": self.tls},
            )
        return self

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~harness.smtp.server.FakeSMTPServer`.

        ``extensions`` other than ``size``, and ``auth.mechanisms``, are not among them
        yet: the server does not take them.
        """
        certificate = self.certificate
        options: dict[str, Any] = {
            "tls": self.tls,
            "certificate": certificate if isinstance(certificate, str) else dict(certificate),
            "starttls_required": self.starttls_required,
        }
        if self.extensions.size is not None:
            options["data_size_limit"] = self.extensions.size
        if self.auth is not None:
            options["auth_credentials"] = dict(self.auth.credentials)
            options["auth_require_tls"] = not self.auth.allow_plaintext
            if self.auth.required:
                options["auth_required"] = True
        return options


class ClientSetup(Strict):
    """How to run the client under test, when the scenario says it."""

    command: str | tuple[str, ...] | None = Field(
        default=None,
        description="Argument list, or one string split like a shell line; placeholders"
        " {host} {port} {cafile} {tls}.",
    )
    timeout_s: Seconds = Field(
        default=60.0, gt=0, description="The time limit for the whole scenario, in seconds."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for the command."
    )

    @field_validator("command")
    @classmethod
    def _placeholders(cls, command: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        parts = [command] if isinstance(command, str) else list(command or ())
        for part in parts:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
            except ValueError as error:
                raise PydanticCustomError(
                    "scenario",
                    "expected placeholders like {{host}} (double a brace to write it), got"
                    " {got}: {why}",
                    {"got": repr(part), "why": str(error)},
                ) from None
            for name in fields:
                if name not in PLACEHOLDERS:
                    raise PydanticCustomError(
                        "scenario",
                        "expected one of the placeholders {expected}, got {got}",
                        {
                            "expected": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                            "got": f"{{{name}}}",
                            "value": f"{{{name}}}",
                            "choices": [f"{{{p}}}" for p in PLACEHOLDERS],
                        },
                    )
        if isinstance(command, str) and not shlex.split(command):
            raise PydanticCustomError("scenario", "expected a command, got an empty string", {})
        return command

    def argv(self, values: Mapping[str, object]) -> list[str] | None:
        """The command with its placeholders filled in from ``values``."""
        if self.command is None:
            return None
        parts = shlex.split(self.command) if isinstance(self.command, str) else self.command
        return [part.format_map(values) for part in parts]


class Scenario(Strict):
    """A declarative experiment: the server, its faults, the network, the client and
    what the client must do.

    Build one with :meth:`from_path`, :meth:`from_str` or :meth:`from_dict`; every problem
    of a file is raised at once as :class:`~harness.model.ScenarioError`.
    """

    name: str = Field(
        description="Identifies the scenario in reports; letters, digits, '.', '_' and '-'.",
        json_schema_extra={"pattern": NAME_PATTERN.pattern},
    )
    about: str = Field(
        default="",
        description="One line: what it simulates and the reference behind its expectations.",
    )
    extends: str | None = Field(
        default=None,
        description="A built-in scenario's name, or a file path relative to this file.",
    )
    seed: int | None = Field(
        default=None, ge=0, strict=True, description="Seed of every random choice; default: random."
    )
    server: ServerSetup = ServerSetup()
    faults: tuple[FaultSpec, ...] = Field(
        default=(), description="SMTP faults, each with its kind as a key."
    )
    network: tuple[NetworkItem, ...] = Field(
        default=(), description="Toxics of the chaos proxy, with Toxiproxy's names and units."
    )
    messages: int = Field(
        default=1, ge=1, le=10_000, strict=True,
        description="How many distinct messages each client instance is asked to send"
        " ({messages}, HARNESS_SMTP_MESSAGES); each must be delivered as expected.",
    )
    clients: int = Field(
        default=1, ge=1, le=100, strict=True,
        description="How many instances of the client start at once, each told its index"
        " ({client}, HARNESS_CLIENT_INDEX, from 0): a fleet, a herd, a pool.",
    )
    client: ClientSetup = ClientSetup()
    expect: Expect = Expect()

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise PydanticCustomError(
                "scenario",
                "expected letters, digits, '.', '_' and '-', starting with a letter or digit,"
                " got {got}",
                {"got": repr(name)},
            )
        return name

    @field_validator("about")
    @classmethod
    def _one_line(cls, about: str) -> str:
        about = about.strip()
        if "\n" in about:
            raise PydanticCustomError(
                "scenario", "expected one line, got {lines} lines", {"lines": about.count("\n") + 1}
            )
        return about

    @field_validator("network")
    @classmethod
    def _unique_toxic_names(
        cls, network: tuple[ToxicItem | Down, ...]
    ) -> tuple[ToxicItem | Down, ...]:
        seen: dict[str, int] = {}
        for index, item in enumerate(network):
            toxic = isinstance(item, ToxicItem)
            name = item.toxic_name if isinstance(item, ToxicItem) else "down"
            if name in seen:
                what = "a name no other toxic has" if toxic else "one 'down'"
                raise PydanticCustomError(
                    "scenario",
                    "expected {what}, got {got} (also network[{first}]){advice}",
                    {
                        "what": what,
                        "got": repr(name) if toxic else "another",
                        "first": seen[name],
                        "advice": "; give one of them a name" if toxic else "",
                        "at": ["network", index, "name" if toxic else "toxic"],
                    },
                )
            seen[name] = index
        return network

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def from_path(cls, path: str | Path) -> Scenario:
        """Read, resolve ``extends:`` relative to the file, and validate."""
        return load.load_path(Path(path), model=cls)

    @classmethod
    def from_str(
        cls, text: str, *, source: str = "<string>", base_dir: str | Path | None = None
    ) -> Scenario:
        """Parse YAML text; ``source`` names it in errors, ``base_dir`` anchors ``extends``."""
        return load.load_text(text, source=source, base_dir=Path(base_dir or "."), model=cls)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, object],
        *,
        source: str = "<dict>",
        base_dir: str | Path | None = None,
    ) -> Scenario:
        """Validate already-parsed data, resolving ``extends`` as the file form does."""
        return load.load_data(data, source=source, base_dir=Path(base_dir or "."), model=cls)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as a document :meth:`from_dict` reads back: defaults left out, and
        ``extends`` too, since its base is already merged in."""
        data: dict[str, Any] = self.model_dump(
            mode="json", by_alias=True, exclude_defaults=True, exclude={"extends"}
        )
        return data

    def to_yaml(self) -> str:
        """The scenario as a YAML file :meth:`from_str` reads back (a shrunk plan, say)."""
        return safe_yaml.dump(self.to_dict())

    # -- what the run needs --------------------------------------------------------------

    def build_faults(self) -> tuple[Fault, ...]:
        """The :mod:`harness.faults` objects of ``faults:``, in order."""
        return tuple(item.to_fault() for item in self.faults)

    def fault_schedule(self, *, seed: int | None = None) -> FaultSchedule:
        """A fresh :class:`~harness.faults.FaultSchedule` with this scenario's faults.

        ``seed`` overrides the scenario's own; with neither, the plan draws one.
        """
        return FaultSchedule(self.build_faults(), seed=self.seed if seed is None else seed)

    def toxics(self) -> tuple[Toxic, ...]:
        """The chaos layer's toxics of ``network:``, without ``down``."""
        return tuple(item.to_toxic() for item in self.network if isinstance(item, ToxicItem))

    def down(self) -> Down | None:
        """The ``down`` item of ``network:``, if any: when the proxy refuses connections."""
        return next((item for item in self.network if isinstance(item, Down)), None)

    def expectations(self) -> Expectations:
        """The ``expect:`` section as the verdicts read it."""
        return self.expect.to_spec()


def load_scenario(ref: str | Path) -> Scenario:
    """A scenario by file path, or by built-in name (``"greylist"``)."""
    return load.load_ref(ref, model=Scenario)
