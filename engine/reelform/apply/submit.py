"""Submitting a video's render: the paid request and what its answer proves.

Rules 1 and 2 of ``apply/executor.py`` live here (docs/design.md, "Never pay twice";
``providers.submits`` holds the verdicts on each answer):

- ``_submit``: the intent (``submitting``) is durable before the request leaves
  (after its uploads, speech and waits, through ``Pacing._paid``), and the job id
  (``submitted``) right after it returns, before anything else; in shared state
  the intent is not written while another runner has the video (``HeldElsewhere``:
  it is followed, never sent from here);
- an answer that proves nothing is asked about where the provider can say which job
  it made (``_look_up``; after a crash, ``_find_lost_submit``), and makes the video
  ``unknown`` where it cannot (``_unknown``): never sent again unless
  `--resubmit-unknown` says so (a free provider's is sent again, within the retry
  budget).

Whether to submit, look up or poll is ``apply.decide``'s (pure); this layer makes
the requests and records their answers.
"""

from __future__ import annotations

from reelform.apply.decide import VideoStep, after_lost_answer
from reelform.apply.model import HeldElsewhere, NotTaken, Outcome, SpecRun, Unrecorded, now
from reelform.apply.outcomes import Outcomes
from reelform.errors import OutcomeUnknownError, ProviderError, RejectedError
from reelform.plan.fingerprint import Request
from reelform.providers.base import Provider, VideoJob
from reelform.registry import provider_traits
from reelform.state.records import Status, VideoRecord


class Submits(Outcomes):
    """The submit protocol of a video's render (the module docstring)."""

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
