"""The plan of a spec of which nothing changed, read off a lockfile summary.

A second planner, beside ``diff``, for one case only. A no-op `plan` of 100,000
videos would otherwise read the whole lockfile into 100,000 dicts just to find
every video unchanged; when a child process has already summarized the lockfile
(``state/preload.py``: per video completed with its output file intact, its
fingerprint and label in one string), comparing each request with its line of the summary is enough.

Contract: ``unchanged_plan`` returns the ``SpecPlan`` that ``plan.diff.diff``
returns for the same requests, lockfile and output files, or None. It answers
only "all unchanged": any video to make, replace, resume, retry, download or
orphan, or any photo avatar not made at its fingerprint, returns None and the
caller runs the full diff. tests/properties/test_unchanged_plan.py holds it to that.

``unchanged_by_keys`` gives the whole spec's answer from the requests' keys alone
(``keys_of``: each name and ``unchanged_key``), without the ``requests``; the `plan`
command makes those keys on two cores (spec_requests.py). ``unchanged_by_memo``
gives it from ``memo_of(requests, avatars)``, a digest of those keys, which the
expansion memo (``memo/``) keeps, so that a spec whose inputs did not change is
compared with its state without being expanded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import orjson

from reelform.plan.diff import AvatarRequest, SpecPlan
from reelform.plan.fingerprint import Request
from reelform.state.preload import LockSummary, unchanged_key
from reelform.state.records import AvatarRecord, Status


def unchanged_plan(
    spec: str,
    desired: Sequence[Request],
    avatars: Sequence[AvatarRequest],
    summary: LockSummary,
    lock_path: str = "",
    selected: Callable[[str], bool] | None = None,
) -> SpecPlan | None:
    """``diff``'s plan when every selected video is unchanged; otherwise None."""
    if selected is None:  # the whole spec (no --target)
        plan = unchanged_by_keys(spec, keys_of(desired), avatars, summary, lock_path)
        return None if plan is None else replace(plan, requests={r.name: r for r in desired})
    videos, superseded = summary.videos, summary.superseded
    for request in desired:
        if selected(request.name):
            # None, or no key: not completed with its output intact, or not recorded.
            key = videos.get(request.name)
            if key is None or key != unchanged_key(request.fingerprint, request.labels[0]):
                return None  # a label change is diff's too (``SpecPlan.relabel``)
            if request.name in superseded:
                return None  # diff says so (``SpecPlan.superseded``)
    names = {r.name for r in desired}
    if any(selected(name) and name not in names for name in videos):
        return None  # orphans
    if not _avatars_unchanged(avatars, summary):
        return None
    requests = {r.name: r for r in desired if selected(r.name)}
    return SpecPlan(
        spec=spec,
        lock=lock_path,
        lock_digest=summary.digest,
        items=(),
        unchanged=len(requests),
        requests=requests,
    )


#: A video's name and ``unchanged_key`` (None: it has none, so it is never unchanged
#: by a summary's word).
Key = tuple[str, str | None]


def keys_of(desired: Sequence[Request]) -> list[Key]:
    """Each request's name and ``unchanged_key``: all a no-op check reads of it."""
    return [(r.name, unchanged_key(r.fingerprint, r.labels[0])) for r in desired]


def keys_agree(keys: Iterable[Key], summary: LockSummary) -> bool:
    """Whether each of these videos is the summary's line: completed, its output
    intact, at the same fingerprint and label."""
    videos = summary.videos
    return all(key is not None and videos.get(name) == key for name, key in keys)


def unchanged_by_keys(
    spec: str,
    keys: Sequence[Key],
    avatars: Sequence[AvatarRequest],
    summary: LockSummary,
    lock_path: str = "",
) -> SpecPlan | None:
    """``unchanged_plan`` of the whole spec from its requests' ``keys_of``, without
    the ``requests``: the `plan` command's, whose keys are made on two cores and whose
    plan is never applied (spec_requests.py)."""
    if not keys_agree(keys, summary):
        return None  # a label change is diff's too (``SpecPlan.relabel``)
    videos = summary.videos
    if len(videos) != len(keys):  # every key is a line, and the names are unique
        return None  # orphans
    if any(name in videos for name in summary.superseded):
        return None  # diff says so (``SpecPlan.superseded``)
    if not _avatars_unchanged(avatars, summary):
        return None
    return SpecPlan(
        spec=spec, lock=lock_path, lock_digest=summary.digest, items=(), unchanged=len(keys)
    )


def _avatars_unchanged(avatars: Sequence[AvatarRequest], summary: LockSummary) -> bool:
    """Every photo avatar, not only the selected videos' (as diff does): stricter, so
    never wrong, and a spec rarely has more than a few."""
    for avatar in avatars:
        entry = summary.avatars.get(avatar.lock_key) or AvatarRecord()
        if entry.fingerprint != avatar.fingerprint or entry.status is not Status.COMPLETED:
            return False
        if "superseded" in entry.extra:
            return False
    return True


# --- the expansion memo's half (memo/): the same answer without the requests -------


@dataclass(frozen=True)
class UnchangedMemo:
    """What ``unchanged_plan`` compares of a spec's requests, kept by the expansion
    memo (``memo/``) so that an unchanged spec is not expanded again to compare it."""

    count: int
    #: ``videos_digest`` of every video's (name, ``unchanged_key``)
    videos: str
    #: (lock key, fingerprint) of every photo avatar, sorted
    avatars: tuple[tuple[str, str], ...] = ()


def videos_digest(pairs: Iterable[tuple[str, str | None]]) -> str:
    """One digest of (video name, unchanged key) pairs, whatever their order."""
    return hashlib.sha256(orjson.dumps(sorted(pairs))).hexdigest()


def memo_of(desired: Sequence[Request], avatars: Sequence[AvatarRequest]) -> UnchangedMemo | None:
    """The memo of a spec's requests; None when some video has no key (it could never
    be unchanged by a summary's word, so there is nothing to remember)."""
    return memo_of_keys(keys_of(desired), avatars)


def memo_of_keys(pairs: Sequence[Key], avatars: Sequence[AvatarRequest]) -> UnchangedMemo | None:
    """``memo_of`` from the requests' ``keys_of`` (made on two cores: spec_requests.py)."""
    if any(key is None for _, key in pairs):
        return None
    return UnchangedMemo(
        len(pairs),
        videos_digest(pairs),
        tuple(sorted((a.lock_key, a.fingerprint) for a in avatars)),
    )


def unchanged_by_memo(
    spec: str, memo: UnchangedMemo, summary: LockSummary, lock_path: str = ""
) -> SpecPlan | None:
    """``unchanged_plan(spec, R, A, summary, lock_path)`` for the requests R and photo
    avatars A that ``memo_of(R, A)`` was made of, in one pass over the summary.

    Why it is the same answer: the names of R are unique (a duplicate is a spec
    error), so "every request's key is its summary line, and no summary line is not a
    request" is "the summary's videos are exactly R's pairs", which the digest of the
    sorted pairs decides (no key of R is None, ``memo_of``). A superseded name is a
    summary line, so it is one of R's exactly when it is in ``summary.videos``. The
    avatars are checked as ``unchanged_plan`` does. The plan has no ``requests``
    (they are not compared, and the `plan` command's outputs do not read them)."""
    videos = summary.videos
    if len(videos) != memo.count:
        return None
    if any(name in videos for name in summary.superseded):
        return None
    if videos_digest(videos.items()) != memo.videos:
        return None
    for lock_key, fingerprint in memo.avatars:
        entry = summary.avatars.get(lock_key) or AvatarRecord()
        if entry.fingerprint != fingerprint or entry.status is not Status.COMPLETED:
            return None
        if "superseded" in entry.extra:
            return None
    return SpecPlan(
        spec=spec, lock=lock_path, lock_digest=summary.digest, items=(), unchanged=memo.count
    )
