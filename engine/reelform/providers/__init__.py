"""Providers: the clients of the JoggAI and Mirako APIs and the offline `local` renderer.

``make_provider`` is the one way the engine gets a ``Provider``; the modules behind
it are imported only when used, so `reelform validate` never loads PyAV or httpx.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reelform.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from reelform.providers.base import Provider
    from reelform.providers.ratelimit import TokenBucket

PROVIDER_NAMES = ("local", "jogg", "mirako")


@dataclass
class ProviderContext:
    """What a provider instance gets from the engine.

    ``http`` is the one HTTP seam: tests pass a client over ``httpx.ASGITransport``
    (the simulators in-process) or ``httpx.MockTransport``. ``http_reads``, when
    given, carries the status reads (apply gives one): polls then never wait behind
    creates for a connection, and each pool stays small, which matters because
    httpcore's bookkeeping per request grows with its pool. ``limiter`` is shared by
    every instance of the same provider in one run (one rate limit per API key).
    ``time_scale`` shrinks every wait (backoff, polling hints) for tests.
    """

    http: httpx.AsyncClient | None = None
    http_reads: httpx.AsyncClient | None = None
    work_dir: Path = field(default_factory=lambda: Path(".reelform"))
    limiter: TokenBucket | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    webhook_secret: str | None = None
    time_scale: float = 1.0


class ProviderClass(Protocol):
    """A provider class: what the engine reads before (or without) making one."""

    @property
    def name(self) -> str: ...

    @property
    def submit_rate_per_minute(self) -> float | None: ...

    @property
    def free(self) -> bool: ...

    def __call__(self, settings: Mapping[str, str], context: ProviderContext) -> Provider: ...


def provider_class(name: str) -> ProviderClass:
    """The class of provider ``name`` (its module imported on first use)."""
    if name == "jogg":
        from reelform.providers.jogg import JoggProvider

        return JoggProvider
    if name == "mirako":
        from reelform.providers.mirako import MirakoProvider

        return MirakoProvider
    if name == "local":
        from reelform.providers.local import LocalProvider

        return LocalProvider
    raise ConfigError(f"unknown provider {name!r} (known: {', '.join(PROVIDER_NAMES)})")


def make_provider(
    name: str, settings: Mapping[str, str] | None = None, context: ProviderContext | None = None
) -> Provider:
    return provider_class(name)(dict(settings or {}), context or ProviderContext())
