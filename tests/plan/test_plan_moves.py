"""Moves (plan/moves.py): a create that is a completed orphan's render is a `move`.

Each rule of the module docstring, one test each, on the pure planner; then how
a move is shown (text, JSON, markdown) and what it costs (nothing).
"""

from __future__ import annotations

from typing import Any

from reelform.plan.diff import Action, OutputStatus, SpecPlan, diff, force_replace
from reelform.plan.fingerprint import Request, digest, fingerprint_of, legacy_fingerprint
from reelform.plan.markdown import render_markdown
from reelform.plan.moves import Move, Wanted, find_moves
from reelform.plan.show import plan_json, render_text
from reelform.state.lockfile import LockState
from reelform.state.records import VideoRecord

OK = OutputStatus.OK


def req(name: str, script: str, title: str | None = None, provider: str = "jogg") -> Request:
    inputs: dict[str, Any] = {"provider": provider, "voice": {"script": script}}
    if title is not None:
        inputs["title"] = title
    labels = ("title",) if provider == "jogg" else ()
    return Request(
        name,
        provider,
        inputs,
        fingerprint_of(inputs, labels),
        4.0,
        (title,),
        ("title",) if title is not None and labels else (),
    )


def entry(request: Request, status: str = "completed", **extra: Any) -> VideoRecord:
    return VideoRecord.from_json(
        {
            "fingerprint": request.fingerprint,
            "key": request.key,
            "inputs": request.inputs,
            "provider": request.provider,
            "status": status,
            "job_id": f"job-{request.name}",
            "output": {"path": f"out/{request.name}.mp4", "bytes": 3, "sha256": "0" * 64},
            **extra,
        }
    )


def plan(
    desired: list[Request],
    videos: dict[str, VideoRecord],
    outputs: dict[str, OutputStatus] | None = None,
    target: str | None = None,
) -> SpecPlan:
    import fnmatch

    selected = (lambda n: fnmatch.fnmatchcase(n, target)) if target else None
    lock = LockState(videos=videos)
    return diff("s.yaml", desired, [], lock, outputs or {}, "s.lock", selected)


def moves(result: SpecPlan) -> list[tuple[str, str | None, str]]:
    return [(i.action.value, i.source, i.name) for i in result.items]


WELCOME = [req(f"welcome-{n}", f"script {n}") for n in (1, 2)]
HELLO = [req(f"hello-{n}", f"script {n}") for n in (1, 2)]
LOCKED = {r.name: entry(r) for r in WELCOME}


def test_a_renamed_video_is_a_move_not_a_create_and_an_orphan() -> None:
    result = plan(HELLO, LOCKED)
    assert moves(result) == [
        ("move", "welcome-1", "hello-1"),
        ("move", "welcome-2", "hello-2"),
    ]
    item = result.items[0]
    assert item.fingerprint == HELLO[0].fingerprint and item.key == HELLO[0].key
    assert (item.seconds, item.credits, item.renders) == (0.0, 0, False)


def test_a_move_is_a_change_and_costs_nothing() -> None:
    result = plan(HELLO, LOCKED)
    assert result.changes and result.count(Action.MOVE) == 2
    assert result.estimate.videos == 0 and result.estimate.credits == 0
    assert result.count(Action.CREATE) == 0 and result.count(Action.ORPHAN) == 0


def test_a_renamed_video_whose_content_changed_too_is_a_create() -> None:
    changed = [req("hello-1", "another script"), HELLO[1]]
    assert moves(plan(changed, LOCKED)) == [
        ("create", None, "hello-1"),
        ("move", "welcome-2", "hello-2"),
        ("orphan", None, "welcome-1"),
    ]


def test_only_a_completed_orphan_moves() -> None:
    for status, extra in (
        ("submitted", {"job_id": "j"}),
        ("submitting", {}),
        ("failed", {"error": "no"}),
        ("unknown", {}),
    ):
        videos = {"welcome-1": entry(WELCOME[0], status, **extra)}
        assert moves(plan(HELLO[:1], videos)) == [
            ("create", None, "hello-1"),
            ("orphan", None, "welcome-1"),
        ], status


def test_an_orphan_whose_output_file_is_gone_still_moves() -> None:
    # A crash between the rename of the file and the record leaves exactly this;
    # observe_outputs is not even asked about an orphan's file.
    missing = {"welcome-1": OutputStatus.MISSING}
    assert moves(plan(HELLO[:1], {"welcome-1": LOCKED["welcome-1"]}, missing)) == [
        ("move", "welcome-1", "hello-1")
    ]


def test_another_provider_is_no_move() -> None:
    local = req("hello-1", "script 1", provider="local")
    record = VideoRecord.from_json({**entry(WELCOME[0]).to_json(), "provider": "jogg"})
    # Same fingerprint on record, but the entry is another provider's render.
    record = VideoRecord.from_json({**record.to_json(), "fingerprint": local.fingerprint})
    assert moves(plan([local], {"welcome-1": record})) == [
        ("create", None, "hello-1"),
        ("orphan", None, "welcome-1"),
    ]


def test_one_orphan_moves_to_one_create_the_first_by_name() -> None:
    twins = [req("hello-b", "script 1"), req("hello-a", "script 1")]
    assert moves(plan(twins, {"welcome-1": LOCKED["welcome-1"]})) == [
        ("move", "welcome-1", "hello-a"),
        ("create", None, "hello-b"),
    ]


def test_the_pairing_is_by_name_order_whatever_the_input_order() -> None:
    same = [req(n, "same script") for n in ("old-b", "old-a")]
    new = [req(n, "same script") for n in ("new-b", "new-a")]
    videos = {r.name: entry(r) for r in same}
    expected = [("move", "old-a", "new-a"), ("move", "old-b", "new-b")]
    assert moves(plan(new, videos)) == expected
    assert moves(plan(new[::-1], dict(reversed(videos.items())))) == expected
    wanted = [Wanted(r.name, r.provider, r.fingerprint) for r in new]
    assert find_moves(wanted, ["old-b", "old-a"], videos, lambda _: ()) == [
        Move("old-a", "new-a"),
        Move("old-b", "new-b"),
    ]


def test_a_rename_with_a_new_title_is_a_move() -> None:
    old = req("welcome-1", "script 1", title="Welcome 1")
    new = req("hello-1", "script 1", title="Hello 1")
    assert moves(plan([new], {"welcome-1": entry(old)})) == [("move", "welcome-1", "hello-1")]


def test_an_orphan_with_a_legacy_fingerprint_moves() -> None:
    """Written before labels existed: its fingerprint hashed the title too."""
    old = req("welcome-1", "script 1", title="Welcome 1")
    legacy = VideoRecord.from_json(
        {**entry(old).to_json(), "fingerprint": legacy_fingerprint(old.inputs)}
    )
    assert legacy.fingerprint != old.fingerprint
    new = req("hello-1", "script 1", title="Hello 1")
    assert moves(plan([new], {"welcome-1": legacy})) == [("move", "welcome-1", "hello-1")]
    # A stored fingerprint that is neither: not this render.
    forged = VideoRecord.from_json({**legacy.to_json(), "fingerprint": digest("other")})
    assert moves(plan([new], {"welcome-1": forged})) == [
        ("create", None, "hello-1"),
        ("orphan", None, "welcome-1"),
    ]


def test_an_orphan_outside_the_target_does_not_move() -> None:
    # Not selected, it is not about to become an orphan in this plan.
    assert moves(plan(HELLO, LOCKED, target="hello-*")) == [
        ("create", None, "hello-1"),
        ("create", None, "hello-2"),
    ]
    assert moves(plan(HELLO, LOCKED, target="*-1")) == [("move", "welcome-1", "hello-1")]


def test_replace_of_a_move_renders_it_and_leaves_its_orphan() -> None:
    replaced = force_replace(plan(HELLO, LOCKED), ["hello-1"])
    assert moves(replaced) == [
        ("replace", None, "hello-1"),
        ("move", "welcome-2", "hello-2"),
        ("orphan", None, "welcome-1"),
    ]
    assert replaced.estimate.videos == 1


def test_no_orphan_or_no_create_means_no_move_pass() -> None:
    assert moves(plan(WELCOME, LOCKED, {n: OK for n in LOCKED})) == []
    assert moves(plan([], LOCKED)) == [
        ("orphan", None, "welcome-1"),
        ("orphan", None, "welcome-2"),
    ]


def test_a_move_is_shown_old_to_new_in_text_json_and_markdown() -> None:
    result = plan(HELLO, LOCKED)
    text = render_text([result], color=False)
    assert "  > move      welcome-1 -> hello-1" in text, text
    assert "Plan: 0 unchanged" not in text and "2 to move" in text
    assert "Estimate: 0 videos to render" in text
    document = plan_json([result])
    [item, _] = document["specs"][0]["items"]
    assert item["action"] == "move" and item["from"] == "welcome-1" and item["name"] == "hello-1"
    assert "credits" not in item and document["summary"]["move"] == 2
    assert document["estimate"]["jogg_credits"] == 0 and document["changes"] is True
    markdown = render_markdown([result])
    assert "| `>` move | `welcome-1` -> `hello-1` | jogg |" in markdown, markdown
    assert "| move | 2 |" in markdown
