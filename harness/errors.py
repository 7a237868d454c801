"""The harness's exceptions, all under one root.

::

    HarnessError
    ├── InvalidFaultPlan   (also a ValueError) a fault or plan that makes no sense
    ├── ServerError        the fake server could not start (port in use, bad address)
    ├── ClientError        the client under test cannot be run (not found, bad placeholder)
    ├── ScenarioError      a scenario file is invalid: every problem, with file and line
    │                      (harness.model.errors)
    ├── ChaosError         the chaos proxy refused a request (harness.chaos.errors); each
    │   ├── InvalidToxic   carries the HTTP status Toxiproxy's API answers with:
    │   ├── NotFound       400, 404, 409, 500
    │   └── AlreadyExists
    └── CertificateError   a certificate variant cannot be built on this machine
        └── UnknownCertificate   (also a KeyError) no variant has that name
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class InvalidFaultPlan(HarnessError, ValueError):
    """A fault, selector or reply was built with values that cannot work.

    The message names the field, the value given and the values allowed.
    """


class ServerError(HarnessError):
    """The fake SMTP server could not start or stop as asked."""


class ClientError(HarnessError):
    """The client under test cannot be run as given: a user mistake, not a verdict."""


class CertificateError(HarnessError):
    """A certificate variant cannot be built here; the message says which tool refused and why."""


class UnknownCertificate(CertificateError, KeyError):
    """No certificate variant has that name; the message lists them all."""

    def __str__(self) -> str:
        # KeyError would show the message in quotes, as if it were the missing key.
        return str(self.args[0]) if self.args else ""
