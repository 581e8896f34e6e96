"""Applying a ``copy`` (``plan/reuse.py``): the same render's file, never a new render.

A copy takes its video from its source, in this order:

1. the source's output file, when it is there and its sha256 is the one on record
   (copied beside the destination, hashed, fsynced and renamed into place, as a
   download is: ``apply/download.py`` with a ``file:`` URL);
2. the video at the provider, from the URL on the source's record (or a fresh one,
   asked for with the source's job id, when the recorded URL was signed or no longer
   works): the same bytes, downloaded once more, not rendered again.

If neither works the copy fails and says why; it is never rendered instead, since
the plan that was reviewed (and `--max-credits`) counted it as free. `apply
--no-reuse` renders it. A copy of a render this run makes waits for that render
first: if it does not complete, the copy is not made either (``failed`` with the
source's reason when the source failed, ``pending`` otherwise) and the next plan
decides again.

A finished copy is one journal record, written when its file is in place: a
``completed`` video with its own output file, ``copied_from`` naming its source, and
the source's job id and URL (the job that made the video: what asks the provider for
a fresh URL should this file have to be downloaded again).
A kill before that leaves nothing on record, and the next plan shows the copy again.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from reelform.apply.decide import recordable_url
from reelform.apply.download import Downloaded, download
from reelform.apply.model import Outcome, SpecRun, now
from reelform.errors import ProviderError
from reelform.plan.diff import PlanItem
from reelform.state.outputs import OutputStatus, file_status
from reelform.state.records import Status, VideoOutput, VideoRecord

if TYPE_CHECKING:
    from reelform.apply.executor import Executor


async def copy_video(executor: Executor, run: SpecRun, item: PlanItem) -> Outcome:
    """Make ``item`` (a copy) from its source; record it (the module docstring)."""
    assert item.copy_of is not None
    spec, name = item.copy_of
    shown = name if spec == run.plan.spec else f"{spec}:{name}"
    completed = run.plan.copies.get(item.name)
    if completed is not None:
        record, directory, source_spec = completed.record, Path(completed.directory), spec
    else:
        rendered = executor.rendering(spec, name)
        if rendered is None:  # its source is not made by this run (held back, say)
            reason = f"its source {shown} is not made by this run; the next apply copies it"
            return _not_copied(executor, run, item, "pending", reason)
        task, source_run = rendered
        outcome = await asyncio.shield(task)  # cancelling a copy must not stop its source
        entry = source_run.journal.state.videos.get(name)
        if not outcome.ok or entry is None or entry.status is not Status.COMPLETED:
            status = "failed" if outcome.status == "failed" else "pending"
            why = f"{outcome.status}: {outcome.reason}" if outcome.reason else outcome.status
            return _not_copied(executor, run, item, status, f"its source {shown} is {why}")
        record, directory = entry, source_run.prepared.spec.directory
        source_spec = str(source_run.prepared.spec.path)
    got, trouble = await _fetch(executor, run, item, record, directory)
    if got is None:
        reason = (
            f"not copied from {shown}: {trouble}; nothing was rendered "
            "(`apply --no-reuse` renders it)"
        )
        return _not_copied(executor, run, item, "failed", reason)
    spec_dir = run.prepared.spec.directory
    request = run.plan.requests[item.name]
    source_output = record.output or VideoOutput()
    output = VideoOutput(
        path=Path(os.path.relpath(got.path, spec_dir)).as_posix(),
        sha256=got.sha256,
        bytes=got.bytes,
        mtime_ns=got.mtime_ns,
        url=source_output.url,
        duration=source_output.duration,
        signed=source_output.signed,
    )
    source_path = Path(os.path.relpath(Path(source_spec).resolve(), spec_dir.resolve()))
    entry = VideoRecord(
        fingerprint=request.fingerprint,
        key=request.key,
        inputs=request.inputs,
        provider=request.provider,
        status=Status.COMPLETED,
        # The job that made this video, which is the source's: with it a fresh URL can
        # be asked for when this file must be downloaded again (a fresh clone).
        job_id=record.job_id,
        completed_at=now(),
        output=output,
        copied_from={"spec": source_path.as_posix(), "name": name},
    )
    run.journal.record("videos", item.name, entry)
    executor.reporter.event("copied", run.label, item.name, source=shown, path=output.path)
    return Outcome(run.label, item.name, "completed")


async def _fetch(
    executor: Executor, run: SpecRun, item: PlanItem, record: VideoRecord, directory: Path
) -> tuple[Downloaded | None, str]:
    """The source's video in this copy's place: from its file, else its provider."""
    folder = run.prepared.spec.output_dir
    output = record.output or VideoOutput()
    scale = executor.options.poll.time_scale
    trouble = "it has no output file on record"
    if output.path:
        status = file_status(
            str(directory), output.path, output.bytes, output.mtime_ns, output.sha256
        )
        trouble = "its output file is missing" if status is OutputStatus.MISSING else ""
        trouble = trouble or "its output file differs from its record"
        if status is OutputStatus.OK:
            source = (directory / output.path).resolve()
            try:
                async with executor.downloads:
                    got = await download(
                        source.as_uri(), folder, item.name, executor.http, files=executor.files
                    )
            except (ProviderError, OSError) as exc:
                trouble = f"its output file could not be copied ({exc})"
            else:
                if got.sha256 == output.sha256:
                    return got, ""
                trouble = "its output file changed while it was copied"
    # The same video from the provider: downloaded again, never rendered again.
    url = output.url if output.url and not output.signed else None
    provider = executor.provider_for(run, item.provider)
    if url is None and record.job_id:
        fresh = await executor._fresh_url(record, provider, stale=None)
        url = fresh.video_url if fresh is not None else None
    if url is None:
        return None, f"{trouble}, and the provider gave no URL to download it from"
    for attempt in range(2):
        try:
            async with executor.downloads:
                got = await download(url, folder, item.name, executor.http, time_scale=scale)
        except ProviderError as exc:
            # A recorded URL that stopped working: once more with a fresh one.
            fresh = await executor._fresh_url(record, provider, stale=url) if not attempt else None
            if fresh is None or not fresh.video_url:
                shown_url, _ = recordable_url(url)
                return None, f"{trouble}, and downloading {shown_url} failed ({exc})"
            url = fresh.video_url
        except OSError as exc:
            return None, f"cannot write {exc.filename or folder}: {exc.strerror or exc}"
        else:
            return got, ""
    return None, trouble  # not reached: the second attempt returns either way


def _not_copied(
    executor: Executor, run: SpecRun, item: PlanItem, status: str, reason: str
) -> Outcome:
    reason = executor._scrub(reason)
    executor.reporter.event("copy-failed", run.label, item.name, reason=reason)
    return Outcome(run.label, item.name, status, reason)
