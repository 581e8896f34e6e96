"""Provider fit: what each provider accepts, checked locally on the real files.

The limits and rules are each provider's traits (``reelform.traits``; the built-ins'
are docs/providers.md's). Checking them here, before anything is uploaded or paid for,
turns a failed render an hour later into an error at `validate`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from reelform.errors import Location, Problem
from reelform.providers.catalog import Catalog
from reelform.registry import TraitsByName, provider_traits
from reelform.speclang.assets import FileFacts
from reelform.speclang.expand import DesiredVideo, LoadedSpec
from reelform.speclang.schema_errors import did_you_mean
from reelform.traits import MB, Conflict, Limit, ProviderTraits

#: A photo avatar is JoggAI's add_motion: its image is checked against JoggAI's
#: limits, whichever provider's videos use it (and when none does yet).
PHOTO_AVATAR_PROVIDER = "jogg"


def fit_problems(spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> list[Problem]:
    """Every provider-fit problem of the spec's videos, each reported once."""
    checker = _Checker(spec, facts)
    for video in spec.videos:
        checker.check(video)
    photo = provider_traits(PHOTO_AVATAR_PROVIDER)
    for name, avatar in spec.head.avatars.items():
        message = checker.asset_message(avatar.image, "image", photo.image, photo.name)
        if message:
            checker.add(spec.source.locate(("avatars", name, "image")), message)
    return list(dict.fromkeys(checker.problems))


def _missing(value: object) -> bool:
    return value is None or value == ""


class _Checker:
    def __init__(self, spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> None:
        self.spec = spec
        self.facts = facts
        self.problems: list[Problem] = []
        self._asset_messages: dict[tuple[str, str, Limit, str], str | None] = {}
        self._getters: dict[str, Callable[[Any], Any]] = {}
        self._traits = TraitsByName()

    def at(self, video: DesiredVideo, *path: str | int) -> Location:
        return self.spec.locate_video(video, path)

    def check(self, video: DesiredVideo) -> None:
        v = video.video
        entry = self.spec.head.videos[video.entry]
        traits = self._traits[video.provider]
        voice = v.voice
        if voice.audio is not None:
            self.asset(
                voice.audio, "audio", traits.audio, video.provider, video, ("voice", "audio")
            )
        if (
            v.avatar is not None
            and v.avatar.photo is not None
            and v.avatar.photo not in self.spec.head.avatars
        ):
            self.add(
                self.at(video, "avatar", "photo"),
                did_you_mean("photo avatar", v.avatar.photo, self.spec.head.avatars),
            )
        if v.image is not None:
            self.asset(v.image, "image", traits.image, video.provider, video, ("image",))
            if traits.image.checks_size:
                self._image_size(video, v.image, traits)
        for need in traits.needs:
            if (not need.scripts_only or voice.script is not None) and _missing(
                self._value(v, need.field)
            ):
                self.add(self.at(video, *need.field.split(".")[:-1]), need.message)
        for refused in traits.refuses:
            if refused.field in entry:  # from `defaults` they are meant for other providers
                self.add(self.at(video, refused.field), refused.message)
        for conflict in traits.conflicts:
            if self._conflicts(video, conflict):
                self.add(self.at(video, *conflict.at.split(".")), conflict.message)

    def _value(self, video: Any, path: str) -> Any:
        getter = self._getters.get(path)
        if getter is None:
            getter = self._getters[path] = operator.attrgetter(path)
        try:
            return getter(video)
        except AttributeError:  # a part of the path is None
            return None

    def _conflicts(self, video: DesiredVideo, conflict: Conflict) -> bool:
        settings = self.spec.settings.get(video.provider, {})
        for path, value in conflict.values:
            name = path.removeprefix("settings.")
            actual = settings.get(name) if name != path else self._value(video.video, path)
            if actual != value:
                return False
        return True

    def _image_size(self, video: DesiredVideo, name: str, traits: ProviderTraits) -> None:
        facts = self._facts(name)
        if facts is None or not facts.width or not facts.height:
            return
        limit, w, h = traits.image, facts.width, facts.height
        if (
            (limit.min_side is not None and min(w, h) < limit.min_side)
            or (limit.max_long_side is not None and max(w, h) > limit.max_long_side)
            or (limit.max_short_side is not None and min(w, h) > limit.max_short_side)
        ):
            self.add(
                self.at(video, "image"),
                f"{traits.name} needs an image {_size_range(limit)}; {name!r} is {w}x{h}",
            )

    def _facts(self, name: str) -> FileFacts | None:
        return self.facts.get(name)

    def asset(
        self,
        name: str,
        kind: str,
        limit: Limit,
        provider: str,
        video: DesiredVideo,
        path: tuple[str, ...],
    ) -> None:
        message = self.asset_message(name, kind, limit, provider)
        if message:
            self.add(self.at(video, *path), message)

    def asset_message(self, name: str, kind: str, limit: Limit, provider: str) -> str | None:
        # The same asset is checked once per video; the answer only depends on these.
        key = (name, kind, limit, provider)
        if key not in self._asset_messages:
            self._asset_messages[key] = self._asset_problem(name, kind, limit, provider)
        return self._asset_messages[key]

    def _asset_problem(self, name: str, kind: str, limit: Limit, provider: str) -> str | None:
        if name not in self.spec.assets:
            return did_you_mean("asset", name, self.spec.assets)
        facts = self._facts(name)
        if facts is None:
            return None  # a url asset (not checked) or a missing file (already reported)
        if facts.kind != kind or facts.format not in limit.formats:
            found = facts.format or "an unknown format"
            return (
                f"{provider} needs {kind} as {'/'.join(limit.formats)}; asset {name!r} is {found}"
            )
        if limit.max_bytes is not None and facts.size > limit.max_bytes:
            return (
                f"asset {name!r} is {facts.size / MB:.1f} MB; {provider} takes "
                f"{kind} up to {limit.max_bytes // MB} MB"
            )
        if (
            limit.max_seconds is not None
            and facts.duration is not None
            and facts.duration > limit.max_seconds
        ):
            return (
                f"asset {name!r} is {facts.duration:.1f} s long; {provider} takes "
                f"{kind} up to {limit.max_seconds:g} s"
            )
        return None

    def add(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))


def catalog_problems(spec: LoadedSpec, catalogs: Mapping[str, Catalog]) -> list[Problem]:
    """`plan --check-remote`: avatar and voice ids the provider does not have.

    Pure: the catalogs were fetched (or read from the cache) by the caller.
    """
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for video in spec.videos:
        catalog = catalogs.get(video.provider)
        if catalog is None:
            continue
        v = video.video
        if (
            v.avatar is not None
            and v.avatar.id is not None
            and provider_traits(video.provider).avatar_ids
        ):
            key = (video.provider, "avatar", f"{v.avatar.type}:{v.avatar.id}")
            if key not in seen and not catalog.has_avatar(v.avatar.id, v.avatar.type):
                seen.add(key)
                problems.append(
                    Problem(
                        spec.locate_video(video, ("avatar", "id")),
                        f"{video.provider} has no {v.avatar.type} avatar "
                        f"{v.avatar.id} (reelform avatars --provider "
                        f"{video.provider})",
                    )
                )
        voice_id = v.voice.voice_id
        if voice_id and catalog.voices:
            key = (video.provider, "voice", voice_id)
            if key not in seen and not catalog.has_voice(voice_id):
                seen.add(key)
                problems.append(
                    Problem(
                        spec.locate_video(video, ("voice", "voice_id")),
                        f"{video.provider} has no voice {voice_id!r} "
                        f"(reelform voices --provider {video.provider})",
                    )
                )
    return problems


def _size_range(limit: Limit) -> str:
    """ "between 512x512 and 1920x1080", or the part of it the limit has."""
    low = f"{limit.min_side}x{limit.min_side}" if limit.min_side is not None else None
    long, short = limit.max_long_side, limit.max_short_side
    high = f"{long}x{short}" if long is not None and short is not None else None
    if high is None and (long or short) is not None:
        high = f"{long or short} pixels on a side"
    if low and high:
        return f"between {low} and {high}"
    return f"of at least {low}" if low else f"of at most {high}"
