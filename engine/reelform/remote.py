"""`plan --check-remote`: the providers' catalogs, fetched at most once a day.

Plan is offline by default; this is the one opt-in network read it makes. The
catalogs are cached in `.reelform/catalog-<provider>.json` (in the current
folder) for a day, so a second plan asks nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from reelform.errors import SpecError
from reelform.project import Prepared
from reelform.providers import ProviderContext, make_provider
from reelform.providers.catalog import Catalog, fetch_catalog, load_cached
from reelform.registry import provider_traits
from reelform.speclang.fit import catalog_problems

CACHE_DIR = Path(".reelform")
MAX_AGE = 24 * 3600.0


def check_remote(prepared: Sequence[Prepared], cache_dir: Path = CACHE_DIR) -> None:
    """Raise SpecError for avatar/voice ids the providers do not have."""
    used = {v.provider for p in prepared for v in p.spec.videos}
    needed = sorted(name for name in used if provider_traits(name).remote_catalog)
    catalogs = asyncio.run(_catalogs(needed, cache_dir))
    problems = [problem for p in prepared for problem in catalog_problems(p.spec, catalogs)]
    if problems:
        raise SpecError(problems)


async def _catalogs(names: Sequence[str], cache_dir: Path) -> dict[str, Catalog]:
    result: dict[str, Catalog] = {}
    for name in names:
        path = cache_dir / f"catalog-{name}.json"
        cached = load_cached(path, MAX_AGE, provider=name)
        if cached is None:
            provider = make_provider(name, {}, ProviderContext(work_dir=cache_dir))
            try:
                # A provider whose videos name no avatar ids has none to check.
                with_avatars = provider_traits(name).avatar_ids
                cached = await fetch_catalog(provider, with_avatars=with_avatars)
            finally:
                await provider.aclose()
            cached.save(path)
        result[name] = cached
    return result
