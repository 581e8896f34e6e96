"""What the engine knows about each provider without importing its client.

``spec``, ``plan`` and ``apply`` read provider facts (is a second submit free, can a
lost submit be found again, how many POSTs a minute) from here, never from the
client classes: importing a client pulls in httpx or PyAV, and the pure core must
not depend on them (docs/design.md, "Parts and boundaries").
"""

from __future__ import annotations

from dataclasses import dataclass

from reelform.errors import ConfigError


@dataclass(frozen=True)
class ProviderTraits:
    name: str
    #: A second submit costs nothing: a submit with an unknown outcome is simply sent
    #: again, and a render whose file is gone is made again, not downloaded.
    free: bool
    #: The provider can say which job an earlier submit made (``Provider.find_job``).
    #: Without it an interrupted submit is ``unknown`` until a person decides.
    finds_jobs: bool
    #: POST requests allowed per minute per API key, or None when unlimited.
    submit_rate_per_minute: float | None = None


BUILTIN: dict[str, ProviderTraits] = {
    "local": ProviderTraits("local", free=True, finds_jobs=True),
    # docs/providers.md: 20 POSTs a minute per key; no endpoint lists avatar videos.
    "jogg": ProviderTraits("jogg", free=False, finds_jobs=False, submit_rate_per_minute=20.0),
    # No documented rate (the SDK only backs off on 429s); tasks cannot be listed.
    "mirako": ProviderTraits("mirako", free=False, finds_jobs=False),
}


def provider_traits(name: str) -> ProviderTraits:
    try:
        return BUILTIN[name]
    except KeyError:
        known = ", ".join(BUILTIN)
        raise ConfigError(f"unknown provider {name!r} (known: {known})") from None


def resubmits_freely(name: str) -> bool:
    """Whether an interrupted submit to ``name`` may be sent again without a person."""
    return provider_traits(name).free
