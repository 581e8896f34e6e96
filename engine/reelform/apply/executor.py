"""Executing plans: upload, create photo avatars, submit, poll, download, record.

Never paying twice rests on three rules, each enforced at one place here:
1. Before a submit, an intent record (``submitting``) is durable in the journal;
   right after it returns, the job id (``submitted``) is durable before anything
   else happens. A restart finds every submit it ever started.
2. A ``submitting`` record found at start is resolved by asking the provider
   (``find_job``); if the provider cannot say, the video becomes ``unknown`` and
   is resubmitted only on a person's ``--resubmit-unknown`` (free providers
   excepted: nothing can be paid twice there).
3. A failure while *polling* never marks a job failed (it exists and may
   finish); only the provider saying "failed" does, and only that makes a retry.

Independent work runs concurrently: ``parallel`` bounds the uploads, submits and
downloads in flight; waiting for renders takes no slot. Each provider's rate
limit is a TokenBucket shared by every spec of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from reelform.apply.download import DownloadFiles, clean_partials, download
from reelform.apply.polling import PollPolicy
from reelform.apply.progress import Reporter
from reelform.errors import (
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)
from reelform.plan.diff import Action, AvatarRequest, PlanItem, SpecPlan
from reelform.plan.fingerprint import Request
from reelform.project import Prepared
from reelform.providers import provider_class
from reelform.providers.base import (
    Asset,
    AvatarRef,
    JobState,
    JobStatus,
    PhotoAvatarRequest,
    Provider,
    VideoJob,
    VoiceRequest,
)
from reelform.providers.ratelimit import TokenBucket
from reelform.spec.model import Video
from reelform.state.journal import GroupCommit, Journal


def free(provider: str) -> bool:
    """Whether a second submit to ``provider`` costs nothing (see ``Provider.free``)."""
    return provider_class(provider).free


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Outcome:
    spec: str
    name: str
    status: str  # completed | failed | running | pending | unknown | pruned | skipped
    reason: str | None = None
    kind: str = "video"

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "pruned", "skipped")


@dataclass
class SpecRun:
    """One spec being applied: its plan and its journal."""

    prepared: Prepared
    plan: SpecPlan
    journal: Journal
    videos: dict[str, Video] = field(init=False, repr=False)
    commit: GroupCommit = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.videos = {v.name: v.video for v in self.prepared.spec.videos}
        self.commit = GroupCommit(self.journal)

    @property
    def label(self) -> str:
        return str(self.prepared.spec.path)


@dataclass
class ApplyOptions:
    parallel: int = 8
    resubmit_unknown: bool = False
    prune: bool = False
    poll: PollPolicy = field(default_factory=PollPolicy)
    webhooks: Any = None  # a WebhookReceiver when --webhook-url is given
    #: `--timeout`: provider seconds after which nothing new is submitted and nothing
    #: more is waited for (renders in flight are resumed by the next apply).
    timeout: float | None = None


class OutOfTime(Exception):
    """The run's --timeout has passed: stop before the next submit or wait.

    ``rendering``: raised while waiting for a job this video has at the provider (it
    is resumed next time), rather than before its submit (it was never sent)."""

    def __init__(self, rendering: bool = False) -> None:
        super().__init__()
        self.rendering = rendering


ProviderFor = Callable[[SpecRun, str], Provider]


class Executor:
    def __init__(
        self,
        runs: list[SpecRun],
        options: ApplyOptions,
        provider_for: ProviderFor,
        reporter: Reporter,
        http: httpx.AsyncClient,
        *,
        limiter_for: Callable[[str], TokenBucket | None] | None = None,
    ) -> None:
        self.runs = runs
        self.options = options
        self.provider_for = provider_for
        self.reporter = reporter
        self.http = http
        self.limiter_for = limiter_for or (lambda _name: None)
        self.slots = asyncio.Semaphore(max(1, options.parallel))
        # Downloads have their own slots: they go to a file host, not to the provider's
        # API, and must not wait behind submits that hold a slot while the rate limit
        # makes them wait (a finished video would be fetched long after it was seen).
        self.downloads = asyncio.Semaphore(max(1, options.parallel))
        # Status requests in flight. Unbounded, thousands of due polls would queue
        # inside the HTTP connection pool, whose bookkeeping is linear in its queue.
        self.polls = asyncio.Semaphore(max(1, options.parallel))
        self.files = DownloadFiles()
        self.deadline: float | None = None  # loop time; set when the run starts
        self._uploads: dict[tuple[str, str], asyncio.Task[str]] = {}
        self._avatars: dict[tuple[int, str], asyncio.Task[int]] = {}

    # --- the run ------------------------------------------------------------------

    async def run(self) -> list[Outcome]:
        if self.options.timeout is not None:
            self.deadline = (
                asyncio.get_running_loop().time()
                + self.options.timeout * self.options.poll.time_scale
            )
        tasks: list[Awaitable[Outcome]] = []
        renders = downloads = 0
        uploads: set[tuple[str, str]] = set()
        avatars: set[tuple[int, str]] = set()
        for run in self.runs:
            clean_partials(run.prepared.spec.output_dir)
            self._record_file_facts(run)
            for item in run.plan.items:
                if item.kind == "avatar":
                    continue  # made on demand by the videos that use them
                if item.action is Action.ORPHAN:
                    tasks.append(self._orphan(run, item))
                    continue
                if item.action is Action.UNKNOWN and not self._resubmits(item):
                    tasks.append(self._skip_unknown(run, item))
                    continue
                renders += item.action is not Action.DOWNLOAD
                downloads += 1
                if item.action.renders or item.action is Action.UNKNOWN:
                    self._first_steps(run, item, uploads, avatars)
                tasks.append(self._video(run, item))
        self.reporter.planned("upload", len(uploads))
        self.reporter.planned("avatar", len(avatars))
        self.reporter.planned("render", renders)
        self.reporter.planned("download", downloads)
        return list(await asyncio.gather(*tasks))

    def _first_steps(
        self,
        run: SpecRun,
        item: PlanItem,
        uploads: set[tuple[str, str]],
        avatars: set[tuple[int, str]],
    ) -> None:
        """Add the uploads and photo avatars a new submit of ``item`` will wait for, keyed
        as ``_upload`` and ``_photo_avatar`` key them: the progress display's totals."""
        video = run.videos[item.name]
        provider = item.provider
        assets = [name for name in (video.image, video.voice.audio) if name is not None]
        photo = video.avatar.photo if video.avatar is not None else None
        if photo is not None:
            request = next(
                (a for a in run.prepared.avatars if a.name == photo and a.provider == provider),
                None,
            )
            step = self._avatar_step(run, request) if request is not None else "ready"
            if step in ("wait", "create"):
                avatars.add((id(run), f"{provider}/{photo}"))
            if step == "create":
                assets.append(run.prepared.spec.head.avatars[photo].image)
        for name in assets:
            asset = self._asset(run, name)
            known = run.journal.state.uploads.get(f"{provider}:{asset.sha256}") or {}
            if asset.path is not None and not known.get("url"):
                uploads.add((provider, asset.sha256))

    def _resubmits(self, item: PlanItem) -> bool:
        return self.options.resubmit_unknown or free(item.provider)

    def _record_file_facts(self, run: SpecRun) -> None:
        """Keep the hash cache of the assets current, so the next plan reads no bytes."""
        prepared = run.prepared
        for name, decl in prepared.spec.assets.items():
            facts = prepared.facts.get(name)
            if decl.path is None or facts is None:
                continue
            key = prepared.file_key(decl.path)
            if prepared.lock.files.get(key) != facts.to_json():
                run.journal.record("files", key, facts.to_json())

    # --- one video ------------------------------------------------------------------

    async def _video(self, run: SpecRun, item: PlanItem) -> Outcome:
        request = run.plan.requests[item.name]
        provider = self.provider_for(run, request.provider)
        entry = run.journal.state.videos.get(item.name) or {}
        try:
            if item.action is Action.DOWNLOAD:
                outcome = await self._download(
                    run, request, entry, resumed=True, refresh=None if provider.free else provider
                )
                if outcome.ok or not provider.free:
                    return outcome
                # A free render whose source is gone (another machine's cache): render again.
            job_id: str | None = None
            if item.action is Action.RESUME:
                job_id = entry.get("job_id")
                if entry.get("status") == "submitting":
                    job_id = await self._find_lost_submit(run, request, provider, entry)
                    if job_id is None and not self._resubmits(item):
                        return self._unknown(run, request, entry)
            if job_id is None:
                self._check_time()
                job = await self._build_job(run, request, provider)
                prepare = getattr(provider, "prepare_job", None)
                if prepare is not None:  # work that creates no job (speech): before the intent
                    async with self.slots:
                        job = await prepare(job)
                job_id = await self._submit(run, request, provider, job)
                if job_id is None:
                    return self._result(run, request.name)
                resumed = False
            else:
                resumed = True
            state = await self._wait(run, request, provider, job_id, resumed)
        except OutOfTime as exc:
            return self._out_of_time(run, request.name, exc.rendering)
        except RejectedError as exc:
            self._record(run, request, "failed", error=str(exc))
            self.reporter.event("render-failed", run.label, request.name, reason=str(exc))
            return Outcome(run.label, request.name, "failed", str(exc))
        except ProviderError as exc:
            # Retries are exhausted (provider unreachable): what was recorded stands.
            return Outcome(run.label, request.name, self._status_word(run, request.name), str(exc))
        if state.status is JobStatus.FAILED:
            reason = state.error or "the provider reported the render as failed"
            self._record(run, request, "failed", job_id=job_id, error=reason)
            self.reporter.event("render-failed", run.label, request.name, reason=reason)
            return Outcome(run.label, request.name, "failed", reason)
        self.reporter.event("rendered", run.label, request.name, job=job_id)
        entry = self._record(
            run,
            request,
            "completed",
            job_id=job_id,
            completed_at=now(),
            output={"url": state.video_url, "duration": state.duration},
        )
        return await self._download(run, request, entry, resumed=False)

    def _out_of_time(self, run: SpecRun, name: str, rendering: bool) -> Outcome:
        # Not from the lockfile's status: a changed video's old job may be `submitted`.
        if rendering:
            return Outcome(
                run.label,
                name,
                "running",
                "still rendering when --timeout ran "
                "out; the next apply picks it up without submitting it again",
            )
        return Outcome(run.label, name, "pending", "not submitted: --timeout ran out first")

    def _check_time(self) -> None:
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            raise OutOfTime

    def _status_word(self, run: SpecRun, name: str) -> str:
        status = (run.journal.state.videos.get(name) or {}).get("status")
        return {"submitted": "running", "submitting": "unknown"}.get(str(status), "failed")

    def _result(self, run: SpecRun, name: str) -> Outcome:
        entry = run.journal.state.videos.get(name) or {}
        status = entry.get("status")
        if status == "unknown":
            return Outcome(run.label, name, "unknown", entry.get("error"))
        return Outcome(run.label, name, "failed", entry.get("error"))

    def _base(self, request: Request) -> dict[str, Any]:
        return {
            "fingerprint": request.fingerprint,
            "key": request.key,
            "inputs": request.inputs,
            "provider": request.provider,
        }

    def _record(
        self, run: SpecRun, request: Request, status: str, *, durable: bool = False, **fields: Any
    ) -> dict[str, Any]:
        previous = run.journal.state.videos.get(request.name) or {}
        entry = {**self._base(request), "status": status}
        for key in ("job_id", "submitted_at"):
            if key in previous and previous.get("fingerprint") == request.fingerprint:
                entry[key] = previous[key]
        entry.update({k: v for k, v in fields.items() if v is not None})
        run.journal.record("videos", request.name, entry, durable=durable)
        return entry

    @contextlib.asynccontextmanager
    async def _sending(self, provider: Provider) -> AsyncIterator[None]:
        """A slot and the provider's rate-limit token: what a create waits for.

        The intent is recorded inside this, just before the request leaves: an
        intent recorded while queueing would turn every queued video into an
        `unknown` one when the process dies, though none of them was ever sent.
        """
        limiter = self.limiter_for(provider.name)
        async with self.slots, limiter.ahead() if limiter else contextlib.nullcontext():
            yield

    async def _submit(
        self, run: SpecRun, request: Request, provider: Provider, job: VideoJob
    ) -> str | None:
        try:
            async with self._sending(provider):
                self._check_time()  # the slot and the token can take long to come
                # Rule 1: the intent is on disk before the request can leave.
                self._record(run, request, "submitting", submitted_at=now())
                await run.commit()
                job_id = await provider.submit_video(job)
        except OutcomeUnknownError as exc:
            found = await provider.find_job(request.key)
            if found is None and not provider.free:
                self._record(run, request, "unknown", error=str(exc), durable=True)
                self.reporter.event("unknown", run.label, request.name, reason=str(exc))
                return None
            if found is None:
                return await self._submit(run, request, provider, job)
            job_id = found
        except (RejectedError, RetryableError) as exc:
            # An HTTP answer: the provider did not take the job. Retried next run.
            self._record(run, request, "failed", error=str(exc))
            self.reporter.event("render-failed", run.label, request.name, reason=str(exc))
            return None
        # Rule 1, second half: the job id is durable before we do anything else.
        self._record(run, request, "submitted", job_id=job_id)
        await run.commit()
        self.reporter.event("submitted", run.label, request.name, job=job_id)
        return job_id

    async def _find_lost_submit(
        self, run: SpecRun, request: Request, provider: Provider, entry: dict[str, Any]
    ) -> str | None:
        """Rule 2: a submit interrupted by a crash is looked up, never resent blindly."""
        if entry.get("fingerprint") != request.fingerprint:
            return None
        found = await provider.find_job(request.key)
        if found is not None:
            self._record(run, request, "submitted", job_id=found, durable=True)
            self.reporter.event("adopted", run.label, request.name, job=found)
        return found

    def _unknown(self, run: SpecRun, request: Request, entry: dict[str, Any]) -> Outcome:
        reason = (
            "interrupted while submitting and the provider cannot be asked whether "
            "the job exists; `apply --resubmit-unknown` risks paying twice"
        )
        self._record(run, request, "unknown", error=reason, durable=True)
        self.reporter.event("unknown", run.label, request.name, reason=reason)
        return Outcome(run.label, request.name, "unknown", reason)

    async def _wait(
        self, run: SpecRun, request: Request, provider: Provider, job_id: str, resumed: bool
    ) -> JobState:
        """Poll (or wait for a webhook) until the provider says the job finished."""
        loop = asyncio.get_running_loop()
        policy = self.options.poll
        hooks = self.options.webhooks
        started = loop.time()
        delay = policy.first_delay(request.provider, resumed)
        failures = 0
        while True:
            if self.deadline is not None:  # one last look at the deadline, then stop
                left = self.deadline - loop.time()
                if left <= 0 and not resumed:
                    raise OutOfTime(rendering=True)
                delay = max(0.0, min(delay, left))
            if hooks is not None and not resumed:
                event = await hooks.wait(request.provider, job_id, delay)
                if event is not None and event.state is not None and event.state.status.finished:
                    return event.state  # type: ignore[no-any-return]
            elif delay:
                await asyncio.sleep(delay)
            resumed = False
            try:
                async with self.polls:
                    state = await provider.job_status(job_id)
                failures = 0
            except RetryableError:
                failures += 1
                if failures >= 5:
                    raise
                state = JobState(job_id, JobStatus.RUNNING)
            if state.status.finished:
                return state
            delay = policy.next_delay(request.provider, loop.time() - started, hooks is not None)

    async def _download(
        self,
        run: SpecRun,
        request: Request,
        entry: dict[str, Any],
        resumed: bool,
        refresh: Provider | None = None,
    ) -> Outcome:
        """Fetch the finished video. With ``refresh``, a URL that no longer works (signed
        URLs expire) is asked of the provider again: downloaded again, never rendered."""
        output = entry.get("output") or {}
        url = output.get("url")
        if not url:
            reason = "completed, but the provider gave no video URL"
            return Outcome(run.label, request.name, "failed", reason)
        spec = run.prepared.spec
        try:
            async with self.downloads:
                got = await download(
                    url,
                    spec.output_dir,
                    request.name,
                    self.http,
                    time_scale=self.options.poll.time_scale,
                    files=self.files,
                )
        except ProviderError as exc:
            fresh = await self._fresh_url(entry, refresh) if refresh else None
            if fresh is not None:
                entry = self._record(
                    run,
                    request,
                    "completed",
                    completed_at=entry.get("completed_at"),
                    output={"url": fresh.video_url, "duration": fresh.duration},
                )
                return await self._download(run, request, entry, resumed)
            self.reporter.event("download-failed", run.label, request.name, reason=str(exc))
            return Outcome(run.label, request.name, "failed", f"download failed: {exc}")
        except OSError as exc:  # the output folder, not the provider: this video only
            reason = (
                f"download failed: cannot write {exc.filename or spec.output_dir}: "
                f"{exc.strerror or exc}"
            )
            self.reporter.event("download-failed", run.label, request.name, reason=reason)
            return Outcome(run.label, request.name, "failed", reason)
        relative = Path(os.path.relpath(got.path, spec.directory)).as_posix()
        record = {
            **entry,
            "output": {
                **output,
                "path": relative,
                "sha256": got.sha256,
                "bytes": got.bytes,
                "mtime_ns": got.mtime_ns,
            },
        }
        run.journal.record("videos", request.name, record)
        self.reporter.event("downloaded", run.label, request.name, path=relative)
        return Outcome(run.label, request.name, "completed")

    async def _fresh_url(self, entry: dict[str, Any], provider: Provider) -> JobState | None:
        job_id = entry.get("job_id")
        if not job_id:
            return None
        try:
            async with self.polls:
                state = await provider.job_status(str(job_id))
        except ProviderError:
            return None
        old = (entry.get("output") or {}).get("url")
        if state.status is JobStatus.COMPLETED and state.video_url and state.video_url != old:
            return state
        return None

    async def _skip_unknown(self, run: SpecRun, item: PlanItem) -> Outcome:
        return Outcome(run.label, item.name, "unknown", item.reason)

    async def _orphan(self, run: SpecRun, item: PlanItem) -> Outcome:
        if not self.options.prune:
            return Outcome(run.label, item.name, "skipped", "orphan (use --prune)")
        entry = run.journal.state.videos.get(item.name) or {}
        path = (entry.get("output") or {}).get("path")
        if path:
            with contextlib.suppress(FileNotFoundError):
                (run.prepared.spec.directory / path).unlink()
        run.journal.record("videos", item.name, None)
        self.reporter.event("pruned", run.label, item.name)
        return Outcome(run.label, item.name, "pruned")

    # --- what a job needs first: uploads and photo avatars ----------------------------

    def _asset(self, run: SpecRun, name: str) -> Asset:
        prepared = run.prepared
        decl = prepared.spec.assets[name]
        facts = prepared.facts.get(name)
        if facts is None:
            return Asset(name, "", 0, "application/octet-stream", url=decl.url)
        return Asset(
            name,
            facts.sha256,
            facts.size,
            facts.content_type,
            path=decl.path,
            duration=facts.duration,
        )

    async def _upload(self, run: SpecRun, provider: Provider, asset: Asset) -> str:
        """Each asset once per provider and content: from the lockfile, or one shared task."""
        if asset.path is None and asset.url is not None:
            return asset.url
        lock_key = f"{provider.name}:{asset.sha256}"
        known = run.journal.state.uploads.get(lock_key)
        if known and known.get("url"):
            return str(known["url"])
        task = self._uploads.get((provider.name, asset.sha256))
        if task is None:
            task = asyncio.create_task(self._do_upload(run, provider, asset))
            self._uploads[(provider.name, asset.sha256)] = task
        url = await task
        # Hosted URLs are worth remembering; local references (file://) are not.
        if url.startswith(("http://", "https://")) and lock_key not in run.journal.state.uploads:
            run.journal.record("uploads", lock_key, {"url": url, "at": now()})
        return url

    async def _do_upload(self, run: SpecRun, provider: Provider, asset: Asset) -> str:
        async with self.slots:
            url = await provider.upload_asset(asset)
        self.reporter.event("uploaded", run.label, asset.name, provider=provider.name)
        return url

    async def _build_job(self, run: SpecRun, request: Request, provider: Provider) -> VideoJob:
        video = run.videos[request.name]
        urls: dict[str, str] = {}
        image = audio = None
        if video.image is not None:
            image = self._asset(run, video.image)
            urls[image.sha256] = await self._upload(run, provider, image)
        if video.voice.audio is not None:
            audio = self._asset(run, video.voice.audio)
            urls[audio.sha256] = await self._upload(run, provider, audio)
        avatar = None
        if video.avatar is not None:
            if video.avatar.photo is not None:
                avatar_id = await self._photo_avatar(run, provider, video.avatar.photo)
                avatar = AvatarRef(avatar_id, "photo")
            elif video.avatar.id is not None:
                avatar = AvatarRef(video.avatar.id, video.avatar.type)
        settings = dict(run.prepared.spec.settings.get(request.provider, {}))
        hooks = self.options.webhooks
        webhook_url = hooks.url_for(request.provider) if hooks is not None else None
        return VideoJob(
            key=request.key,
            name=request.name,
            title=video.title,
            voice=VoiceRequest(video.voice.voice_id, video.voice.script, audio),
            avatar=avatar,
            image=image,
            aspect=video.aspect or "portrait",
            screen_style=video.screen_style or 1,
            captions=bool(video.captions),
            settings=settings,
            asset_urls=urls,
            webhook_url=webhook_url,
        )

    async def _photo_avatar(self, run: SpecRun, provider: Provider, name: str) -> int:
        key = (id(run), f"{provider.name}/{name}")
        task = self._avatars.get(key)
        if task is None:
            task = asyncio.create_task(self._make_photo_avatar(run, provider, name))
            self._avatars[key] = task
        return await task

    def _avatar_step(
        self, run: SpecRun, request: AvatarRequest
    ) -> Literal["ready", "wait", "refuse", "create"]:
        """What a photo avatar needs next, from its lock entry: nothing, waiting for the
        motion in flight, a person's decision (rule 2), or creating (and uploading)."""
        entry = run.journal.state.avatars.get(request.lock_key) or {}
        if entry.get("fingerprint") != request.fingerprint:
            return "create"
        if entry.get("status") == "completed" and entry.get("avatar_id") is not None:
            return "ready"
        if entry.get("motion_id") and entry.get("status") != "failed":
            return "wait"
        if (
            entry.get("status") in ("submitting", "unknown")
            and not self.options.resubmit_unknown
            and not free(request.provider)
        ):
            # Rule 2 for photo avatars: no motion id was kept, so whether the
            # provider made (and charged for) it cannot be known.
            return "refuse"
        return "create"

    async def _make_photo_avatar(self, run: SpecRun, provider: Provider, name: str) -> int:
        request = next(
            a for a in run.prepared.avatars if a.name == name and a.provider == provider.name
        )
        lock_key = request.lock_key
        entry = run.journal.state.avatars.get(lock_key) or {}
        step = self._avatar_step(run, request)
        if step == "ready":
            return int(entry["avatar_id"])
        if step == "wait":
            return await self._wait_avatar(run, provider, request, entry["motion_id"])
        if step == "refuse":
            if entry.get("status") == "submitting":
                run.journal.record(
                    "avatars", lock_key, {**entry, "status": "unknown"}, durable=True
                )
            raise RejectedError(
                provider.name,
                f"photo avatar {name!r}: an earlier "
                "request's outcome is unknown; `apply --resubmit-unknown` "
                "creates it again (you may pay twice)",
            )
        spec_avatar = run.prepared.spec.head.avatars[name]
        image = self._asset(run, spec_avatar.image)
        url = await self._upload(run, provider, image)
        base = {
            "fingerprint": request.fingerprint,
            "inputs": request.inputs,
            "provider": provider.name,
            "model": request.model,
        }
        try:
            async with self._sending(provider):
                run.journal.record(
                    "avatars",
                    lock_key,
                    {**base, "status": "submitting", "submitted_at": now()},
                    durable=True,
                )
                state = await provider.create_photo_avatar(
                    PhotoAvatarRequest(
                        key=f"rf-{request.fingerprint[:16]}",
                        name=name,
                        image=image,
                        voice_id=spec_avatar.voice_id,
                        model=request.model,
                        asset_urls={image.sha256: url},
                    )
                )
        except OutcomeUnknownError as exc:
            run.journal.record(
                "avatars", lock_key, {**base, "status": "unknown", "error": str(exc)}, durable=True
            )
            raise RejectedError(
                provider.name, f"photo avatar {name!r}: outcome unknown (not resubmitted)"
            ) from None
        except ProviderError as exc:
            run.journal.record("avatars", lock_key, {**base, "status": "failed", "error": str(exc)})
            raise RejectedError(provider.name, f"photo avatar {name!r}: {exc}") from None
        run.journal.record(
            "avatars",
            lock_key,
            {
                **base,
                "status": "submitted",
                "motion_id": state.motion_id,
                "avatar_id": state.avatar_id,
            },
            durable=True,
        )
        return await self._wait_avatar(run, provider, request, state.motion_id)

    async def _wait_avatar(
        self, run: SpecRun, provider: Provider, request: AvatarRequest, motion_id: str
    ) -> int:
        loop = asyncio.get_running_loop()
        policy = self.options.poll
        started = loop.time()
        delay = policy.first_delay(provider.name, resumed=False) / 3
        while True:
            state = await provider.photo_avatar_status(motion_id)
            if state.status is JobStatus.COMPLETED and state.avatar_id is not None:
                entry = {
                    **run.journal.state.avatars.get(request.lock_key, {}),
                    "status": "completed",
                    "motion_id": motion_id,
                    "avatar_id": state.avatar_id,
                }
                run.journal.record("avatars", request.lock_key, entry)
                self.reporter.event(
                    "avatar-ready", run.label, request.name, avatar_id=state.avatar_id
                )
                return state.avatar_id
            if state.status is JobStatus.FAILED:
                entry = {
                    **run.journal.state.avatars.get(request.lock_key, {}),
                    "status": "failed",
                    "error": state.error,
                }
                run.journal.record("avatars", request.lock_key, entry)
                raise RejectedError(
                    provider.name,
                    f"photo avatar {request.name!r} failed: {state.error or 'no reason given'}",
                )
            self._check_time()  # the avatar is made (and kept) all the same
            if self.deadline is not None:
                delay = min(delay, max(0.0, self.deadline - loop.time()))
            await asyncio.sleep(delay)
            delay = policy.next_delay(provider.name, loop.time() - started, False)
