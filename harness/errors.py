"""The harness's exceptions, all under one root.

::

    HarnessError
    ├── InvalidFaultPlan   (also a ValueError) a fault or plan that makes no sense
    └── ServerError        the fake server could not start (port in use, bad address)
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
