"""The exception tree of reelform.

Everything a user can cause is a ``UserError``: the CLI prints it (one line per
problem, ``FILE:LINE:COL: message``) and exits 1, never with a traceback.
Anything else that escapes is a bug: exit 3 with a traceback.

    ReelformError
    ├── UserError                  exit 1, printed without traceback
    │   ├── SpecError              one or more located problems in specs / data files
    │   ├── LockfileError          a corrupt, unreadable or newer-version lockfile
    │   ├── PlanFileError          a saved plan that is stale or unreadable
    │   ├── BusyError              another apply holds the spec's process lock
    │   ├── ConfigError            a missing API key, a bad base URL, a bad option
    │   └── RenderError            the local renderer could not make a video
    └── ProviderError              a provider answered with an error (or not at all)
        ├── RetryableError         429, 5xx, a connection that never got the request out
        ├── RejectedError          the provider refused the request (bad params, credits)
        │   └── InsufficientCreditError  the account has no credit left: nothing made
        ├── OutcomeUnknownError    the request was sent, the answer was lost
        └── WebhookRejected        a webhook delivery that did not verify

HTTP, YAML, Jinja and pydantic errors are translated into these at the edge where
they happen, so that nothing above the edge needs to know those libraries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ReelformError(Exception):
    """Base of every error reelform raises on purpose."""


class UserError(ReelformError):
    """Something the user can fix; printed as is, exit code 1."""

    def lines(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True, order=True)
class Location:
    """Where a problem is: a file and, where known, a 1-based line and column.

    For a data row, ``line`` is the line of the data file where the row starts
    (what an editor jumps to) and ``column`` is None: ``DATAFILE:LINE: message``.
    """

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True, order=True)
class Problem:
    """One located user error."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class SpecError(UserError):
    """One or more problems found in specs, templates or data files.

    All problems of a run are collected and reported together, sorted by place;
    problems at the same place keep the order they were found in (so "and 7 more
    rows" follows the rows it summarises).
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(dict.fromkeys(problems), key=_place)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, file: str, line: int | None, column: int | None, message: str) -> SpecError:
        return cls([Problem(Location(file, line, column), message)])

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def _place(problem: Problem) -> tuple[str, int, int]:
    # A file-level problem (no line) comes first; None does not compare with an int.
    location = problem.location
    return location.file, location.line or 0, location.column or 0


class LockfileError(UserError):
    """A lockfile that cannot be read; it is never overwritten."""


class PlanFileError(UserError):
    """A saved plan that cannot be applied (stale, unreadable, another version)."""


class BusyError(UserError):
    """Another process holds the spec's lock."""


class ConfigError(UserError):
    """A problem with the environment or the command line."""


class RenderError(UserError):
    """The local renderer could not make a video."""


class ProviderError(ReelformError):
    """A provider call failed. Messages never contain an API key."""

    def __init__(self, provider: str, message: str, *, code: str | int | None = None) -> None:
        self.provider = provider
        self.code = code
        super().__init__(f"{provider}: {message}")


class RetryableError(ProviderError):
    """Safe to try again: the provider did not take the request (429, 5xx, no connection)."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        code: str | int | None = None,
        retry_after: float | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(provider, message, code=code)
        self.retry_after = retry_after
        #: A 429: the provider asks us to slow down (its own retry budget, see http.py).
        self.throttled = throttled


class RejectedError(ProviderError):
    """The provider refused the request for good (bad parameter, no credit, no permission)."""


class InsufficientCreditError(RejectedError):
    """A paid request refused because the account has no credit left (JoggAI 18020,
    Mirako 402). Nothing was made or charged, and the request itself is fine: apply
    stops submitting on that account and leaves the video to create, not failed."""


class OutcomeUnknownError(ProviderError):
    """The request went out but no answer came back: the job may or may not exist.

    A submit that ends like this is never resent blindly (docs/design.md, "Never pay twice").
    """


class WebhookRejected(ProviderError):
    """A webhook delivery whose signature or token did not verify."""
