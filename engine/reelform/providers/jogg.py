"""The JoggAI client (v2 by default, v1 with ``api_version: v1``).

Every JoggAI answer is an envelope ``{code, msg, data}`` whose ``code`` decides,
whatever the HTTP status (PROVIDERS.md); plain 429/5xx without an envelope happen
too. Catalogues and photo avatars always use the v2 endpoints: they are account-level
and their ids are the same for both versions, and PROVIDERS.md documents only v2 for
photo avatars.

The API key is read when the first request needs it, not at construction, so that a
provider can be built (for its rate limit, or to verify webhooks) without a key.

``find_job`` returns None: JoggAI offers no endpoint that lists avatar videos (v2
lists only template and product videos, v1 no projects at all), so a submit whose
answer was lost cannot be found by name. ``video_name`` still carries the key
("<title> [rf-...]") so a person can recognise it in the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from reelform.errors import ConfigError, OutcomeUnknownError, RejectedError, RetryableError
from reelform.providers import ProviderContext
from reelform.providers.base import (
    Asset,
    AvatarInfo,
    JobState,
    JobStatus,
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
from reelform.providers.jogg_catalogue import JoggCatalogue
from reelform.providers.webhooks import verify_jogg

log = logging.getLogger("reelform.providers.jogg")

DEFAULT_BASE_URL = "https://api.jogg.ai"
KEY_VARIABLE = "JOGG_API_KEY"
REJECTED_CODES = {
    10104: "record not found",
    18020: "insufficient credit",
    18025: "no permission to call APIs",
    40000: "parameter error",
}
V1_ASPECTS = {"portrait": 0, "landscape": 1, "square": 2}
V2_STATUS = {
    "pending": JobStatus.PENDING,
    "processing": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
}
V1_STATUS = {1: JobStatus.PENDING, 2: JobStatus.PENDING, 3: JobStatus.RUNNING,
             4: JobStatus.COMPLETED, 5: JobStatus.FAILED, 99: JobStatus.FAILED}


def parse_envelope(
    response: httpx.Response, *, what: str, create: bool, scrub: Scrubber
) -> Any:
    """The ``data`` of a successful envelope, or the ``ProviderError`` it means."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        payload = response.json()
    except ValueError:
        payload = None
    raw_code = payload.get("code") if isinstance(payload, dict) else None
    if isinstance(raw_code, str) and raw_code.lstrip("-").isdigit():
        raw_code = int(raw_code)  # tolerate "code": "0"
    if isinstance(payload, dict) and isinstance(raw_code, int) and not isinstance(raw_code, bool):
        code: int = raw_code
        message = scrub(str(payload.get("msg") or "").strip()[:300])
        if code == 0:
            return payload.get("data")
        if response.status_code == 429:  # "not now" wins over whatever code came with it
            raise RetryableError("jogg", f"{what}: rate limited ({message or 'HTTP 429'})",
                                 code=code, retry_after=retry_after)
        if code == 10105:
            raise RejectedError("jogg", f"{what}: invalid API key ({KEY_VARIABLE})", code=code)
        if code in REJECTED_CODES:
            raise RejectedError(
                "jogg", f"{what}: {message or REJECTED_CODES[code]} (code {code})", code=code
            )
        if code == 50000 or response.status_code >= 500:
            raise RetryableError(
                "jogg", f"{what}: {message or 'system error'} (code {code})",
                code=code, retry_after=retry_after,
            )
        raise RejectedError("jogg", f"{what}: {message or 'error'} (code {code})", code=code)
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetryableError("jogg", f"{what}: HTTP {status}", code=status, retry_after=retry_after)
    if status in (401, 403):
        raise RejectedError(
            "jogg", f"{what}: HTTP {status}, check {KEY_VARIABLE} (invalid API key?)", code=status
        )
    if status >= 400:
        excerpt = scrub(response_excerpt(response))
        raise RejectedError("jogg", f"{what}: HTTP {status} {excerpt}".rstrip(), code=status)
    # A 2xx that is not an envelope: for a submit nobody knows whether it was taken.
    message = f"{what}: HTTP {status} without a JoggAI envelope"
    if create:
        raise OutcomeUnknownError("jogg", message)
    raise RetryableError("jogg", message, code=status)


class JoggProvider:
    name = "jogg"
    #: PROVIDERS.md: 20 POST requests per minute per API key.
    submit_rate_per_minute: float | None = 20.0

    def __init__(self, settings: Mapping[str, str], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.context = context
        version = self.settings.get("api_version", "v2")
        if version not in ("v1", "v2"):
            raise ConfigError(f"jogg: api_version must be v1 or v2, not {version!r}")
        self.api_version = version
        self.base_url = base_url(context.env, "JOGG_BASE_URL", DEFAULT_BASE_URL)
        self._owns_client = context.http is None
        self._client = context.http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=15.0))
        self._scrub = Scrubber(
            context.env, [context.env.get(KEY_VARIABLE), context.webhook_secret]
        )
        self._http = Requester(
            self._client, "jogg", scrub=self._scrub, time_scale=context.time_scale,
            limiter=context.limiter,
        )
        self.catalogue = JoggCatalogue(self._get)

    def __repr__(self) -> str:
        return f"JoggProvider(api_version={self.api_version!r}, base_url={self.base_url!r})"

    # -- plumbing ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": api_key(self.context.env, KEY_VARIABLE)}

    async def _post(self, path: str, body: Mapping[str, Any], *, create: bool) -> Any:
        what = f"POST {path}"
        return await self._http.request(
            "POST", join_url(self.base_url, path),
            lambda r: parse_envelope(r, what=what, create=create, scrub=self._scrub),
            create=create, rate_limited=True, headers=self._headers(), json=dict(body),
            label=what,
        )

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        what = f"GET {path}"
        return await self._http.request(
            "GET", join_url(self.base_url, path),
            lambda r: parse_envelope(r, what=what, create=False, scrub=self._scrub),
            headers=self._headers(), params=params, label=what,
        )

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
            request = {"filename": asset.path.name, "content_type": asset.content_type,
                       "file_size": asset.size}
            put_type = asset.content_type
        else:
            request = {"filename": asset.path.name}
            put_type = "application/octet-stream"
        # A lost answer to a sign request wastes nothing but an unused URL; base.py
        # allows OutcomeUnknownError only from submits, so it is "try again" here.
        try:
            data = await self._post(f"/{self.api_version}/upload/asset", request, create=True)
        except OutcomeUnknownError as exc:
            raise RetryableError("jogg", str(exc).removeprefix("jogg: ")) from exc
        sign_url = _field(data, "sign_url", "upload/asset")
        hosted = _field(data, "asset_url" if self.api_version == "v2" else "asset_id",
                        "upload/asset")

        def parse_put(response: httpx.Response) -> None:
            status = response.status_code
            if status == 429 or status >= 500:
                raise RetryableError(
                    "jogg", f"upload of {asset.name!r}: HTTP {status}", code=status,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                )
            if status >= 400:
                raise RejectedError(
                    "jogg", f"upload of {asset.name!r}: HTTP {status} "
                    f"{self._scrub(response_excerpt(response))}".rstrip(), code=status,
                )

        # A signed URL is its own credential: no x-api-key; never logged (label).
        await self._http.request(
            "PUT", sign_url, parse_put,
            headers={"Content-Type": put_type, "Content-Length": str(asset.size)},
            body=lambda: file_chunks(path), label=f"upload of {asset.name!r}",
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
                "avatar_id": job.avatar.id, "avatar_type": avatar_type,
                "voice_id": voice["voice_id"], "aspect_ratio": V1_ASPECTS[job.aspect],
                "screen_style": job.screen_style, "caption": job.captions,
                "video_name": self.video_name(job),
            }
            body.update({k: voice[k] for k in ("script", "audio_url") if k in voice})
            return body
        body = {
            "avatar": {"avatar_id": job.avatar.id, "avatar_type": avatar_type},
            "voice": voice, "aspect_ratio": job.aspect, "screen_style": job.screen_style,
            "caption": job.captions, "video_name": self.video_name(job),
        }
        if job.webhook_url:
            body["webhook_url"] = job.webhook_url
        return body

    async def submit_video(self, job: VideoJob) -> str:
        body = self.request_body(job)
        if self.api_version == "v1":
            data = await self._post("/v1/create_video_from_talking_avatar", body, create=True)
            return str(_field(data, "project_id", "create_video_from_talking_avatar"))
        data = await self._post("/v2/create_video_from_avatar", body, create=True)
        return str(_field(data, "video_id", "create_video_from_avatar"))

    async def job_status(self, job_id: str) -> JobState:
        if self.api_version == "v1":
            data = await self._get("/v1/project", {"project_id": job_id})
            return v1_job_state(job_id, data)
        data = await self._get(f"/v2/avatar_video/{job_id}")
        return v2_job_state(job_id, data)

    async def find_job(self, key: str) -> str | None:
        # No listing of avatar videos exists (module docstring, DESIGN.md section 6).
        return None

    # -- photo avatars ----------------------------------------------------------------

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState:
        image_url = request.asset_urls.get(request.image.sha256) or request.image.url
        if not image_url:
            raise RejectedError("jogg", f"photo avatar {request.name!r}: image not uploaded")
        body = {"image_url": image_url, "name": f"{request.name} [{request.key}]",
                "voice_id": request.voice_id, "model": request.model}
        data = await self._post("/v2/photo_avatar/add_motion", body, create=True)
        state = photo_state(data)
        if not state.motion_id:
            raise RejectedError("jogg", "photo_avatar/add_motion: answer without motion_id")
        return state

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState:
        data = await self._get("/v2/photo_avatar", {"motion_id": motion_id})
        state = photo_state(data)
        return state if state.motion_id else PhotoAvatarState(
            motion_id, state.status, state.avatar_id, state.error
        )

    # -- catalogues and webhooks ------------------------------------------------------

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        return await self.catalogue.avatars(kind, filters)

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        return await self.catalogue.voices(language)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        secret = self.context.webhook_secret or self.context.env.get("JOGG_WEBHOOK_SECRET")
        return verify_jogg(headers, body, secret)


def _field(data: Any, name: str, what: str) -> Any:
    if not isinstance(data, dict) or data.get(name) in (None, ""):
        raise RejectedError("jogg", f"{what}: answer without {name}")
    return data[name]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def v2_job_state(job_id: str, data: Any) -> JobState:
    data = data if isinstance(data, dict) else {}
    raw = str(data.get("status") or "").lower()
    status = V2_STATUS.get(raw)
    if status is None:
        log.info("jogg: unknown video status %r for %s; treated as running", raw, job_id)
        status = JobStatus.RUNNING
    video_url = data.get("video_url") or None
    if status is JobStatus.COMPLETED and not video_url:
        status = JobStatus.RUNNING  # completed without a URL yet: look again later
    error = None
    if status is JobStatus.FAILED:
        err = data.get("error")
        if isinstance(err, dict):
            error = str(err.get("message") or err.get("code") or "render failed")
        else:
            error = str(err or data.get("error_msg") or "render failed")
    return JobState(
        job_id=str(data.get("video_id") or job_id), status=status, video_url=video_url,
        duration=_number(data.get("duration")), cover_url=data.get("cover_url") or None,
        error=error,
    )


def v1_job_state(job_id: str, data: Any) -> JobState:
    data = data if isinstance(data, dict) else {}
    raw = data.get("status_code", data.get("status"))  # one example names it `status`
    code = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
    status = V1_STATUS.get(code) if code is not None else None
    if status is None:
        status = JobStatus.RUNNING
    video_url = data.get("video_url") or None
    if status is JobStatus.COMPLETED and not video_url:
        status = JobStatus.RUNNING
    error = None
    if status is JobStatus.FAILED:
        error = "video deleted" if code == 99 else str(data.get("status_desc") or "render failed")
    return JobState(
        job_id=job_id, status=status, video_url=video_url,
        duration=_number(data.get("video_duration")), cover_url=data.get("cover_url") or None,
        error=error,
    )


def photo_state(data: Any) -> PhotoAvatarState:
    data = data if isinstance(data, dict) else {}
    status = V2_STATUS.get(str(data.get("status") or "").lower(), JobStatus.RUNNING)
    avatar_id = data.get("avatar_id")
    return PhotoAvatarState(
        motion_id=str(data.get("motion_id") or ""),
        status=status,
        avatar_id=int(avatar_id) if isinstance(avatar_id, int | str) and str(avatar_id).isdigit()
        else None,
        error=(str(data.get("error_msg") or "motion failed")
               if status is JobStatus.FAILED else None),
    )
