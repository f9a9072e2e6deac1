"""The one exception family of newpower.

Every error a user can cause by their own input is a :class:`SimError`, so the
command line can print it as one clear message instead of a traceback.
"""

from __future__ import annotations

from typing import Any


class SimError(Exception):
    """Base class of every error newpower raises on purpose."""


class ScenarioError(SimError):
    """A scenario file, key or value is not acceptable.

    Args:
        message: what is wrong, in words.
        source: the file (or ``"<overrides>"``) the value came from.
        key: the dotted key path, for example ``network.mean_degree``.
        value: the offending value.
        allowed: what would have been accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        value: Any = None,
        allowed: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(message)

    def __str__(self) -> str:
        key = f"key '{_printable(self.key)}'" if self.key else None
        where = ": ".join(part for part in (self.source, key) if part)
        text = f"{where}: {self.message}" if where else self.message
        if self.key is not None and self.value is not None:
            text += f" (got {self.value!r})"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        return text


def _printable(text: str) -> str:
    """``text`` with line breaks and other control characters escaped: a message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class InputError(SimError):
    """A data file the user supplied (an edge list, a GraphML file) is unusable."""


class ClassError(SimError):
    """Class mode (``newpower class``) refused a request: a wrong code or token, a full class, a bad nickname."""
