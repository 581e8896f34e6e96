"""The echo provider's client: a ``reelform.providers.base.Provider`` over HTTP.

reelform imports this module only when it builds the provider (`apply`, `voices`),
from the dotted path in the traits. It follows the Provider error contract:
``RetryableError`` when the request was not taken (it never left, or a 429/5xx),
``RejectedError`` for a refusal, ``OutcomeUnknownError`` when a submit went out
and its answer was lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reelform.errors import (
    ConfigError,
    OutcomeUnknownError,
    RejectedError,
    RetryableError,
    WebhookRejected,
)
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
from reelform_echo.traits import TRAITS

NAME = TRAITS.name
KEY_VARIABLE = TRAITS.credentials[0]
STATUSES = {"running": JobStatus.RUNNING, "completed": JobStatus.COMPLETED}


class EchoProvider:
    name = NAME

    def __init__(self, settings: Mapping[str, str], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.context = context
        base = context.env.get(TRAITS.base_url_variable or "", "").rstrip("/")
        if not base:
            raise ConfigError(f"echo: set {TRAITS.base_url_variable} (e.g. from `reelform sim`)")
        self.base_url = base
        self._own = context.http is None
        self._http = context.http or httpx.AsyncClient(timeout=10.0)
        self._reads = context.http_reads or self._http

    def _headers(self) -> dict[str, str]:
        key = (self.context.env.get(KEY_VARIABLE) or "").strip()
        if not key:
            raise ConfigError(f"echo: set {KEY_VARIABLE}")
        return {"x-api-key": key}

    async def _call(self, method: str, path: str, *, submit: bool = False, **kw: Any) -> Any:
        client = self._http if method == "POST" else self._reads
        what = f"{method} {path}"
        try:
            answer = await client.request(
                method, self.base_url + path, headers=self._headers(), **kw
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise RetryableError(NAME, f"{what}: {exc}") from None  # never sent
        except httpx.TransportError as exc:
            if submit:  # it went out: the job may exist
                raise OutcomeUnknownError(NAME, f"{what}: {exc}") from None
            raise RetryableError(NAME, f"{what}: {exc}") from None
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetryableError(
                NAME, f"{what}: HTTP {answer.status_code}", code=answer.status_code
            )
        if answer.status_code >= 400:
            raise RejectedError(NAME, f"{what}: HTTP {answer.status_code}", code=answer.status_code)
        return answer.json()

    async def upload_asset(self, asset: Asset) -> str:
        raise RejectedError(NAME, f"asset {asset.name!r}: echo takes no files")

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState:
        raise RejectedError(NAME, "echo has no photo avatars")

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState:
        raise RejectedError(NAME, "echo has no photo avatars")

    async def submit_video(self, job: VideoJob) -> str:
        if job.voice.script is None:
            raise RejectedError(NAME, f"{job.name}: echo needs a script")
        body = {
            "key": job.key,
            "script": job.voice.script,
            "title": job.title or job.name,
            "tone": job.settings.get("tone", self.settings.get("tone", "flat")),
        }
        created = await self._call("POST", "/videos", json=body, submit=True)
        return str(created["id"])

    async def job_status(self, job_id: str) -> JobState:
        job = await self._call("GET", f"/videos/{job_id}")
        status = STATUSES.get(job.get("status"), JobStatus.PENDING)
        return JobState(job_id, status, video_url=job.get("url"), duration=job.get("duration"))

    async def find_job(self, key: str) -> str | None:
        found = await self._call("GET", "/videos", params={"key": key})
        return str(found[0]["id"]) if found else None

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        return []

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        voices = await self._call("GET", "/voices")
        return [VoiceInfo(v["voice_id"], v["name"], v.get("language")) for v in voices]

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise WebhookRejected(NAME, "echo sends no webhooks")

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()
