"""JoggAI's avatar and voice catalogs, read page by page.

Pages start at 1 and hold at most 100 items. The end is ``has_more: false`` where
the answer says so, else a short page, else ``total`` reached; a hard page limit
guards against a server that always says "more".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from reelform.errors import ConfigError
from reelform.providers.base import AvatarInfo, VoiceInfo

Get = Callable[[str, Mapping[str, Any] | None], Awaitable[Any]]

PAGE_SIZE = 100
MAX_PAGES = 500

AVATAR_PATHS = {
    "public": "/v2/avatars/public",
    "custom": "/v2/avatars/custom",
    "photo": "/v2/avatars/photo_avatars",
}
#: The query filters each catalog accepts (jogg-v2.yaml); others are refused early.
AVATAR_FILTERS = {
    "public": {"aspect_ratio", "style", "gender", "age", "scene", "ethnicity"},
    "custom": {"name", "status"},
    "photo": {"name", "status"},
}
FILTER_ALIASES = {"aspect": "aspect_ratio"}


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        value = data.get(key)
        if value is None and isinstance(data.get("data"), list):
            value = data["data"]
    else:
        value = data
    return [item for item in value or [] if isinstance(item, dict)]


class JoggCatalog:
    def __init__(self, get: Get) -> None:
        self._get = get

    async def pages(
        self, path: str, key: str, params: Mapping[str, Any] | None = None, *, paged: bool = True
    ) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            query = dict(params or {})
            if paged:
                query.update(page=page, page_size=PAGE_SIZE)
            data = await self._get(path, query or None)
            items = _items(data, key)
            collected.extend(items)
            if not paged or not items:
                break
            has_more = data.get("has_more") if isinstance(data, dict) else None
            total = data.get("total") if isinstance(data, dict) else None
            if has_more is False:
                break
            if has_more is None and (
                len(items) < PAGE_SIZE or (isinstance(total, int) and len(collected) >= total)
            ):
                break
        return collected

    async def avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        """Avatars of one kind, or of every kind when ``kind`` is None."""
        kinds = [kind] if kind else list(AVATAR_PATHS)
        result: list[AvatarInfo] = []
        for one in kinds:
            if one not in AVATAR_PATHS:
                raise ConfigError(f"jogg: unknown avatar kind {one!r} (public, custom, photo)")
            query = {FILTER_ALIASES.get(k, k): v for k, v in (filters or {}).items() if v}
            unknown = sorted(set(query) - AVATAR_FILTERS[one])
            if unknown and kind:
                raise ConfigError(
                    f"jogg: {one} avatars cannot be filtered by {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(AVATAR_FILTERS[one]))})"
                )
            if unknown:
                continue  # listing every kind: a filter one kind lacks excludes that kind
            for item in await self.pages(AVATAR_PATHS[one], "avatars", query):
                avatar_id = item.get("id", item.get("avatar_id"))
                if avatar_id is None:
                    continue
                details = {k: v for k, v in item.items() if k not in ("id", "avatar_id", "name")}
                result.append(AvatarInfo(str(avatar_id), str(item.get("name") or ""), one, details))
        return result

    async def voices(self, language: str | None = None) -> list[VoiceInfo]:
        """Public voices, then the account's own (which are not paged)."""
        query = {"language": language} if language else {}
        public = await self.pages("/v2/voices", "voices", query)
        custom = await self.pages("/v2/voices/custom", "voices", query, paged=False)
        seen: set[str] = set()
        result: list[VoiceInfo] = []
        for origin, items in (("public", public), ("custom", custom)):
            for item in items:
                voice_id = str(item.get("voice_id") or "")
                if not voice_id or voice_id in seen:
                    continue
                seen.add(voice_id)
                details = {
                    k: v
                    for k, v in item.items()
                    if k not in ("voice_id", "name", "language", "gender")
                }
                details["origin"] = origin
                result.append(
                    VoiceInfo(
                        voice_id,
                        str(item.get("name") or ""),
                        item.get("language"),
                        item.get("gender"),
                        details,
                    )
                )
        return result
