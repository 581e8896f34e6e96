"""The pure plan: (desired requests, lockfile, output states) -> actions. Three lines each."""

from __future__ import annotations

from typing import Any

import pytest

from reelform.plan.diff import (
    Action,
    AvatarRequest,
    OutputStatus,
    PlanItem,
    SpecPlan,
    credits_for,
    diff,
    resubmitting,
)
from reelform.plan.fingerprint import Request, digest
from reelform.state.lockfile import LockState
from reelform.state.records import AvatarRecord, VideoRecord


def req(
    name: str, script: str = "hello there", provider: str = "jogg", seconds: float | None = None
) -> Request:
    inputs = {
        "provider": provider,
        "voice": {"script": script, "voice_id": "v"},
        "aspect": "portrait",
    }
    words = len(script.split()) / 2.5
    return Request(name, provider, inputs, digest(inputs), seconds if seconds else words)


def entry(request: Request, status: str = "completed", **extra: Any) -> VideoRecord:
    return VideoRecord.from_json(
        {
            "fingerprint": request.fingerprint,
            "inputs": request.inputs,
            "provider": request.provider,
            "status": status,
            **extra,
        }
    )


def plan(
    desired: list[Request],
    videos: dict[str, VideoRecord] | None = None,
    outputs: dict[str, OutputStatus] | None = None,
    avatars: list[AvatarRequest] = (),
    avatar_lock: dict[str, AvatarRecord] | None = None,
    target: str | None = None,
) -> SpecPlan:  # type: ignore[assignment]
    import fnmatch

    lock = LockState(videos=videos or {}, avatars=avatar_lock or {})
    selected = (lambda n: fnmatch.fnmatchcase(n, target)) if target else None
    return diff("s.yaml", desired, list(avatars), lock, outputs or {}, "s.lock", selected)


def actions(result: SpecPlan) -> list[tuple[str, str]]:
    return [(i.action.value, i.name) for i in result.items]


A, B = req("a"), req("b")
OK = OutputStatus.OK


def test_create() -> None:
    result = plan([A])
    assert actions(result) == [("create", "a")] and result.unchanged == 0
    assert result.items[0].key == A.key and result.items[0].fingerprint == A.fingerprint


def test_unchanged() -> None:
    result = plan([A, B], {"a": entry(A), "b": entry(B)}, {"a": OK, "b": OK})
    assert (result.items, result.unchanged, result.changes) == ((), 2, False)


def test_replace_lists_changed_fields() -> None:
    new = req("a", script="goodbye now")
    result = plan([new], {"a": entry(A)}, {"a": OK})
    assert actions(result) == [("replace", "a")] and result.items[0].changed == ("voice.script",)


def test_replace_wins_over_a_failed_or_submitted_status() -> None:
    new = req("a", script="other words")
    assert actions(plan([new], {"a": entry(A, "submitted", job_id="j")})) == [("replace", "a")]


def test_resume() -> None:
    result = plan([A], {"a": entry(A, "submitted", job_id="job-7")})
    assert actions(result) == [("resume", "a")] and result.items[0].reason == "job job-7"
    assert not result.items[0].renders and result.items[0].credits == 0


@pytest.mark.parametrize("provider", ["jogg", "mirako"])
def test_an_interrupted_submit_is_unknown_where_the_provider_cannot_be_asked(
    provider: str,
) -> None:
    request = req("a", provider=provider)
    result = plan([request], {"a": entry(request, "submitting")})
    assert actions(result) == [("unknown", "a")]
    assert "--resubmit-unknown" in (result.items[0].reason or "")
    assert not result.items[0].renders and result.estimate.videos == 0


def test_an_interrupted_submit_is_looked_up_where_the_provider_can_say() -> None:
    request = req("a", provider="local")
    result = plan([request], {"a": entry(request, "submitting")})
    assert actions(result) == [("resume", "a")]
    assert result.items[0].reason == "job (id to be looked up)"


def test_resubmitting_names_and_counts_every_unknown() -> None:
    b = req("b", seconds=300.0)  # 3 credits: a started 2 minutes each
    result = plan([A, b], {"a": entry(A, "unknown"), "b": entry(b, "submitting")})
    assert result.estimate.videos == 0 and result.estimate.credits == 0
    again = resubmitting(result)
    assert [(i.name, i.resubmit, i.renders) for i in again.items] == [
        ("a", True, True),
        ("b", True, True),
    ]
    assert again.estimate.videos == 2 and again.estimate.credits == 1 + 3
    assert again.items[0].to_json()["resubmit"] is True
    assert resubmitting(plan([A], {})) == plan([A], {})  # nothing unknown: the same plan


def test_retry_with_reason() -> None:
    result = plan([A], {"a": entry(A, "failed", error="jogg: 40000 Parameter error")})
    assert actions(result) == [("retry", "a")]
    assert result.items[0].reason == "jogg: 40000 Parameter error" and result.items[0].credits == 1


def test_unknown_is_left_alone() -> None:
    result = plan([A], {"a": entry(A, "unknown")})
    assert actions(result) == [("unknown", "a")] and not result.items[0].action.renders
    assert "--resubmit-unknown" in (result.items[0].reason or "")


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (None, "output file missing"),
        (OutputStatus.MISSING, "output file missing"),
        (OutputStatus.CHANGED, "output file differs from the recorded sha256"),
    ],
)
def test_download(output: OutputStatus | None, reason: str) -> None:
    result = plan([A], {"a": entry(A)}, {"a": output} if output else {})
    assert actions(result) == [("download", "a")] and result.items[0].reason == reason


def test_orphan() -> None:
    result = plan([A], {"a": entry(A), "gone": entry(req("gone"))}, {"a": OK})
    assert actions(result) == [("orphan", "gone")] and result.unchanged == 1


def test_target_glob_selects_videos_and_orphans() -> None:
    new = [req("x-1", "new words"), req("y-1", "new words")]
    result = plan(new, {"x-old": entry(A), "y-old": entry(B)}, target="x-*")
    assert actions(result) == [("create", "x-1"), ("orphan", "x-old")]
    assert set(result.requests) == {"x-1"}


def test_items_are_sorted_avatars_first() -> None:
    photo = AvatarRequest("face", "jogg", {"model": "2.0"}, "fp", "2.0")
    result = plan([req("b"), req("a")], avatars=[photo])
    assert actions(result) == [("create", "face"), ("create", "a"), ("create", "b")]


def test_unexpected_status_is_retried() -> None:
    result = plan([A], {"a": entry(A, "weird")})
    assert actions(result) == [("retry", "a")] and "weird" in (result.items[0].reason or "")


# --- photo avatars -------------------------------------------------------------------

PHOTO = AvatarRequest("face", "jogg", {"image": {"sha256": "1"}, "model": "2.0"}, "fp1", "2.0")


def avatar_entry(
    status: str = "completed", fingerprint: str = "fp1", **extra: Any
) -> dict[str, AvatarRecord]:
    record = {
        "fingerprint": fingerprint,
        "inputs": {"image": {"sha256": "0"}, "model": "2.0"},
        "status": status,
        **extra,
    }
    return {"jogg/face": AvatarRecord.from_json(record)}


def test_avatar_create() -> None:
    item = plan([], avatars=[PHOTO]).items[0]
    assert (item.action, item.kind, item.credits) == (Action.CREATE, "avatar", 2)


def test_avatar_replace_names_changed_fields() -> None:
    item = plan([], avatars=[PHOTO], avatar_lock=avatar_entry(fingerprint="old")).items[0]
    assert (item.action, item.changed) == (Action.REPLACE, ("image",))


def test_avatar_unchanged_retry_and_resume() -> None:
    assert plan([], avatars=[PHOTO], avatar_lock=avatar_entry()).items == ()
    assert (
        plan([], avatars=[PHOTO], avatar_lock=avatar_entry("failed", error="bad face"))
        .items[0]
        .reason
        == "bad face"
    )
    assert (
        plan([], avatars=[PHOTO], avatar_lock=avatar_entry("processing")).items[0].action
        is Action.RESUME
    )


def test_avatar_pro_model_costs_3_credits_and_other_providers_nothing() -> None:
    pro = AvatarRequest("face", "jogg", {}, "fp", "2.0-Pro")
    assert plan([], avatars=[pro]).items[0].credits == 3
    assert plan([], avatars=[AvatarRequest("f", "local", {}, "fp", "2.0")]).items[0].credits == 0


# --- estimate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "credits"), [(1, 1), (119.9, 1), (120, 1), (120.1, 2), (240, 2), (241, 3), (0, 1)]
)
def test_jogg_credits_per_started_two_minutes(seconds: float, credits: int) -> None:
    assert credits_for("jogg", seconds) == credits


def test_other_providers_cost_no_jogg_credits() -> None:
    assert (credits_for("local", 600), credits_for("mirako", 600)) == (0, 0)


def test_seconds_from_words_at_2_5_words_per_second() -> None:
    result = plan([req("a", script=" ".join(["word"] * 25)), req("b", script="hi")])
    assert [i.seconds for i in result.items] == [10.0, 0.4]


def test_estimate_sums_what_renders() -> None:
    five_min = req("long", seconds=300)
    result = plan(
        [five_min, req("a", seconds=30)],
        {"a": entry(req("a", seconds=30), "submitted")},
        avatars=[AvatarRequest("p", "jogg", {}, "f", "2.0-Pro")],
    )
    estimate = result.estimate
    assert (estimate.videos, estimate.seconds, estimate.credits) == (1, 300, 3 + 3)


def test_to_json_of_an_item() -> None:
    item = PlanItem(
        Action.REPLACE,
        "a",
        "jogg",
        fingerprint="f",
        key="k",
        changed=("aspect",),
        seconds=12.34,
        credits=1,
    )
    assert item.to_json() == {
        "action": "replace",
        "name": "a",
        "provider": "jogg",
        "kind": "video",
        "fingerprint": "f",
        "key": "k",
        "changed": ["aspect"],
        "seconds": 12.3,
        "credits": 1,
    }
