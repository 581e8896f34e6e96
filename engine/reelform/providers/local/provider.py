"""``LocalProvider``: the Provider protocol over the offline renderer.

Renders run in a process pool: eSpeak NG is process-global and not thread-safe,
and encoding is CPU-bound, so each worker process owns its own eSpeak and encoder.
The pool uses "spawn" so that workers never inherit the event loop's threads or
locks. Nothing is paid for, so a render lost in a crash is simply started again
from the ``<key>.job.json`` written at submit.

Settings (``providers: {local: {...}}``): ``workers`` (processes; default: CPU
count), ``preset`` (x264 preset, default veryfast), ``crf`` (default 23).
Per job: ``settings: {preview: "true"}`` renders at half size.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import anyio.to_thread

from reelform.errors import RejectedError, RenderError, WebhookRejected
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
from reelform.providers.local.jobs import (
    job_to_json,
    read_json,
    render_request,
    request_from_json,
    request_to_json,
    write_json,
)
from reelform.providers.local.looks import CATALOG
from reelform.providers.local.render import RenderRequest, render

_PHOTO_ID_BASE = 1_000_000  # photo avatar ids sit far above the built-in catalog
_MAX_RESTARTS = 2  # a render that kills its worker every time is failed, not retried forever


def _render_job(request: RenderRequest, folder: Path) -> float:
    """Worker-process entry: render, then record the outcome next to the video."""
    try:
        result = render(request, folder / f"{request.key}.mp4")
    except RenderError as exc:
        write_json(folder / f"{request.key}.error.json", {"error": str(exc)})
        raise
    except Exception as exc:
        reason = f"render failed: {type(exc).__name__}: {exc}"
        write_json(folder / f"{request.key}.error.json", {"error": reason})
        raise RenderError(reason) from exc
    write_json(
        folder / f"{request.key}.result.json",
        {"duration": result.duration, "frames": result.frames},
    )
    return result.duration


def _voices() -> list[VoiceInfo]:
    """Worker-process entry: the eSpeak voices. The id is the voice file's name
    ("en", "en-us", "de"), which is what espeak_SetVoiceByName accepts."""
    from reelform.providers.local.speech import list_espeak_voices

    return [
        VoiceInfo(
            voice_id=v.identifier.rsplit("/", 1)[-1].lower(),
            name=v.name,
            language=v.languages[0] if v.languages else None,
            gender=v.gender,
            details={"identifier": v.identifier, "languages": list(v.languages)},
        )
        for v in list_espeak_voices()
    ]


def _duration(mp4: Path) -> float | None:
    """The video's duration read from the file (for a video whose worker died between
    moving it into place and writing its result.json)."""
    import av

    try:
        with av.open(str(mp4)) as container:
            return float(container.duration or 0) / av.time_base or None
    except (av.error.FFmpegError, OSError):
        return None


def _languages_of(voice: VoiceInfo) -> list[object]:
    languages = voice.details.get("languages")
    return list(languages) if isinstance(languages, list) else [voice.language]


class LocalProvider:
    name = "local"  # its facts (free, finds its jobs): reelform.traits.LOCAL

    def __init__(self, settings: Mapping[str, str], context: ProviderContext) -> None:
        self.settings = dict(settings)
        self.folder = Path(context.work_dir) / "local"
        try:
            self.workers = int(self.settings.get("workers", os.cpu_count() or 2))
        except ValueError:
            raise RejectedError("local", "workers must be an integer") from None
        self._pool: ProcessPoolExecutor | None = None
        self._renders: dict[str, Future[float]] = {}
        self._restarts: dict[str, int] = {}

    # -- the pool -------------------------------------------------------------------

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=max(1, self.workers), mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def _start(self, request: RenderRequest) -> None:
        (self.folder / f"{request.key}.error.json").unlink(missing_ok=True)
        # A worker that died mid-render left its temp file (named after its pid).
        for stale in self.folder.glob(f".{request.key}.mp4.*.tmp"):
            stale.unlink(missing_ok=True)
        try:
            future = self._executor().submit(_render_job, request, self.folder)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            future = self._executor().submit(_render_job, request, self.folder)
        self._renders[request.key] = future

    # -- videos ----------------------------------------------------------------------

    async def upload_asset(self, asset: Asset) -> str:
        if asset.path is not None:
            return Path(asset.path).resolve().as_uri()
        if asset.url is not None:
            return asset.url  # rendering will say it needs a local file
        raise RejectedError("local", f"asset {asset.name!r} has neither a path nor a URL")

    async def submit_video(self, job: VideoJob) -> str:
        """Start a render; the job id is the key. The key is derived from the job's
        fingerprint, so a key that is already rendered or rendering is not redone."""
        self.folder.mkdir(parents=True, exist_ok=True)
        running = self._renders.get(job.key)
        finished = (self.folder / f"{job.key}.mp4").exists() and (
            self.folder / f"{job.key}.result.json"
        ).exists()
        if (running is not None and not running.done()) or finished:
            return job.key
        self._restarts.pop(job.key, None)
        record: dict[str, Any] = {"job": job_to_json(job)}
        try:
            request = render_request(job, self.settings, self._photo_image(job))
        except RenderError as exc:
            # A job that cannot render still gets an id: its status says why.
            write_json(self.folder / f"{job.key}.job.json", record)
            write_json(self.folder / f"{job.key}.error.json", {"error": str(exc)})
            return job.key
        record["request"] = request_to_json(request)
        write_json(self.folder / f"{job.key}.job.json", record)
        (self.folder / f"{job.key}.result.json").unlink(missing_ok=True)
        self._start(request)
        return job.key

    async def job_status(self, job_id: str) -> JobState:
        mp4 = self.folder / f"{job_id}.mp4"
        future = self._renders.get(job_id)
        if future is not None and not future.done():
            return JobState(job_id, JobStatus.RUNNING)
        if future is not None and not future.cancelled():
            exc = future.exception()
            # BrokenProcessPool: the worker died, so the render is lost: restarted below.
            if exc is not None and not isinstance(exc, BrokenProcessPool):
                return JobState(job_id, JobStatus.FAILED, error=str(exc) or type(exc).__name__)
        if mp4.exists():
            result = read_json(self.folder / f"{job_id}.result.json") or {}
            duration = result.get("duration")
            return JobState(
                job_id,
                JobStatus.COMPLETED,
                video_url=mp4.resolve().as_uri(),
                duration=float(duration) if duration is not None else _duration(mp4),
            )
        error = read_json(self.folder / f"{job_id}.error.json")
        if error is not None:
            return JobState(job_id, JobStatus.FAILED, error=str(error.get("error")))
        record = read_json(self.folder / f"{job_id}.job.json")
        if record is None or "request" not in record:
            return JobState(job_id, JobStatus.FAILED, error=f"no local job {job_id!r}")
        # Submitted before a crash (or by another process) and never finished: rendering
        # is free, so start it again rather than fail.
        restarts = self._restarts.get(job_id, 0)
        if restarts >= _MAX_RESTARTS:
            return JobState(
                job_id,
                JobStatus.FAILED,
                error=f"the render stopped {restarts + 1} times without finishing",
            )
        self._restarts[job_id] = restarts + 1
        self._start(request_from_json(record["request"]))
        return JobState(job_id, JobStatus.RUNNING)

    async def find_job(self, key: str) -> str | None:
        known = (self.folder / f"{key}.mp4").exists() or (self.folder / f"{key}.job.json").exists()
        return key if known else None

    # -- photo avatars -----------------------------------------------------------------

    def _photo_record(self, avatar_id: int) -> dict[str, Any] | None:
        return read_json(self.folder / "photo-avatars" / f"{avatar_id}.json")

    def _photo_image(self, job: VideoJob) -> Path | None:
        """The photo of a photo avatar. Public and custom avatars are drawn: a custom
        avatar exists only at its provider, so locally it maps onto the catalog
        like any id, which keeps a spec written for JoggAI previewable."""
        if job.avatar is None or job.avatar.kind != "photo":
            return None
        record = self._photo_record(job.avatar.id)
        if record is None:
            raise RenderError(f"no local photo avatar {job.avatar.id} (create it first)")
        return Path(record["image"])

    async def create_photo_avatar(self, request: PhotoAvatarRequest) -> PhotoAvatarState:
        """Instant: the local "photo avatar" is the photo itself, animated by loudness."""
        source = Path(request.image.path) if request.image.path is not None else None
        if source is None or not source.is_file():
            raise RejectedError("local", f"photo avatar {request.name!r} needs a local image file")
        digest = int(hashlib.sha256(request.key.encode()).hexdigest()[:8], 16)
        avatar_id = _PHOTO_ID_BASE + digest % 1_000_000_000
        image = self.folder / "photos" / f"{request.image.sha256}{source.suffix.lower()}"
        image.parent.mkdir(parents=True, exist_ok=True)
        if not image.exists():
            tmp = image.with_name(f".{image.name}.{os.getpid()}.tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, image)
        motion_id = f"local-photo-{avatar_id}"
        write_json(
            self.folder / "photo-avatars" / f"{avatar_id}.json",
            {
                "avatar_id": avatar_id,
                "motion_id": motion_id,
                "name": request.name,
                "key": request.key,
                "image": str(image.resolve()),
                "voice_id": request.voice_id,
            },
        )
        return PhotoAvatarState(motion_id, JobStatus.COMPLETED, avatar_id=avatar_id)

    async def photo_avatar_status(self, motion_id: str) -> PhotoAvatarState:
        try:
            avatar_id = int(motion_id.rsplit("-", 1)[-1])
        except ValueError:
            avatar_id = -1
        if self._photo_record(avatar_id) is None:
            return PhotoAvatarState(
                motion_id, JobStatus.FAILED, error=f"no local photo avatar {motion_id!r}"
            )
        return PhotoAvatarState(motion_id, JobStatus.COMPLETED, avatar_id=avatar_id)

    # -- catalogs ----------------------------------------------------------------------

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        found: list[AvatarInfo] = []
        if kind in (None, "public"):
            for lk in CATALOG:
                details: dict[str, object] = {
                    "face": lk.face,
                    "hair": lk.hair_style,
                    "clothing": lk.clothing,
                    "glasses": lk.glasses,
                }
                found.append(AvatarInfo(str(lk.id), lk.name, "public", details))
        if kind in (None, "photo"):
            for path in sorted((self.folder / "photo-avatars").glob("*.json")):
                record = read_json(path)
                if record is not None:
                    found.append(
                        AvatarInfo(
                            str(record["avatar_id"]),
                            str(record["name"]),
                            "photo",
                            {"image": record["image"]},
                        )
                    )
        for key, value in (filters or {}).items():
            found = [a for a in found if str(a.details.get(key, "")) == value]
        return found

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        future = self._executor().submit(_voices)
        found: list[VoiceInfo] = await anyio.to_thread.run_sync(future.result)
        if language:
            prefix = language.lower()
            found = [
                v for v in found if any(str(lang).startswith(prefix) for lang in _languages_of(v))
            ]
        return sorted(found, key=lambda v: v.voice_id)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise WebhookRejected("local", "the local provider sends no webhooks")

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # Unstarted renders are dropped (job.json restarts them on the next run).
            await anyio.to_thread.run_sync(lambda: pool.shutdown(wait=True, cancel_futures=True))
