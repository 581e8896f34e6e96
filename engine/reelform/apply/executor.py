"""Executing plans: upload, create photo avatars, submit, poll, download, record.

The rules (``apply.decide`` holds the decisions, ``providers.submits`` the verdicts):

1. Before a paid submit its intent (``submitting``) is durable in the journal; right
   after it returns, the job id (``submitted``) is durable before anything else
   happens. Everything the submit must read (uploads, speech, a URL's bytes) and every
   wait (a slot, the rate limit, a 429's backoff) comes *before* the intent: a crash
   there leaves a video to create, not an unknown one.
2. A submit is sent again only when the provider's answer proves it did not take it;
   the intent is withdrawn before the wait. An answer that proves nothing makes the
   video ``unknown`` where the provider cannot be asked which job it made.
3. Only the provider saying "failed" makes a job failed. A failing status read leaves
   the job ``submitted``; past a tolerance this apply stops waiting for it.
4. One video's failure, whatever raised it, is that video's alone: every task is
   settled, and the caller folds the journal into the lockfile before reporting.

Independent work runs concurrently: ``parallel`` bounds the uploads, submits and
downloads in flight; waiting for renders takes no slot. Each provider's rate limit
is a TokenBucket shared by every spec of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from reelform.apply.decide import (
    AvatarStep,
    VideoStep,
    after_lost_answer,
    avatar_step,
    keep_polling,
    recordable_url,
    summary_status,
    video_step,
)
from reelform.apply.download import DownloadFiles, clean_partials, download
from reelform.apply.polling import PollPolicy
from reelform.apply.progress import Reporter
from reelform.errors import (
    OutcomeUnknownError,
    ProviderError,
    ReelformError,
    RejectedError,
    RetryableError,
)
from reelform.plan.diff import Action, AvatarRequest, PlanItem, SpecPlan
from reelform.plan.fingerprint import Request
from reelform.project import Prepared
from reelform.providers.base import (
    Asset,
    AvatarRef,
    JobState,
    JobStatus,
    PhotoAvatarRequest,
    PhotoAvatarState,
    Provider,
    VideoJob,
    VoiceRequest,
)
from reelform.providers.http import RetryPolicy, Tries, retry_delay
from reelform.providers.ratelimit import TokenBucket
from reelform.registry import provider_traits
from reelform.secrets import redact
from reelform.speclang.model import Video
from reelform.state.journal import GroupCommit, Journal
from reelform.state.records import (
    AvatarRecord,
    FileRecord,
    Status,
    UploadRecord,
    VideoOutput,
    VideoRecord,
)

T = TypeVar("T")


#: Fields written as null rather than left out when the provider gives none, as they
#: always were (``records``: ``nulls``): the lockfile's bytes do not change.
_DURATION = frozenset({"duration"})
_AVATAR_IDS = frozenset({"motion_id", "avatar_id"})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Outcome:
    spec: str
    name: str
    status: str  # completed | failed | running | pending | unknown | pruned | skipped
    reason: str | None = None
    kind: str = "video"
    #: The traceback of an unexpected exception (a bug): the run exits 3 after the
    #: journal is safe.
    bug: str | None = None

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


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: one frozen record for the CLI, the Python API and previews
    (``dataclasses.replace`` makes a changed copy, e.g. the run's time scale)."""

    parallel: int = 8
    resubmit_unknown: bool = False
    prune: bool = False
    poll: PollPolicy = field(default_factory=PollPolicy)
    #: `--timeout`: provider seconds after which nothing new is submitted and nothing
    #: more is waited for (renders in flight are resumed by the next apply).
    timeout: float | None = None
    #: How often a paid submit that the provider did not take is sent again.
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: `--max-credits`: refuse a plan whose JoggAI estimate is larger.
    max_credits: int | None = None
    #: `--webhook-url` and `--listen`; the session starts a receiver for them.
    webhook_url: str | None = None
    listen: str | None = None
    webhooks: Any = None  # the WebhookReceiver of a run with webhooks


class OutOfTime(Exception):
    """The run's --timeout has passed: stop before the next submit or wait.

    ``rendering``: raised while waiting for a job this video has at the provider (it
    is resumed next time), rather than before its submit (it was never sent)."""

    def __init__(self, rendering: bool = False) -> None:
        super().__init__()
        self.rendering = rendering


class StoppedWaiting(Exception):
    """Status reads kept failing: the job stays on record, the next apply polls it."""

    def __init__(self, errors: int, last: ProviderError) -> None:
        super().__init__(
            f"status reads failed {errors} times in a row (last: {last}); the job stays "
            "submitted and the next apply polls it again"
        )


class NotTaken(Exception):
    """A paid submit the provider kept refusing to take ("not now"): never sent."""

    def __init__(self, tries: Tries, last: RetryableError) -> None:
        super().__init__(
            f"not submitted: {last} (tried {tries.total} times); the next apply tries again"
        )


class Unrecorded(Exception):
    """A job id the provider returned that the journal could not keep: say it aloud."""

    def __init__(self, job_id: str, error: OSError) -> None:
        super().__init__(
            f"job {job_id} was accepted but could not be recorded "
            f"({error.strerror or error}); note this id: resume it by hand"
        )


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
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.runs = runs
        self.options = options
        self.provider_for = provider_for
        self.reporter = reporter
        self.http = http
        self.limiter_for = limiter_for or (lambda _name: None)
        self.env = os.environ if env is None else env
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
                    tasks.append(self._isolated(run, item.name, self._orphan(run, item)))
                    continue
                left_alone = item.action is Action.UNKNOWN and not self._resubmits(item.provider)
                renders += item.action is not Action.DOWNLOAD and not left_alone
                downloads += not left_alone
                if item.action.renders or item.action is Action.UNKNOWN:
                    self._first_steps(run, item, uploads, avatars)
                tasks.append(self._isolated(run, item.name, self._video(run, item)))
        self.reporter.planned("upload", len(uploads))
        self.reporter.planned("avatar", len(avatars))
        self.reporter.planned("render", renders)
        self.reporter.planned("download", downloads)
        return list(await asyncio.gather(*tasks))

    async def _isolated(self, run: SpecRun, name: str, work: Awaitable[Outcome]) -> Outcome:
        """Rule 4: whatever one video raises fails that video, never its neighbours."""
        try:
            return await work
        except Exception as exc:  # any failure is this video's alone (rule 4)
            # Ours to fix (exit 3) unless the user's or the machine's (exit 1).
            expected = isinstance(exc, OSError | Unrecorded | ReelformError)
            bug = None if expected else traceback.format_exc()
            entry = run.journal.state.videos.get(name) or VideoRecord()
            if entry.status is Status.SUBMITTING:
                # Between the intent and the job id: the job may exist.
                with contextlib.suppress(Exception):
                    run.journal.record("videos", name, replace(entry, status=Status.UNKNOWN))
                    await run.commit()
            reason = self._describe(exc)
            self.reporter.event("render-failed", run.label, name, reason=reason)
            return Outcome(run.label, name, summary_status(entry.status), reason, bug=bug)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            return self._scrub(f"{where}{exc.strerror or exc}")
        if isinstance(exc, ReelformError | Unrecorded | NotTaken | StoppedWaiting):
            return self._scrub(str(exc))
        return self._scrub(f"internal error: {type(exc).__name__}: {exc} (a bug; please report)")

    def _scrub(self, text: str) -> str:
        """The last line of defence before a text reaches the lockfile or the screen."""
        return redact(text, self.env)

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
            request = self._avatar_request(run, provider, photo)
            step = self._avatar_step(run, request) if request is not None else AvatarStep.READY
            if step in (AvatarStep.WAIT, AvatarStep.CREATE):
                avatars.add((id(run), f"{provider}/{photo}"))
            if step is AvatarStep.CREATE:
                assets.append(run.prepared.spec.head.avatars[photo].image)
        for name in assets:
            asset = self._asset(run, name)
            known = run.journal.state.uploads.get(f"{provider}:{asset.sha256}") or UploadRecord()
            if asset.path is not None and not known.url:
                uploads.add((provider, asset.sha256))

    def _resubmits(self, provider: str) -> bool:
        return self.options.resubmit_unknown or provider_traits(provider).free

    def _record_file_facts(self, run: SpecRun) -> None:
        """Keep the hash cache of the assets current, so the next plan reads no bytes."""
        prepared = run.prepared
        for name, decl in prepared.spec.assets.items():
            facts = prepared.facts.get(name)
            if decl.path is None or facts is None:
                continue
            key = prepared.file_key(decl.path)
            record = FileRecord.from_json(facts.to_json())
            cached = prepared.lock.files.get(key)
            # The same file keeps its record as it is, with any field a newer reelform
            # added; a changed file's facts are all new.
            if cached is None or replace(record, extra=cached.extra, nulls=cached.nulls) != cached:
                run.journal.record("files", key, record)

    # --- one video ------------------------------------------------------------------

    async def _video(self, run: SpecRun, item: PlanItem) -> Outcome:
        request = run.plan.requests[item.name]
        provider = self.provider_for(run, request.provider)
        entry = run.journal.state.videos.get(item.name) or VideoRecord()
        resubmit = self._resubmits(request.provider)
        traits = provider_traits(request.provider)
        step = video_step(
            item.action,
            entry,
            request.fingerprint,
            resubmit=resubmit,
            finds_jobs=traits.finds_jobs,
        )
        try:
            if step is VideoStep.DOWNLOAD:
                outcome = await self._download(
                    run, request, entry, refresh=None if traits.free else provider
                )
                if outcome.ok or not traits.free:
                    return outcome
                step = VideoStep.SUBMIT  # a free render whose source is gone: render again
            job_id = entry.job_id if step is VideoStep.POLL else None
            if step is VideoStep.FIND:
                job_id = await self._find_lost_submit(run, request, provider)
                step = after_lost_answer(job_id, resubmit=resubmit)
            if step is VideoStep.UNKNOWN:
                return self._unknown(run, request, entry)
            resumed = step is VideoStep.POLL
            if step is VideoStep.SUBMIT:
                submitted = await self._submit(run, request, provider)
                if isinstance(submitted, Outcome):
                    return submitted
                job_id = submitted
            assert job_id is not None  # POLL and SUBMIT both end with a job id
            state = await self._wait(run, request, provider, job_id, resumed)
        except OutOfTime as exc:
            return self._out_of_time(run, request.name, exc.rendering)
        except RejectedError as exc:  # an upload or a photo avatar refused for good
            return self._failed(run, request, str(exc))
        except (ProviderError, NotTaken, StoppedWaiting) as exc:
            # Retries are exhausted or polls kept failing: what was recorded stands.
            return Outcome(
                run.label, request.name, self._stopped(run, request, exc), self._describe(exc)
            )
        if state.status is JobStatus.FAILED:
            reason = state.error or "the provider reported the render as failed"
            return self._failed(run, request, reason, job_id=job_id)
        self.reporter.event("rendered", run.label, request.name, job=job_id)
        entry = self._completed(run, request, state)
        return await self._download(run, request, entry, answer=state)

    def _completed(self, run: SpecRun, request: Request, state: JobState) -> VideoRecord:
        url, signed = recordable_url(state.video_url or "")
        output = VideoOutput(
            url=url,
            duration=state.duration,
            signed=True if signed else None,  # the query was dropped: ask for a fresh URL later
            nulls=_DURATION,
        )
        return self._record(run, request, Status.COMPLETED, completed_at=now(), output=output)

    def _stopped(self, run: SpecRun, request: Request, exc: Exception) -> str:
        """The summary's word for a video whose work stopped early."""
        entry = run.journal.state.videos.get(request.name) or VideoRecord()
        if entry.fingerprint == request.fingerprint and entry.status:
            return summary_status(entry.status)
        # Nothing of this request at the provider: its photo avatar is still being
        # made, or the provider would not take it yet.
        return "pending" if isinstance(exc, NotTaken | StoppedWaiting) else "failed"

    def _failed(
        self, run: SpecRun, request: Request, reason: str, job_id: str | None = None
    ) -> Outcome:
        reason = self._scrub(reason)
        self._record(run, request, Status.FAILED, job_id=job_id, error=reason)
        self.reporter.event("render-failed", run.label, request.name, reason=reason)
        return Outcome(run.label, request.name, "failed", reason)

    def _out_of_time(self, run: SpecRun, name: str, rendering: bool) -> Outcome:
        # Not from the lockfile's status: a changed video's old job may be `submitted`.
        if rendering:
            return Outcome(
                run.label,
                name,
                "running",
                "still rendering when --timeout ran out; the next apply picks it up "
                "without submitting it again",
            )
        return Outcome(run.label, name, "pending", "not submitted: --timeout ran out first")

    def _check_time(self) -> None:
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            raise OutOfTime

    def _record(
        self,
        run: SpecRun,
        request: Request,
        status: Status,
        *,
        durable: bool = False,
        job_id: str | None = None,
        submitted_at: str | None = None,
        completed_at: str | None = None,
        error: str | None = None,
        output: VideoOutput | None = None,
    ) -> VideoRecord:
        """Record a new state of the video: a record of this request, not a change to
        the last one; only its job id and submit time are kept, and only while it is
        the same request."""
        previous = run.journal.state.videos.get(request.name)
        if previous is not None and previous.fingerprint == request.fingerprint:
            job_id = previous.job_id if job_id is None else job_id
            submitted_at = previous.submitted_at if submitted_at is None else submitted_at
        entry = VideoRecord(
            fingerprint=request.fingerprint,
            key=request.key,
            inputs=request.inputs,
            provider=request.provider,
            status=status,
            job_id=job_id,
            error=error,
            submitted_at=submitted_at,
            completed_at=completed_at,
            output=output,
        )
        run.journal.record("videos", request.name, entry, durable=durable)
        return entry

    @contextlib.asynccontextmanager
    async def _token(self, provider: Provider) -> AsyncIterator[None]:
        """The provider's rate-limit token for the next request of this task, taken now:
        the intent is recorded after the wait for it, just before the request leaves."""
        limiter = self.limiter_for(provider.name)
        async with limiter.ahead() if limiter else contextlib.nullcontext():
            yield

    async def _paid(
        self,
        provider: Provider,
        send: Callable[[], Awaitable[T]],
        *,
        intent: Callable[[], Awaitable[None]],
        withdraw: Callable[[], Awaitable[None]],
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Rules 1 and 2 for one paid request: in a slot, ``prepare`` (reads, speech),
        then the rate-limit token, then the durable ``intent``, then ``send``, once.

        A "not taken" answer withdraws the intent and waits (holding the slot: the
        provider asked everyone to slow down) before trying again, within the retry
        budget; then ``NotTaken``. Rejections and unknown outcomes are raised as they
        are, the intent still on record for the caller to settle.
        """
        tries = Tries()
        async with self.slots:
            while True:
                try:
                    if prepare is not None:
                        await prepare()
                        prepare = None  # prepared once, kept across tries
                    async with self._token(provider):
                        self._check_time()  # the slot and the token can take long to come
                        await intent()
                        try:
                            return await send()
                        except RetryableError:
                            await withdraw()
                            raise
                except RetryableError as exc:
                    tries = tries.after(exc)
                    delay = retry_delay(tries, exc, self.options.retry)
                    if delay is None:
                        raise NotTaken(tries, exc) from None
                    await self._sleep(delay * self.options.poll.time_scale)

    async def _sleep(self, seconds: float) -> None:
        """Wait, unless the --timeout comes first."""
        if self.deadline is not None:
            left = self.deadline - asyncio.get_running_loop().time()
            if left < seconds:
                await asyncio.sleep(max(0.0, left))
                raise OutOfTime
        await asyncio.sleep(seconds)

    async def _submit(self, run: SpecRun, request: Request, provider: Provider) -> str | Outcome:
        """Submit one render; its job id, or the outcome when no job can be followed."""
        job = await self._build_job(run, request, provider)
        previous = run.journal.state.videos.get(request.name)
        prepare = getattr(provider, "prepare_job", None)
        ready: list[VideoJob] = [job]
        speech_unknown: list[OutcomeUnknownError] = []

        async def prepared() -> None:
            if prepare is not None:
                try:
                    ready[0] = await prepare(job)
                except OutcomeUnknownError as exc:  # speech: billed, no video was sent
                    speech_unknown.append(exc)
                    raise

        async def intent() -> None:
            self._record(run, request, Status.SUBMITTING, submitted_at=now())
            await run.commit()

        async def withdraw() -> None:
            run.journal.record("videos", request.name, previous)
            await run.commit()

        resends = 0
        try:
            while True:
                try:
                    job_id = await self._paid(
                        provider,
                        lambda: provider.submit_video(ready[0]),
                        intent=intent,
                        withdraw=withdraw,
                        prepare=prepared,
                    )
                    break
                except OutcomeUnknownError as exc:
                    if speech_unknown:
                        return self._unknown(run, request, None, f"{exc}; no video was submitted")
                    found = await self._look_up(provider, request)
                    step = after_lost_answer(found, resubmit=provider_traits(provider.name).free)
                    if step is VideoStep.POLL:
                        assert found is not None
                        job_id = found
                        break
                    resends += 1
                    if step is VideoStep.UNKNOWN or resends > self.options.retry.attempts:
                        return self._unknown(run, request, None, str(exc))
                    # A free provider: sending again costs nothing.
        except RejectedError as exc:
            # The provider's own refusal: nothing was made. A refused speech synthesis
            # left no intent; a refused create did.
            return self._failed(run, request, str(exc))
        except NotTaken as exc:
            self.reporter.event("render-failed", run.label, request.name, reason=str(exc))
            return Outcome(run.label, request.name, "pending", self._scrub(str(exc)))
        # Rule 1, second half: the job id is durable before we do anything else.
        try:
            self._record(run, request, Status.SUBMITTED, job_id=job_id)
            await run.commit()
        except OSError as exc:
            raise Unrecorded(job_id, exc) from exc
        self.reporter.event("submitted", run.label, request.name, job=job_id)
        return job_id

    async def _look_up(self, provider: Provider, request: Request) -> str | None:
        """The job an earlier submit of ``request`` made, where the provider can say."""
        if not provider_traits(provider.name).finds_jobs:
            return None
        try:
            return await provider.find_job(request.key)
        except ProviderError:
            return None  # cannot tell: the caller treats it as unknown

    async def _find_lost_submit(
        self, run: SpecRun, request: Request, provider: Provider
    ) -> str | None:
        """Rule 2: a submit interrupted by a crash is looked up, never resent blindly."""
        found = await self._look_up(provider, request)
        if found is not None:
            self._record(run, request, Status.SUBMITTED, job_id=found, durable=True)
            self.reporter.event("adopted", run.label, request.name, job=found)
        return found

    def _unknown(
        self, run: SpecRun, request: Request, entry: VideoRecord | None, reason: str | None = None
    ) -> Outcome:
        reason = self._scrub(
            reason
            or (entry.error if entry is not None else None)
            or "interrupted while submitting and the provider cannot be asked whether "
            "the job exists"
        )
        recorded = (
            entry is not None
            and entry.status is Status.UNKNOWN
            and entry.fingerprint == request.fingerprint
        )
        if not recorded:  # an unknown left alone is not written (and fsynced) again
            self._record(run, request, Status.UNKNOWN, error=reason, durable=True)
            self.reporter.event("unknown", run.label, request.name, reason=reason)
        return Outcome(
            run.label,
            request.name,
            "unknown",
            f"{reason}; `apply --resubmit-unknown` risks paying twice",
        )

    async def _wait(
        self, run: SpecRun, request: Request, provider: Provider, job_id: str, resumed: bool
    ) -> JobState:
        """Poll (or wait for a webhook) until the provider says the job finished."""
        hooks = self.options.webhooks

        async def read() -> JobState:
            async with self.polls:
                return await provider.job_status(job_id)

        async def webhook(delay: float) -> JobState | None:
            event = await hooks.wait(request.provider, job_id, delay)
            if event is not None and event.state is not None and event.state.status.finished:
                return event.state  # type: ignore[no-any-return]
            return None

        return await self._poll(
            request.provider,
            read,
            lambda state: state.status.finished,
            first=self.options.poll.first_delay(request.provider, resumed),
            webhook=webhook if hooks is not None else None,
            resumed=resumed,
        )

    async def _poll(
        self,
        provider: str,
        read: Callable[[], Awaitable[T]],
        finished: Callable[[T], bool],
        *,
        first: float,
        webhook: Callable[[float], Awaitable[T | None]] | None = None,
        resumed: bool = False,
        rendering: bool = True,
    ) -> T:
        """The one polling loop, for videos and photo avatars alike (rule 3).

        A failed read is reported and counted; ``StoppedWaiting`` past the tolerance.
        A job found again after a restart (``resumed``) is read at once and, under a
        --timeout that has passed, once more before this apply lets it go."""
        loop = asyncio.get_running_loop()
        policy = self.options.poll
        started = loop.time()
        delay = first
        errors = 0
        while True:
            if self.deadline is not None:  # one last look at the deadline, then stop
                left = self.deadline - loop.time()
                if left <= 0 and not resumed:
                    raise OutOfTime(rendering=rendering)
                delay = max(0.0, min(delay, left))
            if webhook is not None and not resumed:
                pushed = await webhook(delay)
                if pushed is not None:
                    return pushed
            elif delay:
                await asyncio.sleep(delay)
            resumed = False
            try:
                state = await read()
            except ProviderError as exc:
                errors += 1
                if not keep_polling(errors, policy.error_tolerance):
                    raise StoppedWaiting(errors, exc) from None
            else:
                errors = 0
                if finished(state):
                    return state
            delay = policy.next_delay(provider, loop.time() - started, webhook is not None)

    async def _download(
        self,
        run: SpecRun,
        request: Request,
        entry: VideoRecord,
        *,
        refresh: Provider | None = None,
        answer: JobState | None = None,
    ) -> Outcome:
        """Fetch the finished video, from ``answer`` (this run's) or the URL on record.

        With ``refresh``, a URL that no longer works (signed URLs expire) or that was
        recorded without its signature is asked of the provider again: downloaded
        again, never rendered."""
        output = entry.output or VideoOutput()
        source = answer.video_url if answer is not None else output.url
        if refresh is not None and answer is None and output.signed:
            fresh = await self._fresh_url(entry, refresh, stale=None)
            source = fresh.video_url if fresh is not None else None
        if not source:
            reason = "completed, but no usable video URL (the provider gave none, or a fresh one)"
            return Outcome(run.label, request.name, "failed", reason)
        spec = run.prepared.spec
        try:
            async with self.downloads:
                got = await download(
                    source,
                    spec.output_dir,
                    request.name,
                    self.http,
                    time_scale=self.options.poll.time_scale,
                    files=self.files,
                )
        except ProviderError as exc:
            fresh = await self._fresh_url(entry, refresh, stale=source) if refresh else None
            if fresh is not None:
                entry = self._completed(run, request, fresh)
                return await self._download(run, request, entry, answer=fresh)
            reason = self._scrub(f"download failed: {exc}")
            self.reporter.event("download-failed", run.label, request.name, reason=reason)
            return Outcome(run.label, request.name, "failed", reason)
        except OSError as exc:  # the output folder, not the provider: this video only
            reason = (
                f"download failed: cannot write {exc.filename or spec.output_dir}: "
                f"{exc.strerror or exc}"
            )
            self.reporter.event("download-failed", run.label, request.name, reason=reason)
            return Outcome(run.label, request.name, "failed", reason)
        relative = Path(os.path.relpath(got.path, spec.directory)).as_posix()
        downloaded = replace(
            output, path=relative, sha256=got.sha256, bytes=got.bytes, mtime_ns=got.mtime_ns
        )
        run.journal.record("videos", request.name, replace(entry, output=downloaded))
        self.reporter.event("downloaded", run.label, request.name, path=relative)
        return Outcome(run.label, request.name, "completed")

    async def _fresh_url(
        self, entry: VideoRecord, provider: Provider, stale: str | None
    ) -> JobState | None:
        job_id = entry.job_id
        if not job_id:
            return None
        try:
            async with self.polls:
                state = await provider.job_status(job_id)
        except ProviderError:
            return None
        if state.status is JobStatus.COMPLETED and state.video_url and state.video_url != stale:
            return state
        return None

    async def _orphan(self, run: SpecRun, item: PlanItem) -> Outcome:
        if not self.options.prune:
            return Outcome(run.label, item.name, "skipped", "orphan (use --prune)")
        entry = run.journal.state.videos.get(item.name)
        path = entry.output.path if entry is not None and entry.output is not None else None
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
        if known is not None and known.url:
            return known.url
        task = self._uploads.get((provider.name, asset.sha256))
        if task is None:
            task = asyncio.create_task(self._do_upload(run, provider, asset))
            self._uploads[(provider.name, asset.sha256)] = task
        url = await task
        # Hosted URLs are worth remembering; local references (file://) are not.
        if url.startswith(("http://", "https://")) and lock_key not in run.journal.state.uploads:
            run.journal.record("uploads", lock_key, UploadRecord(url=url, at=now()))
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

    def _avatar_request(self, run: SpecRun, provider: str, name: str) -> AvatarRequest | None:
        return next(
            (a for a in run.prepared.avatars if a.name == name and a.provider == provider), None
        )

    def _avatar_step(self, run: SpecRun, request: AvatarRequest) -> AvatarStep:
        entry = run.journal.state.avatars.get(request.lock_key) or AvatarRecord()
        return avatar_step(entry, request.fingerprint, resubmit=self._resubmits(request.provider))

    async def _make_photo_avatar(self, run: SpecRun, provider: Provider, name: str) -> int:
        request = self._avatar_request(run, provider.name, name)
        assert request is not None  # the plan made one for every photo avatar used
        lock_key = request.lock_key
        entry = run.journal.state.avatars.get(lock_key) or AvatarRecord()
        step = self._avatar_step(run, request)
        if step is AvatarStep.READY:
            assert entry.avatar_id is not None  # what READY means
            return int(entry.avatar_id)
        if step is AvatarStep.WAIT:
            assert entry.motion_id  # what WAIT means
            return await self._wait_avatar(run, provider, request, entry.motion_id)
        if step is AvatarStep.REFUSE:
            if entry.status is Status.SUBMITTING:
                run.journal.record(
                    "avatars", lock_key, replace(entry, status=Status.UNKNOWN), durable=True
                )
            raise RejectedError(
                provider.name,
                f"photo avatar {name!r}: an earlier request's outcome is unknown; "
                "`apply --resubmit-unknown` creates it again (you may pay twice)",
            )
        spec_avatar = run.prepared.spec.head.avatars[name]
        image = self._asset(run, spec_avatar.image)
        url = await self._upload(run, provider, image)
        # A new record of this request (nothing kept of an earlier one, whatever it was).
        base = AvatarRecord(
            fingerprint=request.fingerprint,
            inputs=request.inputs,
            provider=provider.name,
            model=request.model,
        )
        previous = run.journal.state.avatars.get(lock_key)

        async def intent() -> None:
            record = replace(base, status=Status.SUBMITTING, submitted_at=now())
            run.journal.record("avatars", lock_key, record, durable=True)

        async def withdraw() -> None:
            run.journal.record("avatars", lock_key, previous, durable=True)

        def send() -> Awaitable[PhotoAvatarState]:
            return provider.create_photo_avatar(
                PhotoAvatarRequest(
                    key=f"rf-{request.fingerprint[:16]}",
                    name=name,
                    image=image,
                    voice_id=spec_avatar.voice_id,
                    model=request.model,
                    asset_urls={image.sha256: url},
                )
            )

        try:
            state = await self._paid(provider, send, intent=intent, withdraw=withdraw)
        except OutcomeUnknownError as exc:
            record = replace(base, status=Status.UNKNOWN, error=self._scrub(str(exc)))
            run.journal.record("avatars", lock_key, record, durable=True)
            raise RejectedError(
                provider.name, f"photo avatar {name!r}: outcome unknown (not resubmitted)"
            ) from None
        except RejectedError as exc:
            record = replace(base, status=Status.FAILED, error=self._scrub(str(exc)))
            run.journal.record("avatars", lock_key, record)
            raise RejectedError(provider.name, f"photo avatar {name!r}: {exc}") from None
        except NotTaken as exc:
            raise RetryableError(provider.name, f"photo avatar {name!r}: {exc}") from None
        submitted = replace(
            base,
            status=Status.SUBMITTED,
            motion_id=state.motion_id,
            avatar_id=state.avatar_id,
            nulls=_AVATAR_IDS,  # no avatar id until the provider has made it
        )
        run.journal.record("avatars", lock_key, submitted, durable=True)
        return await self._wait_avatar(run, provider, request, state.motion_id)

    async def _wait_avatar(
        self, run: SpecRun, provider: Provider, request: AvatarRequest, motion_id: str
    ) -> int:
        def finished(state: PhotoAvatarState) -> bool:
            done = state.status is JobStatus.COMPLETED and state.avatar_id is not None
            return done or state.status is JobStatus.FAILED

        state = await self._poll(
            provider.name,
            lambda: provider.photo_avatar_status(motion_id),
            finished,
            first=self.options.poll.first_delay(provider.name, resumed=False) / 3,
            rendering=False,  # the video itself was not sent yet
        )
        entry = run.journal.state.avatars.get(request.lock_key) or AvatarRecord()
        if state.status is JobStatus.FAILED:
            error = self._scrub(state.error or "no reason given")
            run.journal.record(
                "avatars", request.lock_key, replace(entry, status=Status.FAILED, error=error)
            )
            raise RejectedError(
                provider.name,
                f"photo avatar {request.name!r} failed: {state.error or 'no reason given'}",
            )
        assert state.avatar_id is not None  # ``finished`` says so
        ready = replace(
            entry, status=Status.COMPLETED, motion_id=motion_id, avatar_id=state.avatar_id
        )
        run.journal.record("avatars", request.lock_key, ready)
        self.reporter.event("avatar-ready", run.label, request.name, avatar_id=state.avatar_id)
        return state.avatar_id
