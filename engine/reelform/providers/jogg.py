"""The JoggAI client (v2 by default, v1 with ``api_version: v1``).

Every JoggAI answer is an envelope ``{code, msg, data}`` whose ``code`` decides,
whatever the HTTP status (docs/providers.md); plain 429/5xx without an envelope happen
too. Catalogs and photo avatars always use the v2 endpoints: they are account-level
and their ids are the same for both versions, and only v2 is documented for
photo avatars.

The API key is read when the first request needs it, not at construction, so that a
provider can be built (for its rate limit, or to verify webhooks) without a key.

``find_job`` returns None: JoggAI offers no endpoint that lists avatar videos (v2
lists only template and product videos, v1 no projects at all), so a submit whose
answer was lost cannot be found by name. ``video_name`` still carries the key
("<title> [rf-...]") so a person can recognise it in the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reelform.errors import ConfigError, OutcomeUnknownError, RejectedError, RetryableError
from reelform.providers import ProviderContext
from reelform.providers.base import (
    Asset,
    AvatarInfo,
    JobState,
    PhotoAvatarRequest,
    PhotoAvatarState,
    VideoJob,
    VoiceInfo,
    WebhookEvent,
)
from reelform.providers.http import (
    Requester,
    Scrubber,
    api_key,
    base_url,
    file_chunks,
    join_url,
    parse_retry_after,
    response_excerpt,
)
from reelform.providers.jogg_answers import (
    KEY_VARIABLE,
    V1_ASPECTS,
    created_id,
    field,
    parse_envelope,
    photo_state,
    remaining_quota,
    v1_job_state,
    v2_job_state,
)
from reelform.providers.jogg_catalog import JoggCatalog
from reelform.providers.webhooks import verify_jogg

DEFAULT_BASE_URL = "https://api.jogg.ai"


class JoggProvider:
    name = "jogg"  # its facts (20 POSTs a minute, credits): reelform.traits.JOGG

    def __init__(self, settings: Mapping[str, str], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.context = context
        # A malformed key fails here, before a run records anything, rather than as
        # an encoding error inside the first request; a missing one only when used.
        api_key(context.env, KEY_VARIABLE, required=False)
        version = self.settings.get("api_version", "v2")
        if version not in ("v1", "v2"):
            raise ConfigError(f"jogg: api_version must be v1 or v2, not {version!r}")
        self.api_version = version
        self.base_url = base_url(context.env, "JOGG_BASE_URL", DEFAULT_BASE_URL)
        self._owns_client = context.http is None
        self._client = context.http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=15.0))
        self._scrub = Scrubber(context.env, [context.env.get(KEY_VARIABLE), context.webhook_secret])
        self._http = Requester(
            self._client,
            "jogg",
            scrub=self._scrub,
            time_scale=context.time_scale,
            limiter=context.limiter,
        )
        self._reads = self._http.over(context.http_reads)
        self.catalog = JoggCatalog(self._get)

    def __repr__(self) -> str:
        return f"JoggProvider(api_version={self.api_version!r}, base_url={self.base_url!r})"

    # -- plumbing ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": api_key(self.context.env, KEY_VARIABLE)}

    async def _post(self, path: str, body: Mapping[str, Any], *, paid: bool) -> Any:
        """``paid``: sent once, its failure judged as a submit's (``submits``)."""
        what = f"POST {path}"
        return await self._http.request(
            "POST",
            join_url(self.base_url, path),
            lambda r: parse_envelope(r, what=what, paid=paid, scrub=self._scrub),
            paid=paid,
            rate_limited=True,
            headers=self._headers(),
            json=dict(body),
            label=what,
        )

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        what = f"GET {path}"
        return await self._reads.request(
            "GET",
            join_url(self.base_url, path),
            lambda r: parse_envelope(r, what=what, paid=False, scrub=self._scrub),
            headers=self._headers(),
            params=params,
            label=what,
        )

    async def remaining_credits(self) -> float:
        """The key's remaining credits (``base.ReadsCredits``). The endpoint is v2's
        whatever ``api_version`` says: the account is the key's, not the version's."""
        data = await self._get("/v2/user/remaining_quota")
        return remaining_quota(data)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- assets -----------------------------------------------------------------------

    async def upload_asset(self, asset: Asset) -> str:
        """Sign, then PUT the bytes to the signed URL; return the hosted URL."""
        if asset.url:
            return asset.url
        if asset.path is None:
            raise RejectedError("jogg", f"asset {asset.name!r} has neither a path nor a URL")
        path = str(asset.path)
        try:
            size = asset.path.stat().st_size
        except OSError as exc:
            raise RejectedError("jogg", f"asset {asset.name!r}: cannot read {path}") from exc
        if size != asset.size:
            # The lockfile would record a sha256 for bytes that were never uploaded.
            raise RejectedError("jogg", f"asset {asset.name!r} changed since it was hashed")
        if self.api_version == "v2":
            request = {
                "filename": asset.path.name,
                "content_type": asset.content_type,
                "file_size": asset.size,
            }
            put_type = asset.content_type
        else:
            request = {"filename": asset.path.name}
            put_type = "application/octet-stream"
        # A sign request costs nothing (a lost answer wastes an unused URL): retried.
        data = await self._post(f"/{self.api_version}/upload/asset", request, paid=False)
        sign_url = field(data, "sign_url", "upload/asset")
        hosted = field(
            data, "asset_url" if self.api_version == "v2" else "asset_id", "upload/asset"
        )

        def parse_put(response: httpx.Response) -> None:
            status = response.status_code
            if status == 429 or status >= 500:
                raise RetryableError(
                    "jogg",
                    f"upload of {asset.name!r}: HTTP {status}",
                    code=status,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    throttled=status == 429,
                )
            if status >= 400:
                raise RejectedError(
                    "jogg",
                    f"upload of {asset.name!r}: HTTP {status} "
                    f"{self._scrub(response_excerpt(response))}".rstrip(),
                    code=status,
                )

        # A signed URL is its own credential: no x-api-key; never logged (label).
        await self._http.request(
            "PUT",
            sign_url,
            parse_put,
            headers={"Content-Type": put_type, "Content-Length": str(asset.size)},
            body=lambda: file_chunks(path),
            label=f"upload of {asset.name!r}",
        )
        return str(hosted)

    # -- videos -----------------------------------------------------------------------

    def video_name(self, job: VideoJob) -> str:
        # No length limit is documented for video_name (v1 or v2); the key comes last
        # so a truncating dashboard still shows the human part.
        return f"{job.title or job.name} [{job.key}]"

    def _voice(self, job: VideoJob) -> dict[str, Any]:
        voice = job.voice
        voice_id = voice.voice_id or self.settings.get("voice_id")
        if not voice_id:
            raise RejectedError("jogg", f"{job.name}: JoggAI needs a voice_id, even with audio")
        if voice.script is not None:
            return {"type": "script", "voice_id": voice_id, "script": voice.script}
        if voice.audio is None:
            raise RejectedError("jogg", f"{job.name}: the voice has neither script nor audio")
        audio_url = job.asset_urls.get(voice.audio.sha256) or voice.audio.url
        if not audio_url:
            raise RejectedError("jogg", f"{job.name}: audio {voice.audio.name!r} not uploaded")
        return {"type": "audio", "voice_id": voice_id, "audio_url": audio_url}

    def request_body(self, job: VideoJob) -> dict[str, Any]:
        """The create request for ``job`` (pure; also what the lockfile may record)."""
        if job.avatar is None:
            raise RejectedError("jogg", f"{job.name}: JoggAI needs an avatar")
        avatar_type = 0 if job.avatar.kind == "public" else 1
        voice = self._voice(job)
        if self.api_version == "v1":
            body: dict[str, Any] = {
                "avatar_id": job.avatar.id,
                "avatar_type": avatar_type,
                "voice_id": voice["voice_id"],
                "aspect_ratio": V1_ASPECTS[job.aspect],
                "screen_style": job.screen_style,
                "caption": job.captions,
                "video_name": self.video_name(job),
            }
            body.update({k: voice[k] for k in ("script", "audio_url") if k in voice})
            return body
        body = {
            "avatar": {"avatar_id": job.avatar.id, "avatar_type": avatar_type},
            "voice": voice,
            "aspect_ratio": job.aspect,
            "screen_style": job.screen_style,
            "caption": job.captions,
            "video_name": self.video_name(job),
        }
        if job.webhook_url:
            body["webhook_url"] = job.webhook_url
        return body

    async def submit_video(self, job: VideoJob) -> str:
        body = self.request_body(job)
        if self.api_version == "v1":
            data = await self._post("/v1/create_video_from_talking_avatar", body, paid=True)
            return created_id(data, "project_id", "create_video_from_talking_avatar")
        data = await self._post("/v2/create_video_from_avatar", body, paid=True)
        return created_id(data, "video_id", "create_video_from_avatar")

    async def job_status(self, job_id: str) -> JobState:
        if self.api_version == "v1":
            data = await self._get("/v1/project", {"project_id": job_id})
            return v1_job_state(job_id, data)
        data = await self._get(f"/v2/avatar_video/{job_id}")
        return v2_job_state(job_id, data)

    async def find_job(self, key: str) -> str | None:
        # No listing of avatar videos exists (module docstring; docs/design.md, "Never pay twice").
        return None

    # -- photo avatars ----------------------------------------------------------------

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState:
        image_url = request.asset_urls.get(request.image.sha256) or request.image.url
        if not image_url:
            raise RejectedError("jogg", f"photo avatar {request.name!r}: image not uploaded")
        body = {
            "image_url": image_url,
            "name": f"{request.name} [{request.key}]",
            "voice_id": request.voice_id,
            "model": request.model,
        }
        data = await self._post("/v2/photo_avatar/add_motion", body, paid=True)
        state = photo_state(data)
        if not state.motion_id:
            # "Success" without an id: something may exist that we cannot name.
            raise OutcomeUnknownError("jogg", "photo_avatar/add_motion: answer without motion_id")
        return state

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState:
        data = await self._get("/v2/photo_avatar", {"motion_id": motion_id})
        state = photo_state(data)
        return (
            state
            if state.motion_id
            else PhotoAvatarState(motion_id, state.status, state.avatar_id, state.error)
        )

    # -- catalogs and webhooks ------------------------------------------------------

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        return await self.catalog.avatars(kind, filters)

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        return await self.catalog.voices(language)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        secret = self.context.webhook_secret or self.context.env.get("JOGG_WEBHOOK_SECRET")
        return verify_jogg(headers, body, secret)
