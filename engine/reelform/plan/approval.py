"""Approvals in a plan: which renders were reviewed, and `apply --approved`.

Pure: the approvals are read by the caller (state/approvals.py) and passed in.
What needs approval is every video item that would submit a (paid) render: a
create, a replace, a retry of a failed render and an unknown resubmitted with
`--resubmit-unknown`. Resumes and downloads of jobs already made never do, nor
do orphans. A photo avatar is a prerequisite, not a video: `--approved` holds
back a photo avatar to create only when no approved render uses it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from reelform.errors import ConfigError
from reelform.plan.diff import Approval, PlanItem, SpecPlan
from reelform.state.approvals import Approvals


def needs_approval(item: PlanItem) -> bool:
    return item.kind == "video" and item.renders


def annotate(plan: SpecPlan, approvals: Approvals, file: str) -> SpecPlan:
    """The plan with each render's approval status, read from ``file``."""
    if not any(needs_approval(i) for i in plan.items):
        return dataclasses.replace(plan, approvals=file)
    items = tuple(
        dataclasses.replace(item, approval=status(approvals, item))
        if needs_approval(item)
        else item
        for item in plan.items
    )
    return dataclasses.replace(plan, items=items, approvals=file)


def status(approvals: Approvals, item: PlanItem) -> Approval:
    fingerprint = item.fingerprint or ""
    if approvals.approved(item.name, fingerprint):
        return Approval.APPROVED
    if approvals.void(item.name, fingerprint):
        return Approval.VOID
    return Approval.UNAPPROVED


def hold_back(plan: SpecPlan) -> SpecPlan:
    """`apply --approved`: take the renders nobody approved out of the plan (an
    annotated plan; an item without a status counts as not approved)."""
    kept: list[PlanItem] = []
    held: list[PlanItem] = []
    for item in plan.items:
        if needs_approval(item) and item.approval is not Approval.APPROVED:
            held.append(item)
        else:
            kept.append(item)
    photos = {
        (item.provider, _photo(plan, item.name))
        for item in kept
        if needs_approval(item) and _photo(plan, item.name) is not None
    }
    items: list[PlanItem] = []
    for item in kept:
        unused = (item.provider, item.fingerprint) not in photos
        if item.kind == "avatar" and item.renders and unused:
            held.append(item)  # only held-back videos use it: not worth its credits yet
        else:
            items.append(item)
    if not held:
        return plan
    return dataclasses.replace(plan, items=tuple(items), held_back=(*plan.held_back, *held))


def _photo(plan: SpecPlan, name: str) -> str | None:
    request = plan.requests.get(name)
    if request is None:
        return None
    avatar = request.inputs.get("avatar")
    photo = avatar.get("photo") if isinstance(avatar, dict) else None
    return photo if isinstance(photo, str) else None


def approval_line(plans: Sequence[SpecPlan]) -> str | None:
    """``Approvals: 3 of 5 renders approved (1 void: changed since).`` or None when no
    spec of the plan has approvals (nothing to say)."""
    statuses = [i.approval for p in plans if p.approvals is not None for i in p.items if i.approval]
    if not statuses:
        return None
    approved = statuses.count(Approval.APPROVED)
    void = statuses.count(Approval.VOID)
    renders = "render" if len(statuses) == 1 else "renders"
    extra = f" ({void:,} void: changed since)" if void else ""
    return f"Approvals: {approved:,} of {len(statuses):,} {renders} approved{extra}."


def held_back_line(plans: Sequence[SpecPlan]) -> str | None:
    """``12 held back: not approved (3 void after a change).`` or None."""
    held = [i for p in plans for i in p.held_back]
    if not held:
        return None
    videos = [i for i in held if i.kind == "video"]
    void = sum(1 for i in videos if i.approval is Approval.VOID)
    parts = [f"{len(videos):,} held back: not approved"]
    if void:
        parts.append(f" ({void:,} void after a change)")
    avatars = len(held) - len(videos)
    if avatars:
        parts.append(f", and {avatars:,} photo avatar{'s' if avatars != 1 else ''} only they use")
    return "".join(parts) + "."


def held_back_names(plan: SpecPlan, limit: int = 10) -> str:
    """The held-back videos of one spec, the first ``limit`` by name."""
    names = sorted(i.name for i in plan.held_back if i.kind == "video")
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return shown + (f" and {more:,} more" if more > 0 else "")


@dataclass(frozen=True)
class Choice:
    """What `reelform approve` (or a gallery's selection) asks to record."""

    approve: dict[str, str]  # name -> render identity
    reject: tuple[str, ...]


def choose(
    plan: SpecPlan,
    names: Sequence[str],
    *,
    everything: bool,
    reject: bool,
    approved_names: Sequence[str] = (),
) -> Choice:
    """The renders that ``names`` (globs allowed) or ``everything`` select in a plan.

    Approving takes only what the plan would render, at the identity it would
    render; a name that matches nothing to render is a ConfigError saying why (up to
    date, not in the spec, a near miss). Rejecting also takes names that only the
    approvals file still holds (``approved_names``: lines left by removed videos).
    """
    pending = {i.name: i.fingerprint or "" for i in plan.items if needs_approval(i)}
    if everything and reject:
        return Choice({}, tuple(sorted({*pending, *approved_names})))
    if everything:
        return Choice(dict(sorted(pending.items())), ())
    known = {*pending, *approved_names} if reject else set(pending)
    chosen_set: set[str] = set()
    for pattern in names:
        matched = [n for n in known if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise ConfigError(_nothing_matches(plan, pattern, known, reject))
        chosen_set.update(matched)
    chosen = sorted(chosen_set)
    if reject:
        return Choice({}, tuple(chosen))
    return Choice({n: pending[n] for n in chosen}, ())


def _nothing_matches(plan: SpecPlan, pattern: str, known: set[str], reject: bool) -> str:
    import difflib

    what = "approved or to render" if reject else "to render"
    in_spec = [n for n in plan.requests if fnmatch.fnmatchcase(n, pattern)]
    if in_spec:
        shown = in_spec[0] if len(in_spec) == 1 else f"{len(in_spec):,} videos"
        return (
            f"{plan.spec}: {pattern!r} matches {shown} with nothing {what} "
            "(up to date, or already submitted): there is no render to review"
        )
    close = difflib.get_close_matches(pattern, sorted(known | set(plan.requests)), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{plan.spec}: no video {pattern!r}{hint}"
