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

Three layers, each using only the one below: ``pacing.Pacing`` (slots, the rate-limit
token, the --timeout, the paid-submit loop and the polling loop),
``prerequisites.Prerequisites`` (uploads and photo avatars), and ``Executor`` here
(each video, from its plan item to its recorded file).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import traceback
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

from reelform.apply.copies import copy_video
from reelform.apply.decide import (
    VideoStep,
    after_lost_answer,
    recordable_url,
    summary_status,
    video_step,
)
from reelform.apply.download import clean_partials, download
from reelform.apply.model import (
    HeldElsewhere,
    NoCredit,
    NotTaken,
    Outcome,
    OutOfTime,
    SpecRun,
    StoppedWaiting,
    Unrecorded,
    now,
)
from reelform.apply.prerequisites import Prerequisites
from reelform.apply.share import WorkShare
from reelform.atomic import fsync_dir
from reelform.errors import OutcomeUnknownError, ProviderError, ReelformError, RejectedError
from reelform.plan.diff import Action, PlanItem
from reelform.plan.fingerprint import Request, same_render
from reelform.providers.base import JobState, JobStatus, Provider, VideoJob
from reelform.registry import provider_traits
from reelform.state.outputs import OutputStatus, file_status
from reelform.state.records import FileRecord, Status, VideoOutput, VideoRecord

#: The fewest videos a runner sharing a spec claims ahead of its submits
#: (``apply/share.py``): refilled by half, 16 videos a claim transaction at least.
WINDOW = 32

#: Written as null rather than left out when the provider gives none, as it always
#: was (``records``: ``nulls``): the lockfile's bytes do not change.
_DURATION = frozenset({"duration"})


class Executor(Prerequisites):
    """Carries out the plans of a run, one task per video (the module docstring)."""

    #: (spec, name) -> the task of each video this run renders, downloads or resumes.
    _videos: dict[tuple[str, str], tuple[asyncio.Future[Outcome], SpecRun]]

    async def run(self) -> list[Outcome]:
        self._videos = {}
        if self.options.timeout is not None:
            self.deadline = (
                asyncio.get_running_loop().time()
                + self.options.timeout * self.options.poll.time_scale
            )
        tasks: list[asyncio.Future[Outcome]] = []
        renders = downloads = 0
        uploads: set[tuple[str, str]] = set()
        avatars: set[tuple[int, str]] = set()
        for run in self.runs:
            run.share = self._share(run)
            clean_partials(run.prepared.spec.output_dir)
            self._record_file_facts(run)
            for item in run.plan.relabel:
                self._relabel(run, item.name)
            for item in run.plan.items:
                if item.kind == "avatar":
                    continue  # made on demand by the videos that use them
                if item.action is Action.ORPHAN:
                    tasks.append(self._task(run, item.name, self._orphan(run, item)))
                    continue
                if item.action is Action.COPY:  # no render: its source's file (apply/copies)
                    downloads += 1
                    tasks.append(self._task(run, item.name, copy_video(self, run, item)))
                    continue
                if item.action is Action.MOVE:
                    tasks.append(self._task(run, item.name, self._move(run, item)))
                    continue
                left_alone = item.action is Action.UNKNOWN and not self._resubmits(item.provider)
                renders += item.action is not Action.DOWNLOAD and not left_alone
                downloads += not left_alone
                if item.action.renders or item.action is Action.UNKNOWN:
                    self._first_steps(run, item, uploads, avatars)
                task = self._task(run, item.name, self._video(run, item))
                self._videos[(run.plan.spec, item.name)] = (task, run)
                tasks.append(task)
        self.reporter.planned("upload", len(uploads))
        self.reporter.planned("avatar", len(avatars))
        self.reporter.planned("render", renders)
        self.reporter.planned("download", downloads)
        return list(await asyncio.gather(*tasks))

    def _share(self, run: SpecRun) -> WorkShare | None:
        """Where other runners may apply the spec too (its journal can claim videos)."""
        if not hasattr(run.journal, "claim_batch"):
            return None

        def report(holding: int, following: int) -> None:
            self.reporter.event("sharing", run.label, "", holding=holding, following=following)

        journal: Any = run.journal
        return WorkShare(
            journal,
            window=max(WINDOW, 4 * self.options.parallel),
            pause=max(0.05, 2.0 * self.options.poll.time_scale),
            report=report,
        )

    def _task(self, run: SpecRun, name: str, work: Awaitable[Outcome]) -> asyncio.Future[Outcome]:
        return asyncio.ensure_future(self._isolated(run, name, work))

    def rendering(self, spec: str, name: str) -> tuple[asyncio.Future[Outcome], SpecRun] | None:
        """The task making video ``name`` of ``spec`` in this run, for its copies."""
        return self._videos.get((spec, name))

    async def _isolated(self, run: SpecRun, name: str, work: Awaitable[Outcome]) -> Outcome:
        """Rule 4: whatever one video raises fails that video, never its neighbours."""
        try:
            return await work
        except Exception as exc:  # any failure is this video's alone (rule 4)
            return await self._crashed(run, name, exc)
        finally:
            if run.share is not None:
                run.share.finished(name)

    async def _crashed(self, run: SpecRun, name: str, exc: Exception) -> Outcome:
        # Ours to fix (exit 3) unless the user's or the machine's (exit 1).
        expected = isinstance(exc, OSError | Unrecorded | ReelformError)
        bug = None if expected else "".join(traceback.format_exception(exc))
        entry = run.journal.state.videos.get(name) or VideoRecord()
        if entry.status is Status.SUBMITTING:
            # Between the intent and the job id: the job may exist.
            with contextlib.suppress(Exception):
                run.journal.record("videos", name, replace(entry, status=Status.UNKNOWN))
                await run.commit()
        reason = self._describe(exc)
        self.reporter.event("render-failed", run.label, name, reason=reason)
        request = run.plan.requests.get(name)
        # A replaced video's old job may be on record: it says nothing of this one.
        ours = request is not None and entry.fingerprint == request.fingerprint
        status = summary_status(entry.status) if ours else "failed"
        return Outcome(run.label, name, status, reason, bug=bug)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            return self._scrub(f"{where}{exc.strerror or exc}")
        if isinstance(exc, ReelformError | Unrecorded | NotTaken | StoppedWaiting):
            return self._scrub(str(exc))
        return self._scrub(f"internal error: {type(exc).__name__}: {exc} (a bug; please report)")

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

    def _relabel(self, run: SpecRun, name: str) -> VideoRecord | None:
        """Rewrite the entry of the request's render under the request's fingerprint,
        labels and key: a journal record, no provider call (docs/design.md, "Labels").
        None when the entry is not this request's render."""
        request = run.plan.requests.get(name)
        entry = run.journal.state.videos.get(name)
        if request is None or entry is None:
            return None
        if entry.fingerprint == request.fingerprint and entry.inputs == request.inputs:
            return entry
        labels = provider_traits(request.provider).label_fields
        if not same_render(entry.fingerprint, entry.inputs, request, labels):
            return None
        relabeled = replace(
            entry, fingerprint=request.fingerprint, key=request.key, inputs=request.inputs
        )
        run.journal.record("videos", name, relabeled)
        return relabeled

    async def _video(self, run: SpecRun, item: PlanItem) -> Outcome:
        request = run.plan.requests[item.name]
        provider = self.provider_for(run, request.provider)
        entry = run.journal.state.videos.get(item.name) or VideoRecord()
        if entry.fingerprint != request.fingerprint and item.action is not Action.REPLACE:
            # A legacy fingerprint of this render (a resume, a download): carry on under
            # the new one, so that the job on record is this request's.
            entry = self._relabel(run, item.name) or entry
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
            if run.share is not None and step is not VideoStep.DOWNLOAD:
                # Another runner may be on it already: a submit in flight there is
                # followed, not called unknown here (it is unknown only once its
                # runner is gone without a job id), nor made again.
                holder = await run.share.take(item.name)
                if holder is not None:
                    raise HeldElsewhere(f"another runner ({holder}) is working on it")
                if step is not VideoStep.SUBMIT:
                    run.share.passed(item.name)
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
                if run.share is not None:
                    run.share.passed(item.name)  # only waited for now: the next may go
                if isinstance(submitted, Outcome):
                    return submitted
                job_id = submitted
            assert job_id is not None  # POLL and SUBMIT both end with a job id
            state = await self._wait(run, request, provider, job_id, resumed)
        except OutOfTime as exc:
            return self._out_of_time(run, request.name, exc.rendering)
        except NoCredit as exc:  # this submit, its speech or its photo avatar
            return self._no_credit(run, request.name, exc)
        except HeldElsewhere as exc:
            if run.share is not None:
                run.share.passed(item.name)  # followed, not worked on: its place is free
            if exc.avatar is not None:
                return await self._await_avatar(run, item, exc.avatar, str(exc))
            return await self._follow(run, item, str(exc))
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

    def _no_credit(self, run: SpecRun, name: str, exc: NoCredit) -> Outcome:
        """Left to create: nothing of it was made, and nothing is recorded as failed
        (``_paid`` withdrew the intent durably, as for a submit that was not taken)."""
        reason = self._scrub(str(exc))
        if exc.first:
            self.reporter.event("no-credit", run.label, name, reason=reason)
        else:
            self.reporter.event("not-submitted", run.label, name, reason="no credit left")
        return Outcome(run.label, name, "pending", reason, no_credit=exc.provider)

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

    async def _submit(self, run: SpecRun, request: Request, provider: Provider) -> str | Outcome:
        """Submit one render; its job id, or the outcome when no job can be followed."""
        self._check_credit(request.provider)  # no uploads for a video that cannot be sent
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
            # Shared state (PostgreSQL): the intent is written only if no other runner
            # has the video; if one has, it is never sent from here.
            taken = getattr(run.journal, "taken", None)
            why = taken("videos", request.name) if taken is not None else None
            if why is not None:
                raise HeldElsewhere(why)

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
            reason = self._scrub(str(exc))
            self.reporter.event("render-failed", run.label, request.name, reason=reason)
            return Outcome(run.label, request.name, "pending", reason)
        # Rule 1, second half: the job id is durable before we do anything else.
        try:
            self._record(run, request, Status.SUBMITTED, job_id=job_id)
            await run.commit()
        except OSError as exc:
            raise Unrecorded(job_id, exc) from exc
        self.reporter.event("submitted", run.label, request.name, job=job_id)
        return job_id

    async def _follow(self, run: SpecRun, item: PlanItem, reason: str) -> Outcome:
        """A video another runner has: wait until it is done there or that runner is
        gone (then take it over and go on from its record: a submitted job is polled,
        never submitted again).

        Done there, it is that runner's to download: runners share the work, not
        each do all of it. This machine gets the file from the next `apply` here,
        which plans it as a download (a fresh URL if the recorded one expired)."""
        self.reporter.event("held-elsewhere", run.label, item.name, reason=reason)
        journal: Any = run.journal
        share = run.share
        assert share is not None  # only a shared spec's videos are held elsewhere
        request = run.plan.requests[item.name]
        try:
            while True:
                holder = await self._until_deadline(share.look(item.name))
                entry = run.journal.state.videos.get(item.name) or VideoRecord()
                ours = entry.fingerprint == request.fingerprint
                if ours and entry.status is Status.COMPLETED:
                    why = "rendered by another runner: `reelform apply` here downloads it"
                    return Outcome(run.label, item.name, "elsewhere", why)
                if ours and entry.status is Status.FAILED:
                    return Outcome(run.label, item.name, "failed", entry.error)
                if ours and entry.status is Status.UNKNOWN:
                    # Its runner found the submit's outcome unknown: so is it here (and
                    # waiting on it would wait for that runner's whole run).
                    return Outcome(run.label, item.name, "unknown", entry.error)
                if holder is not None:
                    continue
                if await asyncio.to_thread(journal.claim, item.name) is not None:
                    continue  # another runner took it over first
                share.adopt(item.name)
                self.reporter.event("taken-over", run.label, item.name)
                interrupted = entry.status in (Status.SUBMITTING, Status.SUBMITTED, Status.UNKNOWN)
                action = Action.RESUME if ours and interrupted else Action.CREATE
                return await self._video(run, replace(item, action=action))
        except OutOfTime:
            return self._out_of_time(run, item.name, rendering=True)

    async def _await_avatar(self, run: SpecRun, item: PlanItem, key: str, reason: str) -> Outcome:
        """The photo avatar a video needs is being made by another runner: wait until
        its record moves on (a motion id, made, failed), then go on with the video."""
        self.reporter.event("held-elsewhere", run.label, item.name, reason=reason)
        journal: Any = run.journal
        pause = max(0.05, 2.0 * self.options.poll.time_scale)
        try:
            while True:
                await self._sleep(pause)
                await asyncio.to_thread(journal.look_avatar, key)
                entry = run.journal.state.avatars.get(key)
                if entry is None or entry.status is not Status.SUBMITTING or entry.motion_id:
                    return await self._video(run, item)
        except OutOfTime:
            return self._out_of_time(run, item.name, rendering=False)

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
            pushes=(lambda: bool(hooks.pushes(request.provider))) if hooks is not None else None,
            resumed=resumed,
        )

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

    async def _move(self, run: SpecRun, item: PlanItem) -> Outcome:
        """A renamed video (plan/moves.py): the output file is renamed, then the entry
        re-keyed under the new name, in that order, with no provider call.

        A crash after the rename leaves the old entry naming a file that is gone and
        the file at the new name: the next plan is the same move, and this finds the
        file already there. The re-keyed entry and the old one's removal are one
        journal append, the new entry first: any prefix of it is an orphan at worst.
        A file that is not there at all is downloaded again (free), never rendered.
        """
        request = run.plan.requests[item.name]
        source = item.source or ""
        entry = run.journal.state.videos.get(source)
        if entry is None or entry.status is not Status.COMPLETED:
            reason = f"{source}: its lock entry changed since the plan; make a new plan"
            return Outcome(run.label, item.name, "failed", reason)
        spec = run.prepared.spec
        output = entry.output or VideoOutput()
        suffix = Path(output.path).suffix if output.path else ""
        target = spec.output_dir / f"{request.name}{suffix or '.mp4'}"
        if output.path:
            await asyncio.to_thread(_rename_output, spec.directory / output.path, target)
            relative = Path(os.path.relpath(target, spec.directory)).as_posix()
            output = replace(output, path=relative)
        moved = replace(
            entry,
            fingerprint=request.fingerprint,
            key=request.key,
            inputs=request.inputs,
            provider=request.provider,
            output=output if entry.output is not None else None,
        )
        run.journal.record_all([("videos", request.name, moved), ("videos", source, None)])
        await run.commit()
        self.reporter.event("moved", run.label, request.name, source=source)
        intact = file_status(
            str(spec.directory), output.path, output.bytes, output.mtime_ns, output.sha256
        )
        if intact is OutputStatus.OK:
            return Outcome(run.label, request.name, "moved")
        traits = provider_traits(request.provider)
        provider = None if traits.free else self.provider_for(run, request.provider)
        return await self._download(run, request, moved, refresh=provider)


def _rename_output(source: Path, target: Path) -> None:
    """Rename an output file into place, durably; nothing when it is already gone
    (an earlier move renamed it and crashed before its record, or a person removed
    it: then the move downloads it)."""
    if not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fsync_dir(target.parent)
    if source.parent != target.parent:
        fsync_dir(source.parent)
