"""What becomes of a video: each state it reaches, as its journal record, and how
its work ended, as the summary's ``Outcome`` (completed, failed, stopped early, out
of credit, out of time, crashed).

A record is always of the request being applied, never an edit of the last one
(``_record``), so a replaced video's old job never leaks into the new one's entry.
Every reason passes ``_scrub`` before it reaches the lockfile or the screen.

The layer above ``Prerequisites``: what the submit, download, move and follow
layers (``submit.py``, ``outputs.py``, ``moves.py``, ``following.py``) and the
executor all record with.
"""

from __future__ import annotations

import contextlib
import traceback
from dataclasses import replace

from reelform.apply.decide import recordable_url, summary_status
from reelform.apply.model import (
    NoCredit,
    NotTaken,
    Outcome,
    SpecRun,
    StoppedWaiting,
    Unrecorded,
    now,
)
from reelform.apply.prerequisites import Prerequisites
from reelform.errors import ReelformError
from reelform.plan.fingerprint import Request
from reelform.providers.base import JobState
from reelform.state.records import Status, VideoOutput, VideoRecord

#: Written as null rather than left out when the provider gives none, as it always
#: was (``records``: ``nulls``): the lockfile's bytes do not change.
_DURATION = frozenset({"duration"})


class Outcomes(Prerequisites):
    """Records and outcomes of the videos of a run (the module docstring)."""

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

    def _completed(self, run: SpecRun, request: Request, state: JobState) -> VideoRecord:
        url, signed = recordable_url(state.video_url or "")
        output = VideoOutput(
            url=url,
            duration=state.duration,
            signed=True if signed else None,  # the query was dropped: ask for a fresh URL later
            nulls=_DURATION,
        )
        return self._record(run, request, Status.COMPLETED, completed_at=now(), output=output)

    def _failed(
        self, run: SpecRun, request: Request, reason: str, job_id: str | None = None
    ) -> Outcome:
        reason = self._scrub(reason)
        self._record(run, request, Status.FAILED, job_id=job_id, error=reason)
        self.reporter.event("render-failed", run.label, request.name, reason=reason)
        return Outcome(run.label, request.name, "failed", reason)

    def _stopped(self, run: SpecRun, request: Request, exc: Exception) -> str:
        """The summary's word for a video whose work stopped early."""
        entry = run.journal.state.videos.get(request.name) or VideoRecord()
        if entry.fingerprint == request.fingerprint and entry.status:
            return summary_status(entry.status)
        # Nothing of this request at the provider: its photo avatar is still being
        # made, or the provider would not take it yet.
        return "pending" if isinstance(exc, NotTaken | StoppedWaiting) else "failed"

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
