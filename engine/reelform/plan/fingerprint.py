"""Fingerprints: what a video *is*, independent of how the spec spells it.

The inputs of a video are its canonical provider request with every asset
replaced by the sha256 of its content. The fingerprint hashes them (sorted keys,
compact JSON), so key order, row order, file names and unrelated edits change
nothing, while one changed byte of an audio file changes exactly the videos
that use it. The inputs are stored in the lockfile so that `plan` can say
*which* field changed.

Labels (a provider's ``label_fields``: JoggAI's ``title``) are in the inputs but
not in the fingerprint: they do not change the picture, so a new one is recorded,
not rendered. A lockfile written before labels existed holds ``legacy`` fingerprints
(the digest of all the inputs); ``same_render`` accepts those (docs/design.md,
"Labels").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from reelform.registry import provider_traits
from reelform.traits import LABELS, NO_LABELS
from reelform.traits import labels_of as labels_of  # a lock entry's ``Request.labels``

if TYPE_CHECKING:  # not at run time: a no-op plan served by its memo expands nothing
    from reelform.speclang.assets import FileFacts
    from reelform.speclang.expand import AssetDecl, DesiredVideo, LoadedSpec

WORDS_PER_SECOND = 2.5  # 150 words a minute, a calm speaking pace


class Request(NamedTuple):
    """A video the spec asks for, reduced to what decides the render.

    (A NamedTuple: one is made per video, 100,000 for a large spec.)
    """

    name: str
    provider: str
    inputs: dict[str, Any]
    fingerprint: str  # of the inputs without the labels: the render's identity
    seconds: float  # estimated length of the video
    #: The value of each of ``traits.LABELS`` in the inputs (None where absent).
    labels: tuple[Any, ...] = NO_LABELS
    #: The provider's label fields found in the inputs (empty: no labels).
    label_fields: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return idempotency_key(self.name, self.fingerprint)


def digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def idempotency_key(name: str, fingerprint: str) -> str:
    """Short, stable id sent to providers (JoggAI video_name) to recognise a submit."""
    return "rf-" + hashlib.sha256(f"{name}\0{fingerprint}".encode()).hexdigest()[:16]


def asset_ref(decl: AssetDecl, facts: FileFacts | None) -> dict[str, Any]:
    if decl.url is not None:
        return {"url": decl.url}
    return {"sha256": facts.sha256 if facts else None}


def photo_avatar_inputs(
    spec: LoadedSpec, name: str, facts: Mapping[str, FileFacts | None]
) -> dict[str, Any]:
    avatar = spec.head.avatars[name]
    return {
        "image": asset_ref(spec.assets[avatar.image], facts.get(avatar.image)),
        "voice_id": avatar.voice_id,
        "model": avatar.model,
        **({"description": avatar.description} if avatar.description else {}),
    }


def requests_for(
    spec: LoadedSpec,
    facts: Mapping[str, FileFacts | None],
    videos: Sequence[DesiredVideo] | None = None,
) -> list[Request]:
    """Inputs, fingerprint, key and estimate of every video of a loaded spec (or of
    ``videos``, some of them)."""
    photo_fingerprints = {
        name: digest(photo_avatar_inputs(spec, name, facts)) for name in spec.head.avatars
    }
    asset_refs = {name: asset_ref(decl, facts.get(name)) for name, decl in spec.assets.items()}
    shapes = _Shapes(spec.settings)
    return [
        _request(video, facts, asset_refs, photo_fingerprints, shapes[video.provider])
        for video in (spec.videos if videos is None else videos)
    ]


class _Shape(NamedTuple):
    """What a provider's traits and settings make of every one of its requests."""

    settings: Mapping[str, Any] | None
    ignored_fields: tuple[str, ...]
    title_is_label: bool
    voice_id_for_scripts: bool


class _Shapes(dict[str, _Shape]):
    """Each provider's ``_Shape``, made on first use: one lookup a video."""

    def __init__(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__()
        self.settings = settings

    def __missing__(self, provider: str) -> _Shape:
        traits = provider_traits(provider)
        shape = self[provider] = _Shape(
            self.settings.get(provider),
            traits.ignored_fields,
            "title" in traits.label_fields,
            traits.voice_id_for_scripts,
        )
        return shape


def _request(
    desired: DesiredVideo,
    facts: Mapping[str, FileFacts | None],
    asset_refs: Mapping[str, dict[str, Any]],
    photos: Mapping[str, str],
    shape: _Shape,
) -> Request:
    video = desired.video
    voice = video.voice
    provider = desired.provider
    inputs: dict[str, Any] = {"provider": provider}
    if shape.settings:
        inputs["settings"] = shape.settings
    avatar = video.avatar
    if avatar is not None:
        if avatar.photo is not None:
            inputs["avatar"] = {"photo": photos.get(avatar.photo)}
        else:
            inputs["avatar"] = {"id": avatar.id, "type": avatar.type}
    if video.image is not None:
        inputs["image"] = asset_refs.get(video.image)
    script = voice.script
    spoken: dict[str, Any] = {"voice_id": voice.voice_id}
    if script is not None:
        spoken["script"] = script
        seconds = max(1.0, len(script.split()) / WORDS_PER_SECOND)
    else:
        assert voice.audio is not None
        spoken["audio"] = asset_refs.get(voice.audio)
        audio = facts.get(voice.audio)
        seconds = audio.duration if audio and audio.duration else 0.0
    inputs["voice"] = spoken
    inputs["aspect"] = video.aspect or "portrait"
    inputs["screen_style"] = video.screen_style or 1
    inputs["captions"] = bool(video.captions)
    title = video.title
    # The title is the one label there is (``traits.LABELS``): where it is one, it goes
    # into the inputs after the digest, recorded but not hashed (no pop, no copy).
    labeled = title is not None and shape.title_is_label
    if title is not None and not labeled:
        inputs["title"] = title
    # Only what the provider's request holds: a new `defaults.aspect` must not re-render
    # (and pay for) Mirako videos, whose request is just an image and audio.
    for name in shape.ignored_fields:
        inputs.pop(name, None)
    if shape.voice_id_for_scripts and script is None:
        spoken.pop("voice_id", None)  # a voice profile only speaks scripts
    fingerprint = digest(inputs)
    if labeled:
        inputs["title"] = title
    return Request(
        desired.name,
        provider,
        inputs,
        fingerprint,
        seconds,
        tuple(map(inputs.get, LABELS)),
        LABELS if labeled else (),
    )


def fingerprint_of(inputs: Mapping[str, Any], label_fields: tuple[str, ...]) -> str:
    """The fingerprint of record: the digest of the inputs without the labels."""
    return digest(identity(inputs, label_fields) if label_fields else inputs)


def legacy_fingerprint(inputs: Mapping[str, Any]) -> str:
    """The fingerprint before labels existed: the digest of all the inputs."""
    return digest(inputs)


def identity(inputs: Mapping[str, Any], label_fields: tuple[str, ...]) -> dict[str, Any]:
    """The inputs that decide the render: all but the labels."""
    return {key: value for key, value in inputs.items() if key not in label_fields}


def same_render(
    fingerprint: str | None,
    inputs: Mapping[str, Any] | None,
    request: Request,
    label_fields: tuple[str, ...],
) -> bool:
    """Whether a lock entry (its fingerprint and recorded inputs) is ``request``'s render.

    Either the fingerprints are equal, or the entry's is *legacy*: the digest of
    all its inputs, labels included (before labels existed). Then the entry is the
    request's render when its inputs without the labels are the request's identity.
    At most two digests, and only for an entry whose fingerprint differs.
    """
    if fingerprint == request.fingerprint:
        return True
    if fingerprint is None or not label_fields:
        return False
    if request.label_fields and fingerprint == legacy_fingerprint(request.inputs):
        return True  # the same inputs, labels and all, fingerprinted the old way
    if not inputs or not any(name in inputs for name in label_fields):
        return False
    return (
        fingerprint_of(inputs, label_fields) == request.fingerprint
        and legacy_fingerprint(inputs) == fingerprint
    )


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Dotted paths whose values differ; an asset's hash shows as the asset's field."""
    flat_old, flat_new = _flatten(old), _flatten(new)
    changed = {
        path.removesuffix(".sha256").removesuffix(".url")
        for path in flat_old.keys() | flat_new.keys()
        if flat_old.get(path, _ABSENT) != flat_new.get(path, _ABSENT)
    }
    return tuple(sorted(changed))


_ABSENT = object()


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(_flatten(item, path + "."))
        else:
            flat[path] = item
    return flat
