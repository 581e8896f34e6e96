"""The plan: a pure function of (desired videos, lockfile, output state).

No I/O happens here: the caller observes the output folder first (``OutputStatus``
per completed video) and passes it in. The result is an immutable ``SpecPlan``
that `plan` shows and `apply` executes (docs/design.md, "Plans").
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reelform.plan.fingerprint import Request, changed_fields, labels_of, same_render
from reelform.plan.moves import Wanted, find_moves
from reelform.registry import provider_traits
from reelform.state.lockfile import LockState
from reelform.state.outputs import OutputStatus as OutputStatus  # part of the plan API
from reelform.state.records import AvatarRecord, Status, VideoRecord

if TYPE_CHECKING:
    from reelform.plan.reuse import Completed

#: Why an ``unknown`` item is left alone (docs/design.md, "Never pay twice").
UNKNOWN_REASON = (
    "the submit's outcome is unknown (the provider cannot be asked whether it made the "
    "job); `apply --resubmit-unknown` risks paying twice"
)


#: What a ``move`` says: the output file is renamed and its entry re-keyed.
MOVE_REASON = "the same render: renamed, not rendered"


class Action(enum.StrEnum):
    CREATE = "create"
    REPLACE = "replace"
    RESUME = "resume"
    RETRY = "retry"
    UNKNOWN = "unknown"
    DOWNLOAD = "download"
    MOVE = "move"  # a completed orphan's render under a new name (plan/moves.py)
    COPY = "copy"  # the same render exists elsewhere: copy its file (plan/reuse.py)
    ORPHAN = "orphan"
    UNCHANGED = "unchanged"

    @property
    def renders(self) -> bool:
        """Whether this action submits a (paid) render."""
        return self in (Action.CREATE, Action.REPLACE, Action.RETRY)


class Approval(enum.StrEnum):
    """A rendering video's review status (state/approvals.py, plan/approval.py)."""

    APPROVED = "approved"
    UNAPPROVED = "not approved"
    VOID = "void"  # approved as another render: the video changed since

    def to_json(self) -> bool | str:
        return {Approval.APPROVED: True, Approval.UNAPPROVED: False}.get(self, "void")


@dataclass(frozen=True)
class AvatarRequest:
    """A photo avatar that some video of the plan uses, at one provider."""

    name: str
    provider: str
    inputs: dict[str, Any]
    fingerprint: str
    model: str

    @property
    def lock_key(self) -> str:
        return f"{self.provider}/{self.name}"


@dataclass(frozen=True)
class PlanItem:
    action: Action
    name: str
    provider: str
    kind: str = "video"  # video | avatar
    fingerprint: str | None = None
    key: str | None = None
    changed: tuple[str, ...] = ()
    reason: str | None = None
    seconds: float = 0.0
    credits: int = 0
    #: An ``unknown`` item that `--resubmit-unknown` will submit again (and may pay
    #: for twice): counted in the estimate and in `--max-credits` like a create.
    resubmit: bool = False
    #: Set on the videos it would render when the spec has approvals (or for
    #: `apply --approved`): whether a reviewer approved exactly this render.
    approval: Approval | None = None
    #: A ``move``'s orphan: the entry and output file that become this video's.
    source: str | None = None
    #: A ``copy``: the (spec, video name) whose render it copies (``plan.reuse``).
    copy_of: tuple[str, str] | None = None

    @property
    def renders(self) -> bool:
        """Whether applying this item submits a (paid) render or photo avatar."""
        return self.action.renders or self.resubmit

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": str(self.action),
            "name": self.name,
            "provider": self.provider,
            "kind": self.kind,
        }
        if self.source is not None:
            data["from"] = self.source
        for key in ("fingerprint", "key", "reason"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.changed:
            data["changed"] = list(self.changed)
        if self.resubmit:
            data["resubmit"] = True
        if self.approval is not None:
            data["approved"] = self.approval.to_json()
        if self.copy_of is not None:
            data["copy_of"] = {"spec": self.copy_of[0], "name": self.copy_of[1]}
        if self.renders or self.kind == "avatar":
            data["seconds"] = round(self.seconds, 1)
            data["credits"] = self.credits
        return data


@dataclass(frozen=True)
class Estimate:
    videos: int = 0
    seconds: float = 0.0
    credits: int = 0  # JoggAI credits

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            self.videos + other.videos, self.seconds + other.seconds, self.credits + other.credits
        )


@dataclass(frozen=True)
class SpecPlan:
    spec: str  # the spec file, as given
    lock: str  # its lockfile
    lock_digest: str  # of lockfile + journal when planned: a saved plan's freshness
    items: tuple[PlanItem, ...]  # everything but `unchanged`
    unchanged: int
    requests: Mapping[str, Request] = field(default_factory=dict, compare=False)
    #: One line per selected video or photo avatar whose record keeps a superseded job
    #: (``state.merge``: both sides of a merge paid for it): not a change, but said.
    superseded: tuple[str, ...] = ()
    #: The approvals file whose status the items carry (None: the spec has none).
    approvals: str | None = None
    #: `apply --approved`: the renders taken out of ``items`` for want of approval.
    held_back: tuple[PlanItem, ...] = ()
    #: Videos counted in ``unchanged`` whose lock entry apply rewrites without a render
    #: (action ``unchanged``): a label changed (``changed`` names it), or the entry's
    #: fingerprint is legacy (``changed`` empty). docs/design.md, "Labels".
    relabel: tuple[PlanItem, ...] = ()
    #: The completed video each ``copy`` takes its file from, by the copy's name; a
    #: copy of a render of this run is not here (``plan.reuse``).
    copies: Mapping[str, Completed] = field(default_factory=dict, compare=False)

    @property
    def changes(self) -> bool:
        """Something for apply to do; a legacy fingerprint alone is not a change."""
        return bool(self.items) or any(i.changed for i in self.relabel)

    @property
    def labels_changed(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.relabel if i.changed)

    def count(self, action: Action) -> int:
        if action is Action.UNCHANGED:
            return self.unchanged
        return sum(1 for item in self.items if item.action is action)

    @property
    def estimate(self) -> Estimate:
        rendering = [i for i in self.items if i.renders and i.kind == "video"]
        return Estimate(
            len(rendering),
            sum(i.seconds for i in rendering),
            sum(i.credits for i in self.items if i.renders),
        )


def credits_for(provider: str, seconds: float) -> int:
    credits = provider_traits(provider).credits
    return credits.video(seconds) if credits is not None else 0


def photo_avatar_credits(provider: str, model: str) -> int:
    credits = provider_traits(provider).credits
    return credits.photo(model) if credits is not None else 0


def diff(
    spec: str,
    desired: Sequence[Request],
    avatars: Sequence[AvatarRequest],
    lock: LockState,
    outputs: Mapping[str, OutputStatus],
    lock_path: str = "",
    selected: Callable[[str], bool] | None = None,
) -> SpecPlan:
    """Compare what the spec asks for with what the lockfile records."""
    items: list[PlanItem] = []
    relabel: list[PlanItem] = []
    unchanged = 0
    wanted = selected or (lambda _: True)
    # With --target, only the photo avatars that a selected video uses (each costs credits).
    used = (
        None
        if selected is None
        else {
            (r.provider, r.inputs.get("avatar", {}).get("photo")) for r in desired if wanted(r.name)
        }
    )
    for avatar in avatars:
        if used is not None and (avatar.provider, avatar.fingerprint) not in used:
            continue
        entry = lock.avatars.get(avatar.lock_key)
        credits = photo_avatar_credits(avatar.provider, avatar.model)
        if entry is None:
            items.append(
                PlanItem(
                    Action.CREATE,
                    avatar.name,
                    avatar.provider,
                    "avatar",
                    avatar.fingerprint,
                    credits=credits,
                )
            )
        elif entry.fingerprint != avatar.fingerprint:
            items.append(
                PlanItem(
                    Action.REPLACE,
                    avatar.name,
                    avatar.provider,
                    "avatar",
                    avatar.fingerprint,
                    credits=credits,
                    changed=changed_fields(entry.inputs or {}, avatar.inputs),
                )
            )
        elif entry.status is Status.FAILED:
            items.append(
                PlanItem(
                    Action.RETRY,
                    avatar.name,
                    avatar.provider,
                    "avatar",
                    avatar.fingerprint,
                    reason=entry.error,
                    credits=credits,
                )
            )
        elif entry.status is Status.UNKNOWN or (
            entry.status is Status.SUBMITTING
            and not entry.motion_id
            and not provider_traits(avatar.provider).finds_jobs
        ):
            items.append(
                PlanItem(
                    Action.UNKNOWN,
                    avatar.name,
                    avatar.provider,
                    "avatar",
                    avatar.fingerprint,
                    reason=UNKNOWN_REASON,
                    credits=credits,
                )
            )
        elif entry.status is not Status.COMPLETED:
            items.append(
                PlanItem(Action.RESUME, avatar.name, avatar.provider, "avatar", avatar.fingerprint)
            )
    names = set()
    superseded: list[str] = []
    for avatar in avatars:
        if used is None or (avatar.provider, avatar.fingerprint) in used:
            record = lock.avatars.get(avatar.lock_key)
            if record is not None and (jobs := superseded_jobs(record, "motion_id")):
                superseded.append(f"avatar {avatar.name}: {jobs}")
    for request in desired:
        names.add(request.name)
        if not wanted(request.name):
            continue
        recorded = lock.videos.get(request.name)
        if recorded is not None and (jobs := superseded_jobs(recorded, "job_id")):
            superseded.append(f"{request.name}: {jobs}")
        item = _video_item(request, recorded, outputs)
        if item is None:
            unchanged += 1
        elif item.action is Action.UNCHANGED:
            unchanged += 1
            relabel.append(item)
        else:
            items.append(item)
    for name, video in lock.videos.items():
        if name not in names and wanted(name):
            items.append(
                PlanItem(
                    Action.ORPHAN,
                    name,
                    "?" if video.provider is None else video.provider,
                    fingerprint=video.fingerprint,
                    reason="no longer in the spec",
                )
            )
    items = with_moves(items, lock.videos)
    items.sort(key=lambda i: (i.kind != "avatar", i.name))
    requests = {r.name: r for r in desired if wanted(r.name)}
    return SpecPlan(
        spec=spec,
        lock=lock_path,
        lock_digest=lock.digest,
        items=tuple(items),
        unchanged=unchanged,
        requests=requests,
        superseded=tuple(superseded),
        relabel=tuple(relabel),
    )


def with_moves(items: list[PlanItem], videos: Mapping[str, VideoRecord]) -> list[PlanItem]:
    """Each create that is a completed orphan's render, and that orphan, become one
    ``move`` (plan/moves.py): no render, no credits."""
    creates = [
        Wanted(i.name, i.provider, i.fingerprint)
        for i in items
        if i.action is Action.CREATE and i.kind == "video" and i.fingerprint is not None
    ]
    orphans = [i.name for i in items if i.action is Action.ORPHAN]
    if not creates or not orphans:
        return items
    moves = find_moves(creates, orphans, videos, lambda p: provider_traits(p).label_fields)
    if not moves:
        return items
    sources = {m.target: m.source for m in moves}
    moved = set(sources.values())
    return [
        dataclasses.replace(
            i,
            action=Action.MOVE,
            source=sources[i.name],
            seconds=0.0,
            credits=0,
            reason=MOVE_REASON,
        )
        if i.action is Action.CREATE and i.kind == "video" and i.name in sources
        else i
        for i in items
        if not (i.action is Action.ORPHAN and i.name in moved)
    ]


def superseded_jobs(record: VideoRecord | AvatarRecord, job: str) -> str:
    """What `plan` says of a record's superseded jobs (``state.merge``); "" for none."""
    entries = record.extra.get("superseded")
    if not isinstance(entries, list) or not entries:
        return ""
    shown = [
        f"{entry.get(job)} ({entry.get('status') or 'no status'})"
        for entry in entries
        if isinstance(entry, dict) and entry.get(job) is not None
    ]
    count = len(entries)
    return (
        f"{count} superseded job{'s' if count != 1 else ''} kept in the lockfile "
        f"({', '.join(shown) or 'no job id'}), from a merge of two applies of it"
    )


def _video_item(
    request: Request, entry: VideoRecord | None, outputs: Mapping[str, OutputStatus]
) -> PlanItem | None:
    def item(action: Action, **extra: Any) -> PlanItem:
        renders = action.renders
        return PlanItem(
            action,
            request.name,
            request.provider,
            "video",
            request.fingerprint,
            request.key,
            # An unknown item carries what a resubmit would cost (``resubmitting``).
            seconds=request.seconds if renders or action is Action.UNKNOWN else 0.0,
            credits=(
                credits_for(request.provider, request.seconds)
                if renders or action is Action.UNKNOWN
                else 0
            ),
            **extra,
        )

    if entry is None:
        return item(Action.CREATE)
    legacy = entry.fingerprint != request.fingerprint
    if legacy and not same_render(
        entry.fingerprint,
        entry.inputs,
        request,
        provider_traits(request.provider).label_fields,
    ):
        return item(Action.REPLACE, changed=changed_fields(entry.inputs or {}, request.inputs))
    status = entry.status
    if status is Status.SUBMITTED:
        return item(Action.RESUME, reason=f"job {entry.job_id}")
    if status is Status.SUBMITTING:
        # Interrupted between the intent and the job id: only a provider that can look
        # the job up makes this a resume; for the others nobody knows if it was made.
        if provider_traits(request.provider).finds_jobs:
            return item(Action.RESUME, reason="job (id to be looked up)")
        return item(Action.UNKNOWN, reason=UNKNOWN_REASON)
    if status is Status.FAILED:
        return item(Action.RETRY, reason=entry.error or "failed")
    if status is Status.UNKNOWN:
        error = entry.error
        return item(
            Action.UNKNOWN,
            reason=f"outcome unknown: {error}; `apply --resubmit-unknown` risks paying twice"
            if error
            else UNKNOWN_REASON,
        )
    if status is Status.COMPLETED:
        output = outputs.get(request.name, OutputStatus.MISSING)
        if output is OutputStatus.OK:
            if not legacy and labels_of(entry.inputs) == request.labels:
                return None
            # The same render under another label, or a legacy fingerprint: recorded
            # by apply, never rendered (docs/design.md, "Labels").
            fields = provider_traits(request.provider).label_fields
            old, new = entry.inputs or {}, request.inputs
            changed = tuple(f for f in fields if old.get(f) != new.get(f))
            if not changed and not legacy:
                return None
            return item(Action.UNCHANGED, changed=changed, reason="label only: no render")
        reason = (
            "output file missing"
            if output is OutputStatus.MISSING
            else "output file differs from the recorded sha256"
        )
        return item(Action.DOWNLOAD, reason=reason)
    # No status, or one reelform does not write (kept as it was read: records.Status).
    shown = None if status is None else str(status)
    return item(Action.RETRY, reason=f"unexpected lock status {shown!r}")


def force_replace(plan: SpecPlan, patterns: Sequence[str]) -> SpecPlan:
    """`apply --replace NAME`: render the named videos again even when unchanged."""
    import fnmatch

    chosen = {name for name in plan.requests if any(fnmatch.fnmatchcase(name, p) for p in patterns)}
    kept = [i for i in plan.items if not (i.kind == "video" and i.name in chosen)]
    # A move replaced by a render leaves its orphan an orphan.
    kept += [
        PlanItem(Action.ORPHAN, i.source, i.provider, reason="no longer in the spec")
        for i in plan.items
        if i.action is Action.MOVE and i.name in chosen and i.source is not None
    ]
    changed = {i.name for i in plan.items if i.kind == "video"}
    added = []
    for name in sorted(chosen):
        request = plan.requests[name]
        added.append(
            PlanItem(
                Action.REPLACE,
                name,
                request.provider,
                "video",
                request.fingerprint,
                request.key,
                reason="--replace",
                seconds=request.seconds,
                credits=credits_for(request.provider, request.seconds),
            )
        )
    unchanged = plan.unchanged - len(chosen - changed)
    items = sorted([*kept, *added], key=lambda i: (i.kind != "avatar", i.name))
    relabel = tuple(i for i in plan.relabel if i.name not in chosen)
    return dataclasses.replace(plan, items=tuple(items), unchanged=unchanged, relabel=relabel)


def resubmitting(plan: SpecPlan) -> SpecPlan:
    """`--resubmit-unknown`: every ``unknown`` item is submitted again, and says so."""
    if not any(i.action is Action.UNKNOWN for i in plan.items):
        return plan
    items = tuple(
        dataclasses.replace(i, resubmit=True) if i.action is Action.UNKNOWN else i
        for i in plan.items
    )
    return dataclasses.replace(plan, items=items)
