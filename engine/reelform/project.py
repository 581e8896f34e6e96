"""The read side of a run: spec + lockfile + files on disk -> a plan.

This is the only place that combines the pure core (``speclang/``, ``plan/``) with
the reads it needs (asset facts, output files). Nothing here writes.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelform import heap
from reelform.errors import Location, Problem, SpecError
from reelform.forked import Forked
from reelform.neighbours import neighbour_states, repository_root, shown_path
from reelform.plan import reuse as reuse_rules
from reelform.plan.diff import AvatarRequest, SpecPlan, diff, force_replace, resubmitting
from reelform.plan.fingerprint import Request, digest, photo_avatar_inputs
from reelform.plan.unchanged import keys_agree, unchanged_by_keys, unchanged_plan
from reelform.spec_requests import SpecRequests
from reelform.speclang.assets import FileFacts, probe
from reelform.speclang.expand import LoadedSpec, expand_spec
from reelform.speclang.fit import fit_problems
from reelform.speclang.load import find_specs, lock_path_for, real_spec_path
from reelform.state.backend import StateConfig, state_config
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState, Records, read_lock
from reelform.state.outputs import OutputFolder, OutputStatus, output_status
from reelform.state.outputs import sha256_file as sha256_file  # watch reuses it
from reelform.state.preload import LockSummary, Preload
from reelform.state.records import Status


@dataclass(frozen=True)
class Prepared:
    """A spec ready to plan: loaded, checked, its assets known, its lockfile read."""

    spec: LoadedSpec
    lock_source: LockSource
    facts: dict[str, FileFacts | None]  # by asset name
    avatars: list[AvatarRequest]
    #: Where the spec's state lives (reelform.toml); None: lockfiles, no file read.
    backend: StateConfig | None = None
    #: The videos' requests, made when first needed (a no-op plan may need only their
    #: keys: spec_requests.py)
    made: SpecRequests = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "made", SpecRequests(self.spec, self.facts))

    @property
    def requests(self) -> list[Request]:
        return self.made.all()

    @property
    def lock(self) -> LockState:
        """The whole lockfile state (read now, if a child process only summarized it)."""
        return self.lock_source.state

    @property
    def summary(self) -> LockSummary | None:
        """Set when a large lockfile was read by a child process (state/preload.py)."""
        return self.lock_source.summary

    def file_key(self, path: Path) -> str:
        """How the lockfile's `files` section names a file: relative to the spec, POSIX."""
        return Path(os.path.relpath(path, self.spec.directory)).as_posix()


def prepare(
    path: Path,
    var_overrides: Mapping[str, str] | None = None,
    *,
    lock_reader: Callable[[Path], LockState] = read_lock,
    summary: LockSummary | None = None,
) -> Prepared:
    """``lock_reader``: `watch` passes a cached reader so an unchanged lockfile is not
    parsed again on every keystroke. ``summary``: the state's summary, already read
    (by the expansion memo, ``memo/serve.py``, which then found the spec not all
    unchanged): what the preload child would read, so it is not read twice."""
    with heap.paused():
        return _prepare(path, var_overrides, lock_reader, summary)


def _prepare(
    path: Path,
    var_overrides: Mapping[str, str] | None,
    lock_reader: Callable[[Path], LockState],
    summarized: LockSummary | None = None,
) -> Prepared:
    # The lockfile is read on the other core while the spec expands (state/preload.py).
    # Both from the real file, as the spec's own lock_path and directory are.
    real = real_spec_path(path)
    backend = state_config(real)  # a bad reelform.toml is reported before anything else
    if summarized is not None:
        preload = None
    elif backend.postgres:
        # The database is read on the other core too (a child process: its own
        # connection), while the spec expands.
        from reelform.state.pg.read import read_summary

        preload = Forked.start(lambda: read_summary(backend, real, real.parent))
    elif lock_reader is read_lock:
        preload = Preload.start_reading(real.with_suffix(".lock"), real.parent)
    else:
        preload = None
    try:
        spec, problems = expand_spec(path, var_overrides)
    finally:
        summary = preload.result() if preload is not None else summarized
    if backend.postgres:
        from reelform.state.pg.read import lock_source

        # Without the child's summary (it failed, or could not fork) the parent reads
        # the database itself, and reports what went wrong.
        source = lock_source(backend, real, spec.directory, summary)
    elif summary is not None:
        source = LockSource.summarized(spec.lock_path, summary)
    else:
        source = LockSource.of(lock_reader(spec.lock_path))
    facts: dict[str, FileFacts | None] = {}
    for name, decl in spec.assets.items():
        if decl.path is None or not decl.path.is_file():  # a missing file is reported
            facts[name] = None
            continue
        key = Path(os.path.relpath(decl.path, spec.directory)).as_posix()
        cached = source.files.get(key)  # from the summary: reads nothing more
        try:
            known = FileFacts.from_json(cached.to_json()) if cached is not None else None
            facts[name] = probe(decl.path, known)
        except OSError as exc:
            problems.append(
                spec.source.problem(("assets", name), f"asset {name!r}: {exc.strerror or exc}")
            )
            facts[name] = None
    problems += fit_problems(spec, facts)
    if problems:
        raise SpecError(problems)
    return Prepared(
        spec, source, facts, avatar_requests(spec, facts), backend if backend.postgres else None
    )


def prepare_all(
    targets: Sequence[Path],
    var_overrides: Mapping[str, str] | None = None,
    *,
    summaries: Mapping[Path, LockSummary] | None = None,
) -> list[Prepared]:
    """Prepare every spec under ``targets``; report the problems of all of them at once.

    ``summaries``: states already summarized, by resolved real spec path (``prepare``)."""
    prepared: list[Prepared] = []
    problems: list[Problem] = []
    paths = find_specs(list(targets), require_specs=True)
    locks: dict[Path, Path] = {}
    for path in paths:
        # a.yaml and a.yml would both be locked by a.lock, each orphaning the other's videos.
        other = locks.setdefault(lock_path_for(path).resolve(), path)
        if other is not path:
            problems.append(
                Problem(
                    Location(str(path), 1, 1),
                    f"shares its lockfile {lock_path_for(path)} with {other}; rename one of them",
                )
            )
    for path in paths:
        known = summaries.get(real_spec_path(path).resolve()) if summaries else None
        try:
            prepared.append(prepare(path, var_overrides, summary=known))
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
                    problems.append(
                        Problem(
                            item.spec.locate_video(video, ("name",)),
                            f"video {video.name!r} is also made by {other.spec.path}, into the "
                            f"same output folder {item.spec.output_dir}",
                        )
                    )
            for other_path, count in clashes.items():
                if count > 3:
                    problems.append(
                        Problem(
                            Location(str(item.spec.path), 1, 1),
                            f"{count - 3:,} more videos are also made by "
                            f"{other_path} into {item.spec.output_dir}",
                        )
                    )
    return problems


def avatar_requests(spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> list[AvatarRequest]:
    """The photo avatars the spec's videos use, once per provider that needs them."""
    used = sorted(
        {
            (v.video.avatar.photo, v.provider)
            for v in spec.videos
            if v.video.avatar is not None and v.video.avatar.photo is not None
        }
    )
    result = []
    for name, provider in used:
        inputs = photo_avatar_inputs(spec, name, facts)
        result.append(
            AvatarRequest(name, provider, inputs, digest(inputs), spec.head.avatars[name].model)
        )
    return result


def observe_outputs(
    prepared: Prepared, hash_file: Callable[[Path], str] | None = None
) -> dict[str, OutputStatus]:
    """The state of each completed video's output file, hashing only what changed.

    ``hash_file``: `watch` passes a memo, so outputs whose mtime differs from the
    lockfile's (a fresh clone) are hashed once per session, not once per re-plan.
    """
    statuses: dict[str, OutputStatus] = {}
    with OutputFolder(str(prepared.spec.directory)) as folder:
        for name, entry in prepared.lock.videos.items():
            output = entry.output
            if entry.status is Status.COMPLETED and output is not None:
                statuses[name] = folder.status(
                    output.path,
                    output.bytes,
                    output.mtime_ns,
                    output.sha256,
                    hash_file or sha256_file,
                )
    return statuses


def target_filter(patterns: Sequence[str]) -> Callable[[str], bool] | None:
    """`--target GLOB` (repeatable): a video is selected when any pattern matches."""
    if not patterns:
        return None
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plan_prepared(
    prepared: Prepared,
    selected: Callable[[str], bool] | None = None,
    *,
    hash_file: Callable[[Path], str] | None = None,
    for_apply: bool = True,
) -> SpecPlan:
    """``for_apply=False``: the plan is printed or saved, not applied (the `plan`
    command), so a no-op spec's may have no ``requests``, as the memo's has
    (memo/serve.py); then its videos' keys alone decide, made on two cores."""
    spec, lock_path = str(prepared.spec.path), str(prepared.spec.lock_path)
    summary = prepared.summary
    with heap.paused():
        # The fast paths: nothing changed (plan/unchanged.py).
        if (
            summary is not None
            and selected is None
            and not for_apply
            and _may_be_unchanged(prepared, summary)
        ):
            keys = prepared.made.keys(accept=lambda some: keys_agree(some, summary))
            unchanged = (
                None
                if keys is None
                else unchanged_by_keys(spec, keys, prepared.avatars, summary, lock_path)
            )
            if unchanged is not None:
                return unchanged
        elif summary is not None:
            unchanged = unchanged_plan(
                spec, prepared.requests, prepared.avatars, summary, lock_path, selected
            )
            if unchanged is not None:
                return unchanged
        return with_approvals(
            diff(
                spec,
                prepared.requests,
                prepared.avatars,
                prepared.lock,
                observe_outputs(prepared, hash_file),
                lock_path,
                selected,
            )
        )


def _may_be_unchanged(prepared: Prepared, summary: LockSummary) -> bool:
    """What the summary alone tells (no fingerprint yet): as many videos as the spec
    has, each of them completed with its output intact. Else not a no-op, and no
    key needs making on two cores."""
    videos = summary.videos
    return len(videos) == len(prepared.spec.videos) and None not in videos.values()


def with_approvals(plan: SpecPlan, *, required: bool = False) -> SpecPlan:
    """The plan with its renders' approval status, when the spec has an approvals file
    (or ``required``, for `apply --approved`: no file then means nothing approved).

    Read (and imported) only when something would render: a no-op plan does nothing more."""
    if not any(i.kind == "video" and i.renders for i in plan.items):
        return plan
    from reelform.plan.approval import annotate
    from reelform.state.approvals import EMPTY, approvals_path, find_approvals

    path = approvals_path(Path(plan.spec))
    found = find_approvals(Path(plan.spec))
    if found is None and not required:
        return plan
    return annotate(plan, EMPTY if found is None else found, str(path))


def plan_all(
    prepared: Sequence[Prepared],
    selected: Callable[[str], bool] | None = None,
    *,
    reuse: bool = True,
    replace: Sequence[str] = (),
    resubmit_unknown: bool = False,
    for_apply: bool = True,
) -> list[SpecPlan]:
    """The plans of a run: each spec's, with `--replace` and `--resubmit-unknown`, then
    with every render that an equal completed video (or an equal render of this run)
    makes unnecessary turned into a ``copy`` (``plan/reuse.py``; ``reuse=False`` is
    `--no-reuse`). Reuse comes last: what a person asked to render is rendered, and
    becomes the source of the copies equal to it. ``for_apply``: ``plan_prepared``'s."""
    plans = [plan_prepared(p, selected, for_apply=for_apply) for p in prepared]
    if replace:
        plans = [force_replace(plan, replace) for plan in plans]
    if resubmit_unknown:  # named, estimated and counted in --max-credits
        plans = [resubmitting(plan) for plan in plans]
    if not reuse:
        return plans
    with heap.paused():  # as planning: 100,000 items allocate much, and no cycles
        wanted = reuse_rules.wanted(plans)
        if not wanted:  # a no-op plan reads nothing more
            return plans
        return reuse_rules.with_copies(plans, completed_videos(prepared, plans, wanted))


def completed_videos(
    prepared: Sequence[Prepared], plans: Sequence[SpecPlan], wanted: frozenset[str]
) -> dict[str, list[reuse_rules.Completed]]:
    """By fingerprint, the completed videos in ``wanted``: of the specs of the run and of
    their neighbours under the same repository root (``neighbours.py``)."""
    found: dict[str, list[reuse_rules.Completed]] = {}
    for each, plan in zip(prepared, plans, strict=True):
        summary = each.summary
        # A large lockfile summarized: not read when no entry of it can be a source. A
        # key is a completed video's fingerprint (and label); None is any other entry.
        if summary is not None and not any(
            key is None or key[:64] in wanted for key in summary.videos.values()
        ):
            continue
        for completed in _completed_in(each.lock, each.spec.directory, plan.spec, wanted):
            found.setdefault(completed.fingerprint, []).append(completed)
    roots = {repository_root(each.spec.directory) for each in prepared}
    own = [real_spec_path(each.spec.path) for each in prepared]
    outputs = [each.spec.output_dir for each in prepared]
    for spec, state in neighbour_states(roots, own, skip=outputs):
        directory = real_spec_path(spec).parent
        for completed in _completed_in(state, directory, shown_path(spec), wanted):
            found.setdefault(completed.fingerprint, []).append(completed)
    return found


def _completed_in(
    state: LockState, directory: Path, label: str, wanted: frozenset[str]
) -> Iterator[reuse_rules.Completed]:
    """The completed videos of ``state`` whose fingerprint is in ``wanted``.

    Each record's JSON is looked at as read: building 100,000 records to find the
    two a copy wants would cost most of reading the lockfile again."""
    table = state.videos
    json = table.json if isinstance(table, Records) else lambda name: table[name].to_json()
    folder = str(directory)
    for name in table:
        data = json(name)
        fingerprint = data.get("fingerprint")
        if data.get("status") != "completed" or fingerprint not in wanted:
            continue
        record = table[name]
        intact = output_status(folder, record) is OutputStatus.OK
        yield reuse_rules.Completed(label, name, str(fingerprint), record, folder, intact)
