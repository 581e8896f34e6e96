"""The read side of a run: spec + lockfile + files on disk -> a plan.

This is the only place that combines the pure core (``spec/``, ``plan/``) with
the reads it needs (asset facts, output files). Nothing here writes.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelform.errors import Location, Problem, SpecError
from reelform.plan.diff import AvatarRequest, OutputStatus, SpecPlan, diff
from reelform.plan.fingerprint import Request, digest, photo_avatar_inputs, requests_for
from reelform.spec.assets import FileFacts, probe
from reelform.spec.expand import LoadedSpec, expand_spec
from reelform.spec.fit import fit_problems
from reelform.spec.load import find_specs
from reelform.state.lockfile import LockState, read_lock


@dataclass(frozen=True)
class Prepared:
    """A spec ready to plan: loaded, checked, its assets known, its lockfile read."""

    spec: LoadedSpec
    lock: LockState
    facts: dict[str, FileFacts | None]  # by asset name
    requests: list[Request]
    avatars: list[AvatarRequest]

    def file_key(self, path: Path) -> str:
        """How the lockfile's `files` section names a file: relative to the spec, POSIX."""
        return Path(os.path.relpath(path, self.spec.directory)).as_posix()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading a large spec allocates millions of objects and no cycles; Python's
    cyclic GC would rescan them all many times over (a third of the time at 100k)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def prepare(path: Path, var_overrides: Mapping[str, str] | None = None, *,
            lock_reader: Callable[[Path], LockState] = read_lock) -> Prepared:
    """``lock_reader``: `watch` passes a cached reader so an unchanged lockfile is not
    parsed again on every keystroke."""
    with _gc_paused():
        return _prepare(path, var_overrides, lock_reader)


def _prepare(path: Path, var_overrides: Mapping[str, str] | None,
             lock_reader: Callable[[Path], LockState]) -> Prepared:
    spec, problems = expand_spec(path, var_overrides)
    lock = lock_reader(spec.lock_path)
    facts: dict[str, FileFacts | None] = {}
    for name, decl in spec.assets.items():
        if decl.path is None or not decl.path.is_file():  # a missing file is reported
            facts[name] = None
            continue
        key = Path(os.path.relpath(decl.path, spec.directory)).as_posix()
        cached = lock.files.get(key)
        try:
            facts[name] = probe(decl.path, FileFacts.from_json(cached) if cached else None)
        except OSError as exc:
            problems.append(spec.source.problem(("assets", name),
                                                f"asset {name!r}: {exc.strerror or exc}"))
            facts[name] = None
    problems += fit_problems(spec, facts)
    if problems:
        raise SpecError(problems)
    return Prepared(spec, lock, facts, requests_for(spec, facts), avatar_requests(spec, facts))


def prepare_all(targets: Sequence[Path], var_overrides: Mapping[str, str] | None = None
                ) -> list[Prepared]:
    """Prepare every spec under ``targets``; report the problems of all of them at once."""
    prepared: list[Prepared] = []
    problems: list[Problem] = []
    paths = find_specs(list(targets), require_specs=True)
    locks: dict[Path, Path] = {}
    for path in paths:
        # a.yaml and a.yml would both be locked by a.lock, each orphaning the other's videos.
        other = locks.setdefault(path.with_suffix(".lock").resolve(), path)
        if other is not path:
            problems.append(Problem(Location(str(path), 1, 1),
                                    f"shares its lockfile {path.with_suffix('.lock')} with "
                                    f"{other}; rename one of them"))
    for path in paths:
        try:
            prepared.append(prepare(path, var_overrides))
        except SpecError as exc:
            problems += exc.problems
    problems += _shared_outputs(prepared)
    if problems:
        raise SpecError(problems)
    return prepared


def _shared_outputs(prepared: Sequence[Prepared]) -> list[Problem]:
    """Two specs writing the same <output>/<name>.mp4 would overwrite each other."""
    by_folder: dict[Path, list[Prepared]] = {}
    for item in prepared:
        by_folder.setdefault(item.spec.output_dir.resolve(), []).append(item)
    problems = []
    for group in by_folder.values():
        if len(group) < 2:
            continue
        first: dict[str, Prepared] = {}
        for item in group:
            clashes: dict[Path, int] = {}
            for video in item.spec.videos:
                other = first.setdefault(video.name, item)
                if other is item:
                    continue
                count = clashes[other.spec.path] = clashes.get(other.spec.path, 0) + 1
                if count <= 3:
                    problems.append(Problem(
                        item.spec.locate_video(video, ("name",)),
                        f"video {video.name!r} is also made by {other.spec.path}, into the "
                        f"same output folder {item.spec.output_dir}"))
            for other_path, count in clashes.items():
                if count > 3:
                    problems.append(Problem(Location(str(item.spec.path), 1, 1),
                                            f"{count - 3:,} more videos are also made by "
                                            f"{other_path} into {item.spec.output_dir}"))
    return problems


def avatar_requests(spec: LoadedSpec, facts: Mapping[str, FileFacts | None]
                    ) -> list[AvatarRequest]:
    """The photo avatars the spec's videos use, once per provider that needs them."""
    used = sorted({(v.video.avatar.photo, v.provider) for v in spec.videos
                   if v.video.avatar is not None and v.video.avatar.photo is not None})
    result = []
    for name, provider in used:
        inputs = photo_avatar_inputs(spec, name, facts)
        result.append(AvatarRequest(name, provider, inputs, digest(inputs),
                                    spec.head.avatars[name].model))
    return result


def observe_outputs(prepared: Prepared, hash_file: Callable[[Path], str] | None = None
                    ) -> dict[str, OutputStatus]:
    """The state of each completed video's output file, hashing only what changed.

    ``hash_file``: `watch` passes a memo, so outputs whose mtime differs from the
    lockfile's (a fresh clone) are hashed once per session, not once per re-plan.
    """
    hash_file = hash_file or sha256_file
    statuses: dict[str, OutputStatus] = {}
    directory = str(prepared.spec.directory)
    join, stat = os.path.join, os.stat  # plain strings: pathlib costs more than the stat
    for name, entry in prepared.lock.videos.items():
        output = entry.get("output")
        if entry.get("status") != "completed" or not isinstance(output, dict):
            continue
        path = join(directory, str(output.get("path", "")))
        try:
            facts = stat(path)
        except OSError:
            statuses[name] = OutputStatus.MISSING
            continue
        size = output.get("bytes")
        # Like git's index: hash only when size or mtime moved.
        if facts.st_size == size and (facts.st_mtime_ns == output.get("mtime_ns")
                                      or hash_file(Path(path)) == output.get("sha256")):
            statuses[name] = OutputStatus.OK
        else:
            statuses[name] = OutputStatus.CHANGED
    return statuses


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def target_filter(patterns: Sequence[str]) -> Callable[[str], bool] | None:
    """`--target GLOB` (repeatable): a video is selected when any pattern matches."""
    if not patterns:
        return None
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plan_prepared(prepared: Prepared, selected: Callable[[str], bool] | None = None, *,
                  hash_file: Callable[[Path], str] | None = None) -> SpecPlan:
    with _gc_paused():
        return diff(str(prepared.spec.path), prepared.requests, prepared.avatars, prepared.lock,
                    observe_outputs(prepared, hash_file), str(prepared.spec.lock_path),
                    selected)
