"""The gallery's I/O edge: plan the specs, look at the files, make the posters.

``collect`` turns (prepared spec, plan) pairs into a ``Gallery``: the cards
(``model.cards_for``), and the only files the page may show (``Gallery.media``,
``Gallery.posters``): the server serves nothing else. Each file the lockfile names
is checked like `plan` checks outputs (size and mtime, else its sha256), and must
lie inside the spec's output folder (or its preview folder) once symlinks are
resolved: a hand-edited lockfile cannot make the gallery show /etc/passwd.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelform.plan.diff import SpecPlan
from reelform.project import Prepared
from reelform.review.model import Card, MediaFacts, MediaState, SpecFacts, cards_for
from reelform.review.posters import cache_dir, make_posters, poster_path
from reelform.state.approvals import read_approvals
from reelform.state.lockfile import LockState, read_lock
from reelform.state.outputs import OutputStatus, file_status, sha256_file
from reelform.state.records import Status, VideoOutput


@dataclass(frozen=True)
class SpecCards:
    prepared: Prepared
    plan: SpecPlan
    cards: list[Card]

    @property
    def label(self) -> str:
        return self.plan.spec


@dataclass
class Gallery:
    specs: list[SpecCards] = field(default_factory=list)
    #: sha256 -> the poster file; the page addresses posters by their video's sha256.
    posters: dict[str, Path] = field(default_factory=dict)

    @property
    def cards(self) -> list[Card]:
        return [card for spec in self.specs for card in spec.cards]

    def media(self) -> dict[str, tuple[Path, Path]]:
        """key -> (file, the folder it must stay inside): what may be served."""
        allowed: dict[str, tuple[Path, Path]] = {}
        for spec in self.specs:
            outputs = spec.prepared.spec.output_dir
            previews = preview_folder(spec.prepared)
            for card in spec.cards:
                for media, root in ((card.output, outputs), (card.preview, previews)):
                    if media is not None and media.playable:
                        allowed[media.key] = (media.path, root)
        return allowed

    def spec_of(self, card_id: str) -> tuple[SpecCards, Card] | None:
        for spec in self.specs:
            for card in spec.cards:
                if card.id == card_id:
                    return spec, card
        return None


def preview_folder(prepared: Prepared) -> Path:
    from reelform.watch.preview import preview_paths

    return preview_paths(prepared.spec)[0]


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is within ``root`` once both are resolved (symlinks followed)."""
    try:
        real, top = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):
        return False
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def observe_file(
    directory: Path, output: VideoOutput, root: Path, hash_file: Callable[[Path], str]
) -> MediaFacts:
    """What is on disk of a recorded output, and its sha256 when it can be had."""
    if not output.path:
        return MediaFacts(MediaState.MISSING)
    full = directory / output.path
    if not full.exists():
        return MediaFacts(MediaState.MISSING)
    if not inside(full, root):
        return MediaFacts(MediaState.OUTSIDE)
    status = file_status(
        str(directory), output.path, output.bytes, output.mtime_ns, output.sha256, hash_file
    )
    if status is OutputStatus.OK and output.sha256:
        return MediaFacts(MediaState.OK, output.sha256)
    try:
        digest = hash_file(full)
    except OSError as exc:
        return MediaFacts(MediaState.UNREADABLE, error=exc.strerror or str(exc))
    state = MediaState.OK if status is OutputStatus.OK else MediaState.CHANGED
    return MediaFacts(state, digest)


def observe_lock(
    prepared: Prepared, lock: LockState, root: Path, hash_file: Callable[[Path], str]
) -> dict[str, MediaFacts]:
    directory = prepared.spec.directory
    seen = {}
    for name, record in lock.videos.items():
        if record.status is Status.COMPLETED and record.output is not None:
            seen[name] = observe_file(directory, record.output, root, hash_file)
    return seen


@functools.cache
def _local_catalog() -> tuple[int, frozenset[str]]:
    from reelform.providers.local.capabilities import avatar_count, speakable_voices

    return avatar_count(), speakable_voices()


def preview_identities(prepared: Prepared, preview_lock: LockState) -> dict[str, str]:
    """The fingerprint each video's preview would have now (a different one on record:
    the preview is of an earlier version, and the card says so)."""
    from reelform.watch.preview import preview_prepared

    avatars, espeak = _local_catalog()
    preview = preview_prepared(prepared, avatars, espeak, lambda _path: preview_lock)
    return {r.name: r.fingerprint for r in preview.requests}


def collect(
    planned: Sequence[tuple[Prepared, SpecPlan]],
    *,
    previews: bool = False,
    hash_file: Callable[[Path], str] = sha256_file,
    read_lock_file: Callable[[Path], LockState] = read_lock,
    posters: bool = True,
) -> Gallery:
    """The gallery of ``planned`` specs (posters made where missing)."""
    from reelform.watch.preview import preview_paths

    gathered: list[tuple[Prepared, SpecPlan, LockState, SpecFacts]] = []
    for prepared, plan in planned:
        spec = prepared.spec
        lock = prepared.lock
        outputs = observe_lock(prepared, lock, spec.output_dir, hash_file)
        facts = SpecFacts(outputs, approvals=read_approvals(spec.path))
        if previews:
            folder, lock_path = preview_paths(spec)
            preview_lock = read_lock_file(lock_path)
            facts = SpecFacts(
                outputs,
                preview_lock,
                observe_lock(prepared, preview_lock, folder, hash_file),
                preview_identities(prepared, preview_lock),
                facts.approvals,
            )
        gathered.append((prepared, plan, lock, facts))
    made = _posters([(p, f) for p, _, _, f in gathered]) if posters else ({}, {})
    found, errors = made
    gallery = Gallery(posters=found)
    for prepared, plan, lock, facts in gathered:
        facts = _with_poster_errors(facts, errors)
        gallery.specs.append(SpecCards(prepared, plan, cards_for(prepared.spec, plan, lock, facts)))
    return gallery


def _posters(
    specs: Sequence[tuple[Prepared, SpecFacts]],
) -> tuple[dict[str, Path], dict[str, str]]:
    """Make the posters of every readable file: (sha256 -> poster, sha256 -> error)."""
    jobs: dict[Path, Path] = {}
    by_target: dict[Path, str] = {}
    for prepared, facts in specs:
        cache = cache_dir(prepared.spec.directory)
        directory = prepared.spec.directory
        sources = [(facts.outputs, prepared.lock)]
        if facts.previews is not None and facts.preview_lock is not None:
            sources.append((facts.previews, facts.preview_lock))
        for seen, lock in sources:
            for name, media in seen.items():
                if media.sha256 is None or media.state not in (MediaState.OK, MediaState.CHANGED):
                    continue
                record = lock.videos[name]
                assert record.output is not None and record.output.path
                target = poster_path(cache, media.sha256)
                jobs.setdefault(target, directory / record.output.path)
                by_target[target] = media.sha256
    errors = make_posters(jobs)
    found = {by_target[t]: t for t in jobs if t not in errors}
    return found, {by_target[t]: error for t, error in errors.items()}


def _with_poster_errors(facts: SpecFacts, errors: Mapping[str, str]) -> SpecFacts:
    """A file no frame could be read from is unreadable: its card says why."""
    if not errors:
        return facts

    def mark(seen: Mapping[str, MediaFacts]) -> dict[str, MediaFacts]:
        return {
            name: MediaFacts(MediaState.UNREADABLE, media.sha256, errors[media.sha256])
            if media.sha256 is not None and media.sha256 in errors
            else media
            for name, media in seen.items()
        }

    return SpecFacts(
        mark(facts.outputs),
        facts.preview_lock,
        mark(facts.previews) if facts.previews is not None else None,
        facts.preview_identities,
        facts.approvals,
    )
