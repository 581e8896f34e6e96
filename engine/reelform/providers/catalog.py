"""Which avatar and voice ids a provider has, for ``plan --check-remote``.

Fetching a catalog is a few paged GETs; ``plan`` runs often, so the result is
cached in a small JSON file. ``load_cached`` returns None for a missing, unreadable,
foreign or stale cache rather than failing: the cache is only a shortcut.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reelform.atomic import atomic_write
from reelform.providers.base import Provider

CACHE_VERSION = 1


@dataclass(frozen=True)
class Catalog:
    provider: str
    #: avatar ids by kind ("public", "custom", "photo"), as strings
    avatars: Mapping[str, frozenset[str]] = field(default_factory=dict)
    voices: frozenset[str] = frozenset()
    fetched_at: float = 0.0

    @property
    def avatar_ids(self) -> frozenset[str]:
        return frozenset().union(*self.avatars.values()) if self.avatars else frozenset()

    @property
    def voice_ids(self) -> frozenset[str]:
        return self.voices

    def has_avatar(self, avatar_id: int | str, kind: str | None = None) -> bool:
        ids = self.avatars.get(kind, frozenset()) if kind else self.avatar_ids
        return str(avatar_id) in ids

    def has_voice(self, voice_id: str) -> bool:
        return voice_id in self.voices

    def to_json(self) -> str:
        document = {
            "version": CACHE_VERSION,
            "provider": self.provider,
            "fetched_at": self.fetched_at,
            "avatars": {kind: sorted(ids) for kind, ids in sorted(self.avatars.items())},
            "voices": sorted(self.voices),
        }
        return json.dumps(document, indent=1, sort_keys=True) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a reader never sees half a cache."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, self.to_json().encode())


def load_cached(
    path: str | os.PathLike[str],
    max_age: float,
    *,
    provider: str | None = None,
    now: float | None = None,
) -> Catalog | None:
    """The cached catalog if it is at most ``max_age`` seconds old, else None."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if document.get("version") != CACHE_VERSION:
            return None
        catalog = Catalog(
            provider=str(document["provider"]),
            avatars={str(k): frozenset(map(str, v)) for k, v in document["avatars"].items()},
            voices=frozenset(map(str, document["voices"])),
            fetched_at=float(document["fetched_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if provider is not None and catalog.provider != provider:
        return None
    age = (time.time() if now is None else now) - catalog.fetched_at
    return catalog if 0 <= age <= max_age else None


async def fetch_catalog(provider: Provider, *, with_avatars: bool = True) -> Catalog:
    """Every avatar (all kinds) and voice id the provider lists now.

    ``with_avatars=False`` skips the avatars, for providers whose videos name none.
    """
    avatars: dict[str, set[str]] = {}
    if with_avatars:
        for avatar in await provider.list_avatars():
            avatars.setdefault(avatar.kind, set()).add(avatar.id)
    voices = {voice.voice_id for voice in await provider.list_voices()}
    return Catalog(
        provider=provider.name,
        avatars={kind: frozenset(ids) for kind, ids in avatars.items()},
        voices=frozenset(voices),
        fetched_at=time.time(),
    )
