"""Following a video another runner applying the same spec has (state in
PostgreSQL; docs/design.md, "Many runners, one spec").

A video whose submit, or whose photo avatar, another live runner holds is not
worked on here: its task waits until that runner settles it (then says what became
of it) or is gone (then takes it over and goes on from its record, through the
executor's ``go_on``: a submitted job is polled, never submitted again). The waiting
is ``WorkShare.look``'s, one database query for all the followed videos.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from reelform.apply.model import Outcome, OutOfTime, SpecRun
from reelform.apply.outcomes import Outcomes
from reelform.plan.diff import Action, PlanItem
from reelform.state.records import Status, VideoRecord

#: Goes on with a video this runner now has: the executor's ``_video``.
GoOn = Callable[[SpecRun, PlanItem], Awaitable[Outcome]]


class Following(Outcomes):
    """Videos held by other runners (the module docstring)."""

    async def _follow(self, run: SpecRun, item: PlanItem, reason: str, go_on: GoOn) -> Outcome:
        """A video another runner has: wait until it is done there or that runner is
        gone (then take it over and ``go_on`` from its record: a submitted job is
        polled, never submitted again).

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
                await self._until_deadline(share.look(item.name))
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
                if await asyncio.to_thread(journal.claim, item.name) is not None:
                    continue  # another runner took it over first
                share.adopt(item.name)
                self.reporter.event("taken-over", run.label, item.name)
                interrupted = entry.status in (Status.SUBMITTING, Status.SUBMITTED, Status.UNKNOWN)
                action = Action.RESUME if ours and interrupted else Action.CREATE
                return await go_on(run, replace(item, action=action))
        except OutOfTime:
            return self._out_of_time(run, item.name, rendering=True)

    async def _await_avatar(
        self, run: SpecRun, item: PlanItem, key: str, reason: str, go_on: GoOn
    ) -> Outcome:
        """The photo avatar a video needs is being made by another runner: wait until
        its record moves on (a motion id, made, failed), then ``go_on`` with the video."""
        self.reporter.event("held-elsewhere", run.label, item.name, reason=reason)
        journal: Any = run.journal
        pause = max(0.05, 2.0 * self.options.poll.time_scale)
        try:
            while True:
                await self._sleep(pause)
                await asyncio.to_thread(journal.look_avatar, key)
                entry = run.journal.state.avatars.get(key)
                if entry is None or entry.status is not Status.SUBMITTING or entry.motion_id:
                    return await go_on(run, item)
        except OutOfTime:
            return self._out_of_time(run, item.name, rendering=False)
