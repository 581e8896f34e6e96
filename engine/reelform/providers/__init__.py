"""Providers: the clients of the JoggAI and Mirako APIs, the offline `local` renderer,
and any plugin's.

``make_provider`` is the one way the engine gets a ``Provider``: it imports the client
named by the provider's traits (``reelform.registry``) only when used, so `reelform
validate` never loads PyAV or httpx.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reelform.errors import ConfigError
from reelform.providers.base import Provider
from reelform.registry import import_object, provider_traits

if TYPE_CHECKING:
    import httpx

    from reelform.providers.ratelimit import TokenBucket


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


#: A client class: ``(settings, context) -> Provider``.
ProviderFactory = Callable[[Mapping[str, str], ProviderContext], Provider]


def provider_class(name: str) -> ProviderFactory:
    """The client of provider ``name``, imported from its traits' path on first use."""
    factory: ProviderFactory = import_object(
        provider_traits(name).client, f"the client of provider {name!r}"
    )
    return factory


def make_provider(
    name: str, settings: Mapping[str, str] | None = None, context: ProviderContext | None = None
) -> Provider:
    provider = provider_class(name)(dict(settings or {}), context or ProviderContext())
    # A plugin's client is checked here, once, rather than failing mid-apply.
    if not isinstance(provider, Provider) or provider.name != name:
        missing = [m for m in dir(Provider) if m[0] != "_" and not hasattr(provider, m)]
        what = f"lacks {', '.join(missing)}" if missing else f"is named {provider.name!r}"
        raise ConfigError(
            f"provider {name!r}: its client {provider_traits(name).client!r} {what} "
            "(see reelform.providers.base.Provider)"
        )
    return provider
