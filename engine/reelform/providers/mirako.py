"""The Mirako client: a talking avatar from one image and one audio track.

Mirako takes the image and the audio inline, base64-encoded, in the request itself:
there is nothing to upload first. ``upload_asset`` therefore only checks that the
file is there and returns ``"local:<sha256>"`` (a content reference the lockfile
can keep); an asset with only a ``url`` is passed through as that URL and
downloaded when the video is submitted.

A ``script`` voice is synthesised first with ``POST /v1/speech/tts``; its answer is
raw PCM s16 which is wrapped into a WAV container (see ``TTS_SAMPLE_RATE``).

Errors are RFC 7807 problem documents (not always with a body). ``find_job`` returns
None: Mirako has no endpoint that lists talking-avatar tasks (docs/design.md, "Never pay twice").
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import wave
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from reelform.atomic import atomic_write
from reelform.errors import OutcomeUnknownError, RejectedError, RetryableError
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
    VoiceRequest,
    WebhookEvent,
)
from reelform.providers.http import (
    Requester,
    Scrubber,
    api_key,
    base_url,
    join_url,
    parse_retry_after,
    response_excerpt,
)
from reelform.providers.submits import Answer, submit_failure
from reelform.providers.webhooks import verify_mirako

DEFAULT_BASE_URL = "https://mirako.co"
KEY_VARIABLE = "MIRAKO_API_KEY"
#: mirako.yaml says only "PCM s16"; the example of ``b64_audio_str`` in the same
#: document decodes to a WAV header for 16 kHz mono 16-bit, so that is the format
#: assumed for headerless PCM. An answer that already is a WAV file is kept as it is.
TTS_SAMPLE_RATE = 16_000
STATUS = {
    "IN_QUEUE": JobStatus.PENDING,
    "IN_PROGRESS": JobStatus.RUNNING,
    "COMPLETED": JobStatus.COMPLETED,
    "FAILED": JobStatus.FAILED,
    "CANCELED": JobStatus.FAILED,
    "TIMED_OUT": JobStatus.FAILED,
}
FAILURE_REASONS = {"CANCELED": "task canceled", "TIMED_OUT": "task timed out"}


def problem_message(response: httpx.Response, scrub: Scrubber) -> str:
    """A readable line from an RFC 7807 problem document, or from whatever came back."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        excerpt = scrub(response_excerpt(response)) if response.content else ""
        return f"HTTP {response.status_code}" + (f" {excerpt}" if excerpt else "")
    parts = [str(problem.get("title") or f"HTTP {response.status_code}")]
    if problem.get("detail"):
        parts[0] += f": {problem['detail']}"
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            where = error.get("location")
            text = str(error.get("message") or "")
            parts.append(f"{where}: {text}" if where else text)
    return scrub("; ".join(p for p in parts if p)[:500])


def is_problem(response: httpx.Response) -> bool:
    """Whether the body is an RFC 7807 problem document: Mirako's own voice."""
    if "problem+json" in response.headers.get("content-type", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "title" in body and "status" in body


def parse_answer(response: httpx.Response, *, what: str, paid: bool, scrub: Scrubber) -> Any:
    """The ``data`` of a success, or the ``ProviderError`` the answer means.

    For a ``paid`` request the error follows ``submits.judge_answer``: only a problem
    document with a client-error status (400-422) is Mirako refusing."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if 200 <= status < 300:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "data" in payload:
            return payload["data"]
        message = f"{what}: HTTP {status} without a data field"
        if paid:
            raise submit_failure("mirako", Answer(status), message, code=status)
        raise RetryableError("mirako", message, code=status)
    detail = problem_message(response, scrub)
    if status == 402:
        text = f"{what}: insufficient credits ({detail})"
    elif status == 401:
        text = f"{what}: invalid API key ({KEY_VARIABLE}): {detail}"
    else:
        text = f"{what}: {detail}"
    if paid:
        refusal = 400 <= status <= 422 and is_problem(response)
        answer = Answer(status, retry_after, refusal, no_credit=refusal and status == 402)
        raise submit_failure("mirako", answer, text, code=status)
    if status == 429 or status >= 500:
        raise RetryableError(
            "mirako", text, code=status, retry_after=retry_after, throttled=status == 429
        )
    raise RejectedError("mirako", text, code=status)


def pcm_to_wav(pcm: bytes, sample_rate: int = TTS_SAMPLE_RATE) -> bytes:
    if pcm[:4] == b"RIFF" and pcm[8:12] == b"WAVE":
        return pcm
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return buffer.getvalue()


class MirakoProvider:
    name = "mirako"  # its facts (no documented rate, not free): reelform.traits.MIRAKO

    def __init__(self, settings: Mapping[str, str], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.context = context
        # A malformed key fails here, before a run records anything, rather than as
        # an encoding error inside the first request; a missing one only when used.
        api_key(context.env, KEY_VARIABLE, required=False)
        self.base_url = base_url(context.env, "MIRAKO_BASE_URL", DEFAULT_BASE_URL)
        self._owns_client = context.http is None
        self._client = context.http or httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=15.0))
        self._scrub = Scrubber(context.env, [context.env.get(KEY_VARIABLE), context.webhook_secret])
        self._http = Requester(
            self._client,
            "mirako",
            scrub=self._scrub,
            time_scale=context.time_scale,
            limiter=context.limiter,
        )
        self._reads = self._http.over(context.http_reads)

    def __repr__(self) -> str:
        return f"MirakoProvider(base_url={self.base_url!r})"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key(self.context.env, KEY_VARIABLE)}"}

    async def _call(self, method: str, path: str, *, paid: bool = False, json: Any = None) -> Any:
        what = f"{method} {path}"
        return await (self._reads if method == "GET" else self._http).request(
            method,
            join_url(self.base_url, path),
            lambda r: parse_answer(r, what=what, paid=paid, scrub=self._scrub),
            paid=paid,
            rate_limited=method == "POST",
            headers=self._headers(),
            json=json,
            label=what,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- assets -----------------------------------------------------------------------

    async def upload_asset(self, asset: Asset) -> str:
        if asset.path is not None:
            if not await anyio.Path(asset.path).is_file():
                raise RejectedError("mirako", f"asset {asset.name!r}: {asset.path} is not a file")
            return f"local:{asset.sha256}"
        if asset.url:
            return asset.url
        raise RejectedError("mirako", f"asset {asset.name!r} has neither a path nor a URL")

    async def _asset_bytes(self, asset: Asset) -> bytes:
        if asset.content is not None:
            return asset.content
        if asset.path is not None:
            try:
                return await anyio.Path(asset.path).read_bytes()
            except OSError as exc:
                raise RejectedError(
                    "mirako", f"asset {asset.name!r}: cannot read {asset.path}"
                ) from exc
        if not asset.url:
            raise RejectedError("mirako", f"asset {asset.name!r} has neither a path nor a URL")

        def parse(response: httpx.Response) -> bytes:
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableError(
                    "mirako",
                    f"download of {asset.name!r}: HTTP {response.status_code}",
                    code=response.status_code,
                    throttled=response.status_code == 429,
                )
            if response.status_code >= 400:
                raise RejectedError(
                    "mirako",
                    f"download of {asset.name!r}: HTTP {response.status_code}",
                    code=response.status_code,
                )
            return response.content

        # A hosted file is fetched without our credentials: it is someone else's server.
        return await self._http.request(
            "GET", asset.url, parse, label=f"download of {asset.name!r}"
        )

    # -- videos -----------------------------------------------------------------------

    async def synthesize(self, text: str, voice_id: str) -> bytes:
        """WAV bytes for ``text`` spoken by the voice profile ``voice_id``."""
        body = {"text": text, "voice_profile_id": voice_id, "return_type": "b64_audio_str"}
        # Billed: sent once, judged as a submit (the executor repeats what was not taken).
        data = await self._call("POST", "/v1/speech/tts", paid=True, json=body)
        encoded = data.get("b64_audio_str") if isinstance(data, dict) else None
        if not encoded:
            raise RejectedError("mirako", "POST /v1/speech/tts: answer without b64_audio_str")
        try:
            pcm = base64.b64decode(encoded, validate=False)
        except ValueError as exc:
            raise RejectedError("mirako", "POST /v1/speech/tts: audio is not base64") from exc
        return pcm_to_wav(pcm)

    async def prepare_job(self, job: VideoJob) -> VideoJob:
        """Everything the create needs, read now, before the engine records its intent.

        A script voice is synthesised (billed, so the speech is kept in the work
        folder by content and made once per script), and the image and audio bytes
        are read (a URL's downloaded). Done inside ``submit_video``, a crash during
        those seconds left a video whose create was never sent recorded as an unknown
        outcome."""
        if job.image is None:
            raise RejectedError("mirako", f"{job.name}: Mirako needs an image to animate")
        image = await self._loaded(job.image)  # first: a missing image wastes no speech
        voice = job.voice
        if voice.audio is not None:
            audio = await self._loaded(voice.audio)
        elif voice.script is not None:
            audio = await self._speech(job.name, voice.script, voice.voice_id)
        else:
            raise RejectedError("mirako", f"{job.name}: the voice has neither script nor audio")
        return dataclasses.replace(
            job, image=image, voice=VoiceRequest(audio=audio, voice_id=voice.voice_id)
        )

    async def _loaded(self, asset: Asset) -> Asset:
        return dataclasses.replace(asset, content=await self._asset_bytes(asset))

    async def _speech(self, name: str, script: str, voice_id: str | None) -> Asset:
        voice_id = voice_id or self.settings.get("voice_id")
        if not voice_id:
            raise RejectedError("mirako", f"{name}: a script needs a voice_id")
        key = hashlib.sha256(f"{voice_id}\0{script}".encode()).hexdigest()
        path = self.context.work_dir / "speech" / f"{key}.wav"
        if not path.is_file():
            wav = await self.synthesize(script, voice_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, wav)
        data = path.read_bytes()
        return Asset(
            f"{name} speech",
            hashlib.sha256(data).hexdigest(),
            len(data),
            "audio/wav",
            path=path,
            content=data,
        )

    async def request_body(self, job: VideoJob) -> dict[str, Any]:
        """The create request; reads what ``prepare_job`` has not read already."""
        if job.voice.audio is None or job.image is None:
            job = await self.prepare_job(job)
        assert job.image is not None and job.voice.audio is not None  # prepare_job's promise
        image = await self._asset_bytes(job.image)
        audio = await self._asset_bytes(job.voice.audio)
        # Only image, audio and webhook: the schema forbids any other field.
        body: dict[str, Any] = {
            "image": base64.b64encode(image).decode("ascii"),
            "audio": base64.b64encode(audio).decode("ascii"),
        }
        if job.webhook_url:
            body["webhook"] = {"url": job.webhook_url}
            if self.context.webhook_secret:
                body["webhook"]["auth_token"] = self.context.webhook_secret
        return body

    async def submit_video(self, job: VideoJob) -> str:
        body = await self.request_body(job)
        data = await self._call(
            "POST", "/v1/video/async_generate_talking_avatar", paid=True, json=body
        )
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not task_id:
            raise OutcomeUnknownError(
                "mirako", "POST /v1/video/async_generate_talking_avatar: answer without task_id"
            )
        return str(task_id)

    async def job_status(self, job_id: str) -> JobState:
        data = await self._call("GET", f"/v1/video/async_generate_talking_avatar/{job_id}/status")
        return job_state(job_id, data)

    async def find_job(self, key: str) -> str | None:
        return None  # no listing of tasks exists (module docstring)

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState:
        raise RejectedError("mirako", "photo avatars are a JoggAI feature; give Mirako an image")

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState:
        raise RejectedError("mirako", "photo avatars are a JoggAI feature")

    # -- catalogs and webhooks ------------------------------------------------------

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        """The account's own avatars (``/v1/avatar/list``); Mirako has no public ones."""
        if kind not in (None, "custom"):
            return []
        items = await self._call("GET", "/v1/avatar/list")
        result = []
        for item in items or []:
            if isinstance(item, dict) and item.get("id"):
                details = {k: v for k, v in item.items() if k not in ("id", "name")}
                result.append(
                    AvatarInfo(str(item["id"]), str(item.get("name") or ""), "custom", details)
                )
        return result

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        """Premade profiles, then the account's own; ``language`` matches a code prefix."""
        premade = await self._call("GET", "/v1/voice/premade_profiles")
        own = await self._call("GET", "/v1/voice/profiles")
        wanted = (language or "").lower()
        seen: set[str] = set()
        result: list[VoiceInfo] = []
        for origin, items in (("premade", premade), ("own", own)):
            for item in items or []:
                if not isinstance(item, dict) or not item.get("id") or item["id"] in seen:
                    continue
                languages = [str(x) for x in item.get("languages") or []]
                if wanted and not any(x.lower().startswith(wanted) for x in languages):
                    continue
                seen.add(item["id"])
                details = {k: v for k, v in item.items() if k not in ("id", "name")}
                details["origin"] = origin
                result.append(
                    VoiceInfo(
                        str(item["id"]),
                        str(item.get("name") or ""),
                        ",".join(languages) or None,
                        None,
                        details,
                    )
                )
        return result

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return verify_mirako(headers, body, self.context.webhook_secret)


def job_state(job_id: str, data: Any) -> JobState:
    data = data if isinstance(data, dict) else {}
    raw = str(data.get("status") or "").upper()
    status = STATUS.get(raw, JobStatus.RUNNING)
    file_url = data.get("file_url") or None
    if status is JobStatus.COMPLETED and not file_url:
        status = JobStatus.RUNNING
    error = None
    if status is JobStatus.FAILED:
        reason = data.get("error") or FAILURE_REASONS.get(raw) or "task failed"
        error = f"{reason} ({raw})" if raw not in str(reason) else str(reason)
    duration = data.get("output_duration")
    return JobState(
        job_id=str(data.get("task_id") or job_id),
        status=status,
        video_url=file_url,
        duration=float(duration) if isinstance(duration, int | float) else None,
        error=error,
    )
