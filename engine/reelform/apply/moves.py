"""Videos whose name changed or that left the spec: a ``move`` renames the output
file and re-keys its entry (docs/design.md, "Moves"), an ``orphan`` is pruned with
`--prune` (its file and entry removed) and left alone otherwise. Both are journal
records and file renames or removals, with no render: a moved video whose file is
gone is downloaded again (``Outputs``), never rendered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import replace
from pathlib import Path

from reelform.apply.model import Outcome, SpecRun
from reelform.apply.outputs import Outputs
from reelform.atomic import fsync_dir
from reelform.plan.diff import PlanItem
from reelform.registry import provider_traits
from reelform.state.outputs import OutputStatus, file_status
from reelform.state.records import Status, VideoOutput


class Moves(Outputs):
    """Moves and orphans (the module docstring)."""

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
