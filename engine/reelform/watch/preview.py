"""`watch --preview`: render what a plan would render, locally, at half size.

Layout, beside each spec (like its default output folder):

    specs/preview/<spec name>/<video>.mp4   the previews
    specs/preview/<spec name>.lock          their own lockfile (+ .journal, .pid)

The real lockfile and output folder are never touched, and no paid provider is
ever called: every video is rewritten for the `local` provider first
(``local_preview``), so a spec written for JoggAI or Mirako previews offline.
The preview lockfile makes previews incremental like apply: a video already
previewed with the same inputs is not rendered again, and the preview of a video
that left the spec is removed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from reelform.plan.diff import SpecPlan
from reelform.project import Prepared, avatar_requests, plan_prepared
from reelform.speclang.expand import LoadedSpec
from reelform.speclang.model import Video
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState

PREVIEW_FOLDER = "preview"
PREVIEW_SETTINGS = {"preview": "true"}  # the local renderer's half-size mode
FALLBACK_VOICE = "en"


def preview_paths(spec: LoadedSpec) -> tuple[Path, Path]:
    """(folder of the previews, their lockfile)."""
    folder = spec.directory / PREVIEW_FOLDER
    return folder / spec.name, folder / f"{spec.name}.lock"


def local_voice(voice_id: str | None, espeak: Collection[str]) -> str | None:
    """Keep a voice eSpeak can speak (directly, or a cloud id's language); else "en"."""
    if voice_id is None:
        return None  # an audio voice: the audio is used as it is
    from reelform.providers.local.capabilities import can_speak

    if can_speak(voice_id, espeak):
        return voice_id
    return FALLBACK_VOICE


def local_video(video: Video, avatars: int, espeak: Collection[str]) -> Video:
    """One video as the `local` provider renders it: provider avatars become local
    avatars 1..N (modulo N), voices eSpeak voices; scripts, images, audio stay."""
    update: dict[str, Any] = {"provider": "local"}
    if video.avatar is not None and video.avatar.id is not None:
        local_id = (video.avatar.id - 1) % avatars + 1
        update["avatar"] = video.avatar.model_copy(update={"id": local_id, "type": "public"})
    voice_id = local_voice(video.voice.voice_id, espeak)
    if voice_id != video.voice.voice_id:
        update["voice"] = video.voice.model_copy(update={"voice_id": voice_id})
    return video.model_copy(update=update)


def local_preview(spec: LoadedSpec, avatars: int, espeak: Collection[str]) -> LoadedSpec:
    """The spec as its preview: every video local, half size, its own lock and folder."""
    folder, lock = preview_paths(spec)
    videos = [
        d._replace(provider="local", video=local_video(d.video, avatars, espeak))
        for d in spec.videos
    ]
    settings = {**spec.settings, "local": dict(PREVIEW_SETTINGS)}
    return dataclasses.replace(
        spec, videos=videos, settings=settings, lock_path=lock, output_dir=folder
    )


def preview_prepared(
    prepared: Prepared,
    avatars: int,
    espeak: Collection[str],
    read_lock: Callable[[Path], LockState],
) -> Prepared:
    spec = local_preview(prepared.spec, avatars, espeak)
    facts = prepared.facts  # the same files: probed once, by the real plan
    return Prepared(
        spec, LockSource.of(read_lock(spec.lock_path)), dict(facts), avatar_requests(spec, facts)
    )


def to_render(plan: SpecPlan) -> frozenset[str]:
    """The videos the real plan would render: those are the ones worth previewing."""
    return frozenset(i.name for i in plan.items if i.kind == "video" and i.action.renders)


class Previewer:
    """Renders previews; knows the local catalog and eSpeak voices (read once)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        from reelform.secrets import secret_variables

        # Defence in depth: every preview is local, and without keys nothing else could be.
        secrets = secret_variables()
        self.env = {
            k: v for k, v in (os.environ if env is None else env).items() if k not in secrets
        }
        self._avatars: int | None = None
        self._espeak: frozenset[str] | None = None

    def _known(self) -> tuple[int, frozenset[str]]:
        if self._avatars is None or self._espeak is None:
            from reelform.providers.local.capabilities import avatar_count, speakable_voices

            self._avatars = avatar_count()
            self._espeak = speakable_voices()
        return self._avatars, self._espeak

    async def run(self, planned: Sequence[tuple[Prepared, SpecPlan]]) -> list[str]:
        """Render the previews of what each plan would render, in one apply (one
        pool of render processes for all specs), and remove the previews of videos
        no longer in the spec; one line per spec."""
        from reelform.errors import BusyError, ProviderError, UserError

        lines: dict[str, str] = {}
        work: list[tuple[Prepared, SpecPlan]] = []
        for prepared, plan in planned:
            folder, lock_path = preview_paths(prepared.spec)
            if to_render(plan) or lock_path.exists():
                work.append((prepared, plan))
            else:
                lines[str(prepared.spec.path)] = f"preview: nothing to render ({_shown(folder)})"
        if work:
            try:
                lines |= await self._render(work)
            except BusyError as exc:
                lines |= {str(p.spec.path): f"preview: skipped, {exc}" for p, _ in work}
            except (UserError, ProviderError) as exc:  # a preview never stops the watcher
                lines |= {str(p.spec.path): f"preview: failed: {exc}" for p, _ in work}
        return [
            f"{label}: {lines[label]}"
            for label in (str(p.spec.path) for p, _ in planned)
            if label in lines
        ]

    async def _render(self, work: Sequence[tuple[Prepared, SpecPlan]]) -> dict[str, str]:
        from reelform.api import SilentReporter
        from reelform.apply.model import ApplyOptions
        from reelform.apply.session import apply_session
        from reelform.state.lockfile import read_lock

        avatars, espeak = self._known()
        lines: dict[str, str] = {}
        locks = [preview_paths(p.spec)[1] for p, _ in work]
        for lock in locks:
            lock.parent.mkdir(parents=True, exist_ok=True)
        previews: list[Prepared] = []

        def planner() -> tuple[list[Prepared], list[SpecPlan]]:
            plans = []
            for prepared, plan in work:
                preview = preview_prepared(prepared, avatars, espeak, read_lock)
                preview_plan = plan_prepared(preview, _selection(prepared, plan))
                if preview_plan.changes:
                    previews.append(preview)
                    plans.append(preview_plan)
                else:
                    count, shown = len(to_render(plan)), _shown(preview.spec.output_dir)
                    lines[str(prepared.spec.path)] = (
                        f"preview: {count:,} up to date in {shown}"
                        if count
                        else f"preview: nothing to render ({shown})"
                    )
            return previews, plans

        result = await apply_session(
            locks,
            [f"preview of {p.spec.path}" for p, _ in work],
            planner,
            ApplyOptions(parallel=2, prune=True),
            lambda _plans: True,
            SilentReporter(),
            env=self.env,
        )
        outcomes = result.outcomes or []
        for preview in previews:
            label = str(preview.spec.path)
            mine = [o for o in outcomes if o.spec == label and o.kind == "video"]
            done = sum(1 for o in mine if o.status == "completed")
            removed = sum(1 for o in mine if o.status == "pruned")
            text = f"preview: {done:,} rendered"
            if removed:
                text += f", {removed:,} removed"
            text += f" in {_shown(preview.spec.output_dir)}"
            failed = [o for o in mine if not o.ok]
            for outcome in failed[:3]:
                text += f"\n  {outcome.name}: {outcome.status}: {outcome.reason}"
            if len(failed) > 3:
                text += f"\n  and {len(failed) - 3} more failed"
            lines[label] = text
        return lines


def _selection(prepared: Prepared, plan: SpecPlan) -> Callable[[str], bool]:
    """Preview what the real plan renders; and select the previews of videos no longer
    in the spec, which the preview plan then shows as orphans (to remove)."""
    wanted = to_render(plan)
    current = {v.name for v in prepared.spec.videos}
    return lambda name: name in wanted or name not in current


def _shown(folder: Path) -> str:
    try:
        return os.path.relpath(folder) + os.sep
    except ValueError:  # another drive (Windows)
        return str(folder) + os.sep
