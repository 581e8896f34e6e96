"""plan/approval.py: which items need approval, and what `--approved` holds back."""

from __future__ import annotations

import pytest

from reelform.errors import ConfigError
from reelform.plan.approval import (
    annotate,
    approval_line,
    choose,
    held_back_line,
    hold_back,
)
from reelform.plan.diff import Action, Approval, PlanItem, SpecPlan
from reelform.plan.fingerprint import Request
from reelform.state.approvals import Approvals

A, B, C = "a" * 64, "b" * 64, "c" * 64


def video(action: Action, name: str, fingerprint: str, *, resubmit: bool = False) -> PlanItem:
    return PlanItem(action, name, "jogg", "video", fingerprint, resubmit=resubmit)


def plan_of(*items: PlanItem, photos: dict[str, str] | None = None) -> SpecPlan:
    photos = photos or {}
    requests = {
        i.name: Request(
            i.name,
            i.provider,
            {"avatar": {"photo": photos[i.name]}} if i.name in photos else {},
            i.fingerprint or "",
            1.0,
        )
        for i in items
        if i.kind == "video"
    }
    return SpecPlan("spec.yaml", "spec.lock", "", items, 0, requests)


ITEMS = (
    video(Action.CREATE, "new", A),
    video(Action.REPLACE, "changed", B),
    video(Action.RETRY, "failed", C),
    video(Action.UNKNOWN, "lost", A, resubmit=True),
    video(Action.UNKNOWN, "lost-alone", A),
    video(Action.RESUME, "running", A),
    video(Action.DOWNLOAD, "gone", A),
    video(Action.ORPHAN, "old", A),
)


def test_every_render_needs_approval_and_nothing_else() -> None:
    plan = annotate(plan_of(*ITEMS), Approvals({"new": A, "changed": A}), "spec.approvals")
    statuses = {i.name: i.approval for i in plan.items}
    assert statuses == {
        "new": Approval.APPROVED,
        "changed": Approval.VOID,  # approved as another render
        "failed": Approval.UNAPPROVED,
        "lost": Approval.UNAPPROVED,  # resubmitted: paid again
        "lost-alone": None,
        "running": None,
        "gone": None,
        "old": None,
    }
    assert plan.approvals == "spec.approvals"
    assert approval_line([plan]) == "Approvals: 1 of 4 renders approved (1 void: changed since)."
    shown = [i.to_json().get("approved", "-") for i in plan.items[:5]]
    assert shown == [True, "void", False, False, "-"]


def test_hold_back_keeps_approved_renders_and_everything_already_paid_for() -> None:
    plan = hold_back(annotate(plan_of(*ITEMS), Approvals({"new": A, "changed": A}), "x"))
    assert [i.name for i in plan.items] == ["new", "lost-alone", "running", "gone", "old"]
    assert [i.name for i in plan.held_back] == ["changed", "failed", "lost"]
    assert held_back_line([plan]) == "3 held back: not approved (1 void after a change)."
    assert hold_back(annotate(plan_of(ITEMS[0]), Approvals({"new": A}), "x")).held_back == ()


def test_an_unannotated_render_counts_as_not_approved() -> None:
    plan = hold_back(plan_of(video(Action.CREATE, "new", A)))
    assert plan.items == () and [i.name for i in plan.held_back] == ["new"]
    assert held_back_line([plan]) == "1 held back: not approved."


def test_a_photo_avatar_is_held_back_only_when_no_approved_render_uses_it() -> None:
    avatar = PlanItem(Action.CREATE, "founder", "jogg", "avatar", "p1", credits=2)
    other = PlanItem(Action.CREATE, "other", "jogg", "avatar", "p2", credits=2)
    running = PlanItem(Action.RESUME, "third", "jogg", "avatar", "p3")
    items = (
        avatar,
        other,
        running,
        video(Action.CREATE, "f1", A),
        video(Action.CREATE, "f2", B),
        video(Action.CREATE, "o1", C),
    )
    plan = plan_of(*items, photos={"f1": "p1", "f2": "p1", "o1": "p2"})
    held = hold_back(annotate(plan, Approvals({"f2": B}), "x"))
    assert [i.name for i in held.items] == ["founder", "third", "f2"]
    assert [i.name for i in held.held_back] == ["f1", "o1", "other"]
    assert held_back_line([held]) == (
        "2 held back: not approved, and 1 photo avatar only they use."
    )


def test_choose_takes_globs_and_the_identity_the_plan_would_render() -> None:
    plan = plan_of(*ITEMS)
    assert choose(plan, ["n*", "changed"], everything=False, reject=False).approve == {
        "new": A,
        "changed": B,
    }
    assert choose(plan, [], everything=True, reject=False).approve == {
        "changed": B,
        "failed": C,
        "lost": A,
        "new": A,
    }
    rejected = choose(plan, [], everything=True, reject=True, approved_names=["gone-for-good"])
    assert rejected.approve == {} and "gone-for-good" in rejected.reject
    with pytest.raises(ConfigError, match="'running' matches running with nothing to render"):
        choose(plan, ["running"], everything=False, reject=False)
    with pytest.raises(ConfigError, match="no video 'nwe'; did you mean 'new'"):
        choose(plan, ["nwe"], everything=False, reject=False)
