"""Provider fit: what each provider accepts, checked locally on the real files.

The limits are docs/providers.md's. Checking them here, before anything is uploaded
or paid for, turns a failed render an hour later into an error at `validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reelform.errors import Location, Problem
from reelform.providers.catalog import Catalog
from reelform.speclang.assets import FileFacts
from reelform.speclang.expand import DesiredVideo, LoadedSpec
from reelform.speclang.schema_errors import did_you_mean

MB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    formats: tuple[str, ...]
    max_bytes: int | None = None
    max_seconds: float | None = None


JOGG_LIMITS = {
    "image": Limit(("jpeg", "png", "webp", "gif"), 10 * MB),
    "audio": Limit(("mp3", "wav", "m4a"), 20 * MB, 600),
    "video": Limit(("mp4", "webm", "mov"), 100 * MB, 300),
}
MIRAKO_IMAGE = Limit(("jpeg", "png"))
MIRAKO_AUDIO = Limit(("wav", "mp3"), None, 60)
MIRAKO_MIN_SIDE, MIRAKO_MAX_LONG, MIRAKO_MAX_SHORT = 512, 1920, 1080
LOCAL_IMAGE = Limit(("jpeg", "png", "webp", "gif"))
LOCAL_AUDIO = Limit(("wav", "mp3", "m4a"))


def fit_problems(spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> list[Problem]:
    """Every provider-fit problem of the spec's videos, each reported once."""
    checker = _Checker(spec, facts)
    for video in spec.videos:
        checker.check(video)
    for name, avatar in spec.head.avatars.items():
        message = checker.asset_message(avatar.image, "image", JOGG_LIMITS["image"], "jogg")
        if message:
            checker.add(spec.source.locate(("avatars", name, "image")), message)
    return list(dict.fromkeys(checker.problems))


class _Checker:
    def __init__(self, spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> None:
        self.spec = spec
        self.facts = facts
        self.problems: list[Problem] = []
        self._asset_messages: dict[tuple[str, str, Limit, str], str | None] = {}

    def at(self, video: DesiredVideo, *path: str | int) -> Location:
        return self.spec.locate_video(video, path)

    def check(self, video: DesiredVideo) -> None:
        v = video.video
        entry = self.spec.head.videos[video.entry]
        voice = v.voice
        audio_limit, image_limit = {
            "jogg": (JOGG_LIMITS["audio"], JOGG_LIMITS["image"]),
            "mirako": (MIRAKO_AUDIO, MIRAKO_IMAGE),
        }.get(video.provider, (LOCAL_AUDIO, LOCAL_IMAGE))
        if voice.audio is not None:
            self.asset(voice.audio, "audio", audio_limit, video.provider, video, ("voice", "audio"))
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
            self.asset(v.image, "image", image_limit, video.provider, video, ("image",))
        if video.provider == "jogg":
            self._jogg(video, "image" in entry)
        elif video.provider == "mirako":
            self._mirako(video, "avatar" in entry)
            for name in ("aspect", "screen_style", "captions"):
                if name in entry:  # from `defaults` they are meant for other providers
                    self.add(
                        self.at(video, name),
                        f"mirako does not take `{name}`: its video "
                        "has the image's size and no captions",
                    )

    def _jogg(self, video: DesiredVideo, image_on_entry: bool) -> None:
        v = video.video
        if v.avatar is None:
            self.add(self.at(video), "jogg needs `avatar` ({id: N} or {photo: NAME})")
        if image_on_entry:
            self.add(
                self.at(video, "image"),
                "jogg does not take `image`; make a photo avatar "
                "under `avatars:` and use `avatar: {photo: NAME}`",
            )
        if not v.voice.voice_id:
            self.add(self.at(video, "voice"), "jogg needs `voice.voice_id` (even for audio)")
        v1 = self.spec.settings["jogg"].get("api_version") == "v1"
        if v1 and v.screen_style == 3 and v.captions:
            self.add(
                self.at(video, "captions"),
                "jogg v1 screen_style 3 (transparent WebM) needs `captions: false`",
            )

    def _mirako(self, video: DesiredVideo, avatar_on_entry: bool) -> None:
        v = video.video
        if v.image is None:
            self.add(self.at(video), "mirako needs `image` (a JPG or PNG asset to animate)")
        if avatar_on_entry:
            self.add(self.at(video, "avatar"), "mirako does not take `avatar`; it animates `image`")
        if v.voice.script is not None and not v.voice.voice_id:
            self.add(
                self.at(video, "voice"),
                "mirako needs `voice.voice_id` (a voice profile) to speak a script",
            )
        if v.image is not None:
            facts = self._facts(v.image)
            if facts is not None and facts.width and facts.height:
                w, h = facts.width, facts.height
                if (
                    min(w, h) < MIRAKO_MIN_SIDE
                    or max(w, h) > MIRAKO_MAX_LONG
                    or min(w, h) > MIRAKO_MAX_SHORT
                ):
                    self.add(
                        self.at(video, "image"),
                        f"mirako needs an image between 512x512 and 1920x1080; "
                        f"{v.image!r} is {w}x{h}",
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
        if v.avatar is not None and v.avatar.id is not None and video.provider == "jogg":
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
