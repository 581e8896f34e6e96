"""Executing plans: one task per video, from its plan item to its recorded file.

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

Layers, each using only those below it:

- ``pacing.Pacing``: slots, the rate-limit token, the --timeout, the paid-submit
  loop and the polling loop;
- ``prerequisites.Prerequisites``: uploads and photo avatars;
- ``outcomes.Outcomes``: each state a video reaches, as its journal record and as
  the summary's ``Outcome`` (rule 4's crashed video too);
- on that, side by side: ``submit.Submits`` (rules 1 and 2), ``outputs.Outputs``
  (downloads, fresh URLs) with ``moves.Moves`` over it (moves, orphans), and
  ``following.Following`` (videos another runner has);
- ``Executor`` here: the run's tasks, and each video's steps in order (rule 3's
  wait among them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from reelform.apply.copies import copy_video
from reelform.apply.decide import VideoStep, after_lost_answer, video_step
from reelform.apply.download import clean_partials
from reelform.apply.following import Following
from reelform.apply.model import (
    HeldElsewhere,
    NoCredit,
    NotTaken,
    Outcome,
    OutOfTime,
    SpecRun,
    StoppedWaiting,
)
from reelform.apply.moves import Moves
from reelform.apply.share import WorkShare
from reelform.apply.submit import Submits
from reelform.errors import ProviderError, RejectedError
from reelform.plan.diff import Action, PlanItem
from reelform.plan.fingerprint import Request, same_render
from reelform.providers.base import JobState, JobStatus, Provider
from reelform.registry import provider_traits
from reelform.state.records import FileRecord, VideoRecord

#: The fewest videos a runner sharing a spec claims ahead of its submits
#: (``apply/share.py``): refilled by half, 16 videos a claim transaction at least.
WINDOW = 32


class Executor(Submits, Moves, Following):
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
                return await self._await_avatar(run, item, exc.avatar, str(exc), self._video)
            return await self._follow(run, item, str(exc), self._video)
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
