"""Reuse: a render is made once, and copied to every other video that asks for it.

Two videos whose fingerprints are equal are the same render (``plan.fingerprint``:
the fingerprint is the provider request, assets by content). So a video the plan
would render is a ``copy`` instead when the same render is already done:

1. a completed video of the same spec (another row asking for the same thing);
2. a completed video of another spec under the same repository root (its
   lockfile, read only: ``neighbours.py``);
3. a video this plan renders anyway: of N identical renders in one plan one is
   made, and the other N-1 copy it once it is done. That one is a job already at
   the provider (a ``resume``), else the first create, replace or retry (in spec
   order, then by name), else the first unknown to resubmit.

A copy costs nothing (no credits, not counted among the renders to make). Apply
copies the source's output file when it is intact, or downloads the video from
the provider URL on the source's record (`apply/copies.py`); it never renders a
copy. ``create``, ``replace`` and ``retry`` items become copies, and so does an
``unknown`` that `--resubmit-unknown` would send again (a copy resolves it without
the risk of paying twice). A ``resume`` is a job already paid for (the source of
its equals), an ``unknown`` left alone is a person's to decide, and a video named
by ``apply --replace`` is rendered because someone asked for that.

Pure: the caller reads the lockfiles and checks the output files (``project``), and
passes what it found as ``Completed`` records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reelform.plan.diff import Action, PlanItem, SpecPlan
from reelform.state.records import VideoRecord

#: The actions a copy can stand in for: each would pay for a render.
COPYABLE = frozenset({Action.CREATE, Action.REPLACE, Action.RETRY})


@dataclass(frozen=True)
class Completed:
    """A completed video, on record in some lockfile, that a copy can take its file from."""

    spec: str  # the spec, as plans name it (the path given, or relative to here)
    name: str
    fingerprint: str
    record: VideoRecord
    directory: str  # the spec's folder: the record's output path is relative to it
    #: Its output file is there and is what the record says (size and mtime, or sha256).
    intact: bool

    @property
    def downloadable(self) -> bool:
        """Whether the video can be fetched again from its provider (a URL, or a job id
        to ask for a fresh one)."""
        output = self.record.output
        return bool((output is not None and output.url) or self.record.job_id)


def copyable(item: PlanItem) -> bool:
    """Whether ``item`` would pay for a render that an equal one could save: a create,
    replace or retry, or an unknown that `--resubmit-unknown` sends again (a copy
    resolves it without the risk of paying twice)."""
    return (
        item.kind == "video"
        and (item.action in COPYABLE or (item.action is Action.UNKNOWN and item.resubmit))
        and item.fingerprint is not None
        and item.reason != "--replace"
    )


def wanted(plans: Iterable[SpecPlan]) -> frozenset[str]:
    """The fingerprints a copy could be made for: what the caller must look up."""
    return frozenset(
        item.fingerprint
        for plan in plans
        for item in plan.items
        if copyable(item) and item.fingerprint is not None
    )


def with_copies(
    plans: Sequence[SpecPlan], completed: Mapping[str, Sequence[Completed]]
) -> list[SpecPlan]:
    """The plans with every render that can be a copy made one (module docstring).

    ``completed``: by fingerprint, the completed videos found (any order)."""
    found: dict[tuple[str, str], Completed | None] = {}
    for plan in plans:
        for item in plan.items:
            candidates = completed.get(item.fingerprint or "")
            if candidates and copyable(item):
                found[(plan.spec, item.name)] = best_source(plan.spec, item.name, candidates)
    # The one render of each kind that this run makes, the source of the copies equal
    # to it: a job already at the provider (paid for), else the first create, replace
    # or retry, else the first unknown to resubmit (a copy of anything else spares it).
    firsts: tuple[dict[str, tuple[str, str]], ...] = ({}, {}, {})
    for plan in plans:
        for item in plan.items:
            rank = _rank(item, found, plan.spec)
            if rank is not None and item.fingerprint is not None:
                firsts[rank].setdefault(item.fingerprint, (plan.spec, item.name))
    renders = {**firsts[2], **firsts[1], **firsts[0]}  # the better rank wins
    result = []
    for plan in plans:
        items: list[PlanItem] = []
        sources: dict[str, Completed] = {}
        copies = 0
        for item in plan.items:
            if not copyable(item):
                items.append(item)
                continue
            assert item.fingerprint is not None
            source = found.get((plan.spec, item.name))
            if source is not None:
                sources[item.name] = source
                items.append(_copy(item, (source.spec, source.name), _from_record(plan, source)))
                copies += 1
                continue
            first = renders[item.fingerprint]
            if first == (plan.spec, item.name):
                items.append(item)  # the one render of its kind
                continue
            where = first[1] if first[0] == plan.spec else f"{first[0]}:{first[1]}"
            items.append(_copy(item, first, f"<- {where} (rendered once, by this run)"))
            copies += 1
        if copies:
            items = _without_idle_avatars(plan, items)
            plan = dataclasses.replace(plan, items=tuple(items), copies=sources)
        result.append(plan)
    return result


def _rank(
    item: PlanItem, found: Mapping[tuple[str, str], Completed | None], spec: str
) -> int | None:
    """How good a source of its equals ``item`` is, rendered by this run (0 best;
    None: it is no source)."""
    if item.kind != "video":
        return None
    if item.action is Action.RESUME:
        return 0
    if not copyable(item) or found.get((spec, item.name)) is not None:
        return None
    return 2 if item.resubmit else 1


def best_source(spec: str, name: str, candidates: Iterable[Completed]) -> Completed | None:
    """The completed video to copy: one whose file is intact before one that must be
    downloaded again; of the same spec before another's; then by spec and name, so
    the same lockfiles always give the same plan."""
    usable = [
        c for c in candidates if (c.intact or c.downloadable) and (c.spec, c.name) != (spec, name)
    ]
    if not usable:
        return None
    return min(usable, key=lambda c: (not c.intact, c.spec != spec, c.spec, c.name))


def _without_idle_avatars(plan: SpecPlan, items: list[PlanItem]) -> list[PlanItem]:
    """Drop the photo avatars only copies use: apply makes one for a render that needs
    it, so the plan must not count its credits for nothing."""

    def photo(item: PlanItem) -> tuple[str, object]:
        request = plan.requests.get(item.name)
        avatar = request.inputs.get("avatar") if request is not None else None
        return item.provider, avatar.get("photo") if isinstance(avatar, dict) else None

    videos = [i for i in items if i.kind == "video"]
    copied = {photo(i) for i in videos if i.action is Action.COPY}
    needed = {photo(i) for i in videos if i.action is not Action.COPY}
    return [
        i for i in items if i.kind != "avatar" or (i.provider, i.fingerprint) not in copied - needed
    ]


def _from_record(plan: SpecPlan, source: Completed) -> str:
    where = source.name if source.spec == plan.spec else f"{source.spec}:{source.name}"
    if source.intact:
        return f"<- {where}"
    return f"<- {where} (its file is gone: downloaded from its provider again)"


def _copy(item: PlanItem, source: tuple[str, str], reason: str) -> PlanItem:
    return dataclasses.replace(
        item,
        action=Action.COPY,
        reason=reason,
        copy_of=source,
        seconds=0.0,
        credits=0,
        resubmit=False,  # an unknown copied is not sent again
        approval=None,  # a copy renders nothing: nobody need approve it
    )
