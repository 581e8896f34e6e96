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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    wanted = selected or (lambda _: True)
    count = 0
    for request in desired:
        if wanted(request.name):
            # None, or no key: not completed with its output intact, or not recorded.
            key = summary.videos.get(request.name)
            if key is None or key != unchanged_key(request.fingerprint, request.labels[0]):
                return None  # a label change is diff's too (``SpecPlan.relabel``)
            if request.name in summary.superseded:
                return None  # diff says so (``SpecPlan.superseded``)
            count += 1
    names = {r.name for r in desired}
    if any(wanted(name) and name not in names for name in summary.videos):
        return None  # orphans
    # Every photo avatar, not only the selected videos' (as diff does): stricter,
    # so never wrong, and a spec rarely has more than a few.
    for avatar in avatars:
        entry = summary.avatars.get(avatar.lock_key) or AvatarRecord()
        if entry.fingerprint != avatar.fingerprint or entry.status is not Status.COMPLETED:
            return None
        if "superseded" in entry.extra:
            return None
    requests = {r.name: r for r in desired if wanted(r.name)}
    return SpecPlan(
        spec=spec,
        lock=lock_path,
        lock_digest=summary.digest,
        items=(),
        unchanged=count,
        requests=requests,
    )
