"""A finished video's output file: downloaded, from this run's answer or the URL on
record, and recorded with its path, size, mtime and sha256.

A paid provider's URL that no longer works (signed URLs expire), or that was
recorded without its signature, is asked of the provider again through the job id
(``_fresh_url``): the video is downloaded again, never rendered again. The bytes
themselves (streamed, capped, hashed, fsynced, renamed into place) are
``apply/download.py``'s; a download's failure is its video's alone.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from reelform.apply.download import download
from reelform.apply.model import Outcome, SpecRun
from reelform.apply.outcomes import Outcomes
from reelform.errors import ProviderError
from reelform.plan.fingerprint import Request
from reelform.providers.base import JobState, JobStatus, Provider
from reelform.state.records import VideoOutput, VideoRecord


class Outputs(Outcomes):
    """Downloads of finished videos (the module docstring)."""

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
