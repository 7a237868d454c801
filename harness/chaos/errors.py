"""The chaos layer's errors, each carrying the HTTP status Toxiproxy answers with.

::

    HarnessError
    └── ChaosError            500: the proxy could not do what was asked (listen failed)
        ├── InvalidToxic      400: a toxic or proxy body that makes no sense (also ValueError)
        ├── NotFound          404: no proxy or toxic by that name (also LookupError)
        └── AlreadyExists     409: a proxy or toxic by that name exists already
"""

from __future__ import annotations

from typing import ClassVar

from harness.errors import HarnessError


class ChaosError(HarnessError):
    """The chaos proxy could not do what was asked."""

    status: ClassVar[int] = 500


class InvalidToxic(ChaosError, ValueError):
    """A toxic or proxy definition with a wrong type, stream, attribute or value.

    When one attribute's value is at fault, ``attribute`` names it and ``expected`` says
    what it must be, so the scenario loader can point at that key.
    """

    status = 400

    def __init__(self, message: str, *, attribute: str | None = None,
                 expected: str | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute
        self.expected = expected


class NotFound(ChaosError, LookupError):
    """No proxy or toxic by that name."""

    status = 404


class AlreadyExists(ChaosError):
    """A proxy or toxic by that name exists already."""

    status = 409
