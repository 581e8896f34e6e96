"""The one interface every provider implements, and the records that cross it.

The engine (``apply/``) speaks only to ``Provider``; it never knows which HTTP API,
or which offline renderer, is behind it. Records are frozen dataclasses so a job
can be passed between tasks, processes and the journal without surprises.

Error contract of every method (see ``reelform.errors``):
- ``RetryableError``: the provider did not take the request (429, 5xx, an error
  envelope that says "try later", a connection that never sent the request). The
  client has already retried a few times with backoff; the engine may try later.
- ``RejectedError``: the provider refused for good (bad parameter, no credit).
- ``OutcomeUnknownError``: only from ``submit_video`` / ``create_photo_avatar``: the
  request went out and the answer was lost. Never resent blindly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Aspect = Literal["portrait", "landscape", "square"]
AvatarKind = Literal["public", "custom", "photo"]


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


@dataclass(frozen=True)
class Asset:
    """A file a video or photo avatar uses.

    ``path`` is the local file (absolute) for ``path:`` assets; ``url`` is set for
    ``url:`` assets that are already hosted and are passed through as they are.
    """

    name: str
    sha256: str
    size: int
    content_type: str
    path: Path | None = None
    url: str | None = None
    duration: float | None = None  # seconds, for audio and video files
    #: The bytes, once read for a submit that sends them inline (Mirako): read before
    #: the submit's intent is recorded, so that a crash while reading leaves nothing
    #: unknown. ``repr=False``: never print megabytes.
    content: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class AvatarRef:
    """An avatar at the provider: a public or custom avatar, or a finished photo avatar."""

    id: int
    kind: AvatarKind = "public"


@dataclass(frozen=True)
class VoiceRequest:
    """Exactly one of ``script`` and ``audio`` is set."""

    voice_id: str | None = None
    script: str | None = None
    audio: Asset | None = None


@dataclass(frozen=True)
class VideoJob:
    """One video to render, provider-neutral.

    ``key`` is reelform's idempotency key (derived from the fingerprint, e.g.
    ``rf-3f2a9c0d1e4b5a6c``). Providers that can carry a name (JoggAI ``video_name``)
    include it, so that a submit whose answer was lost can be found again.
    ``asset_urls`` maps an asset's sha256 to what ``upload_asset`` returned for it.
    """

    key: str
    name: str
    voice: VoiceRequest
    avatar: AvatarRef | None = None
    image: Asset | None = None
    aspect: Aspect = "portrait"
    screen_style: int = 1
    captions: bool = False
    title: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    asset_urls: Mapping[str, str] = field(default_factory=dict)
    webhook_url: str | None = None


@dataclass(frozen=True)
class JobState:
    """What the provider says about a job now."""

    job_id: str
    status: JobStatus
    video_url: str | None = None
    duration: float | None = None
    cover_url: str | None = None
    error: str | None = None  # the provider's reason, on failure


@dataclass(frozen=True)
class PhotoAvatarRequest:
    key: str
    name: str
    image: Asset
    voice_id: str
    model: str = "2.0"
    asset_urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PhotoAvatarState:
    motion_id: str
    status: JobStatus
    avatar_id: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class AvatarInfo:
    id: str
    name: str
    kind: str
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class VoiceInfo:
    voice_id: str
    name: str
    language: str | None = None
    gender: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery. ``state`` is None when the body only says "look again"
    (Mirako's body is undocumented: the receiver confirms by polling)."""

    job_id: str
    state: JobState | None = None


@runtime_checkable
class Provider(Protocol):
    """What the engine needs from a provider. One instance per (provider, settings).

    What the engine knows about a provider without building one (is it free, its
    rate limit, what it costs) is in its ``reelform.traits.ProviderTraits``, not here.
    """

    @property
    def name(self) -> str: ...

    async def upload_asset(self, asset: Asset) -> str:
        """Make the asset available to the provider; return the reference that
        ``VideoJob.asset_urls`` will hold for it (a URL, for HTTP providers)."""
        ...

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState: ...

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState: ...

    async def submit_video(self, job: VideoJob) -> str:
        """Submit one render; return the provider's job id."""
        ...

    async def job_status(self, job_id: str) -> JobState: ...

    async def find_job(self, key: str) -> str | None:
        """The job id of an earlier submit carrying ``key``, or None when there is
        none or the provider offers no way to look (then the engine records the
        submit as ``unknown``)."""
        ...

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]: ...

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check a delivery's signature or token; raise ``WebhookRejected`` if bad."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ReadsCredits(Protocol):
    """A provider whose API tells the account's remaining credit (JoggAI's
    ``GET /v2/user/remaining_quota``); ``traits.reads_quota`` says which do, without
    building one. `plan --check-remote` shows it and `apply` checks the estimate
    against it (docs/design.md, "Credits")."""

    async def remaining_credits(self) -> float:
        """The credits the account can still spend, in the provider's own unit."""
        ...
