"""The reuse rules (plan/reuse.py), pure: which renders become copies, and of what."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reelform.neighbours import neighbour_specs, read_neighbour, repository_root
from reelform.plan.diff import Action, OutputStatus, SpecPlan, diff, force_replace, resubmitting
from reelform.plan.fingerprint import Request, digest
from reelform.plan.reuse import Completed, best_source, copyable, wanted, with_copies
from reelform.plan.show import plan_json, render_text
from reelform.state.lockfile import LockState
from reelform.state.records import VideoOutput, VideoRecord


def req(name: str, script: str = "hello there") -> Request:
    inputs = {"provider": "jogg", "voice": {"script": script, "voice_id": "v"}}
    return Request(name, "jogg", inputs, digest(inputs), 1.0)


def record(request: Request, status: str = "completed", **extra: object) -> VideoRecord:
    return VideoRecord.from_json(
        {
            "fingerprint": request.fingerprint,
            "inputs": request.inputs,
            "provider": "jogg",
            "status": status,
            **extra,
        }
    )


def planned(
    spec: str,
    desired: list[Request],
    videos: dict[str, VideoRecord] | None = None,
    outputs: dict[str, OutputStatus] | None = None,
) -> SpecPlan:
    outputs = outputs or {name: OutputStatus.OK for name in videos or {}}
    return diff(spec, desired, [], LockState(videos=videos or {}), outputs, spec + ".lock")


def done(
    spec: str, request: Request, *, intact: bool = True, url: str | None = "https://v/1"
) -> Completed:
    output = VideoOutput(path=f"out/{request.name}.mp4", sha256="ab", url=url)
    entry = dataclasses.replace(record(request), output=output)
    return Completed(spec, request.name, request.fingerprint, entry, "/x", intact)


def actions(plan: SpecPlan) -> dict[str, tuple[str, tuple[str, str] | None]]:
    return {i.name: (i.action.value, i.copy_of) for i in plan.items}


def test_identical_creates_in_one_plan_are_one_create_and_copies_of_it() -> None:
    plans = [planned("s.yaml", [req("a"), req("b"), req("c", "other"), req("d")])]
    [result] = with_copies(plans, {})
    assert actions(result) == {
        "a": ("create", None),
        "b": ("copy", ("s.yaml", "a")),
        "c": ("create", None),
        "d": ("copy", ("s.yaml", "a")),
    }
    assert result.estimate.videos == 2 and result.estimate.credits == 2
    assert result.copies == {}  # sources rendered by this run, not from a lockfile


def test_a_copy_costs_nothing_and_is_a_change() -> None:
    [result] = with_copies([planned("s.yaml", [req("a"), req("b")])], {})
    copy = next(i for i in result.items if i.action is Action.COPY)
    assert copy.credits == 0 and not copy.renders
    assert result.changes
    data = plan_json([result])
    assert data["summary"]["copy"] == 1 and data["estimate"]["jogg_credits"] == 1
    assert data["specs"][0]["items"][1] == {
        "action": "copy",
        "name": "b",
        "provider": "jogg",
        "kind": "video",
        "fingerprint": copy.fingerprint,
        "key": copy.key,
        "reason": "<- a (rendered once, by this run)",
        "copy_of": {"spec": "s.yaml", "name": "a"},
    }
    assert "= copy      b" in render_text([result], color=False)


def test_the_first_spec_of_the_run_renders_and_the_next_copies() -> None:
    plans = [planned("a.yaml", [req("x")]), planned("b.yaml", [req("y")])]
    first, second = with_copies(plans, {})
    assert actions(first) == {"x": ("create", None)}
    assert actions(second) == {"y": ("copy", ("a.yaml", "x"))}
    assert second.items[0].reason == "<- a.yaml:x (rendered once, by this run)"


def test_a_completed_video_is_copied_before_anything_is_rendered() -> None:
    a, b = req("a"), req("b")
    plans = [planned("s.yaml", [a, b], {"a": record(a)})]
    source = done("s.yaml", a)
    [result] = with_copies(plans, {a.fingerprint: [source]})
    assert actions(result) == {"b": ("copy", ("s.yaml", "a"))}
    assert result.copies == {"b": source}
    assert result.estimate.videos == 0


def test_replace_and_retry_become_copies_but_not_a_forced_replace() -> None:
    a, b, c = req("a"), req("b"), req("c")
    old = record(req("b", "old text"))
    videos = {"a": record(a), "b": old, "c": record(c, "failed", error="boom")}
    plan = planned("s.yaml", [a, b, c], videos)
    assert actions(plan) == {"b": ("replace", None), "c": ("retry", None)}
    [result] = with_copies([plan], {a.fingerprint: [done("s.yaml", a)]})
    assert actions(result) == {"b": ("copy", ("s.yaml", "a")), "c": ("copy", ("s.yaml", "a"))}
    assert result.items[0].changed == ("voice.script",)  # still says what changed
    forced = force_replace(plan, ["b"])
    assert not copyable(next(i for i in forced.items if i.name == "b"))


def test_a_job_in_flight_is_the_source_of_the_renders_equal_to_it() -> None:
    a, b = req("a"), req("b")
    plans = [planned("s.yaml", [a, b], {"a": record(a, "submitted", job_id="j1")})]
    [result] = with_copies(plans, {})
    assert actions(result) == {"a": ("resume", None), "b": ("copy", ("s.yaml", "a"))}


def test_an_unknown_left_alone_stays_and_one_to_resubmit_copies_instead() -> None:
    a, b = req("a"), req("b")
    plan = planned("s.yaml", [a, b], {"b": record(b, "unknown")})
    [result] = with_copies([plan], {})
    assert actions(result) == {"a": ("create", None), "b": ("unknown", None)}
    [resubmitted] = with_copies([resubmitting(plan)], {})
    # a is rendered anyway: b copies it rather than risk paying twice for itself.
    assert actions(resubmitted) == {"a": ("create", None), "b": ("copy", ("s.yaml", "a"))}
    copy = resubmitted.items[1]
    assert not copy.resubmit and not copy.renders and resubmitted.estimate.videos == 1
    # With no other render, the first unknown to resubmit is it; its equals copy it.
    c = req("c")
    unknown = {"b": record(b, "unknown"), "c": record(c, "unknown")}
    [result] = with_copies([resubmitting(planned("s.yaml", [b, c], unknown))], {})
    assert actions(result) == {"b": ("unknown", None), "c": ("copy", ("s.yaml", "b"))}
    assert result.items[0].resubmit


def test_an_intact_file_wins_then_the_same_spec_then_by_name() -> None:
    a = req("a")
    gone = done("s.yaml", req("m"), intact=False)
    other = done("t.yaml", req("n"))
    own = done("s.yaml", req("z"))
    assert best_source("s.yaml", "a", [gone, other, own]) == own
    assert best_source("s.yaml", "a", [gone, other]) == other
    assert best_source("s.yaml", "a", [gone]) == gone
    unreachable = done("t.yaml", req("q"), intact=False, url=None)
    assert best_source("s.yaml", "a", [unreachable]) is None
    assert best_source("s.yaml", "a", [done("s.yaml", a)]) is None  # never itself


def test_a_source_that_cannot_be_fetched_leaves_the_render() -> None:
    a, b = req("a"), req("b")
    unreachable = done("t.yaml", a, intact=False, url=None)
    [result] = with_copies([planned("s.yaml", [b])], {b.fingerprint: [unreachable]})
    assert actions(result) == {"b": ("create", None)}


def test_wanted_names_only_what_could_be_a_copy() -> None:
    a, b = req("a"), req("b", "other")
    plan = planned("s.yaml", [a, b], {"a": record(a)})
    assert wanted([plan]) == {b.fingerprint}
    assert wanted([planned("s.yaml", [a], {"a": record(a)})]) == frozenset()


def test_the_repository_root_is_the_nearest_folder_with_git(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    deep = tmp_path / "repo" / "specs" / "team"
    deep.mkdir(parents=True)
    assert repository_root(deep) == (tmp_path / "repo").resolve()
    (deep / ".git").write_text("gitdir: ../../.git/worktrees/x\n")  # a worktree's file
    assert repository_root(deep) == deep.resolve()
    loose = tmp_path / "loose"
    loose.mkdir()
    assert repository_root(loose) == loose.resolve()


def test_a_reelform_toml_marks_the_repository_root_as_for_the_state_backend(
    tmp_path: Path,
) -> None:
    """Outside git (a CI checkout without .git, say) the repository's reelform.toml
    says where it begins, for reuse as for the state backend's spec identities."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "reelform.toml").write_text("[state]\n")
    deep = tmp_path / "repo" / "specs" / "team"
    deep.mkdir(parents=True)
    assert repository_root(deep) == (tmp_path / "repo").resolve()
    (tmp_path / "repo" / "specs" / "reelform.toml").mkdir()  # a folder of that name is not it
    assert repository_root(deep) == (tmp_path / "repo").resolve()


def test_neighbours_without_a_lockfile_or_with_a_bad_one_are_skipped(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text("version: 1\n")
    (tmp_path / "b.lock").write_text("{not json")
    (tmp_path / "c.lock").write_text('{"version": 1, "videos": {}}\n')
    found = list(neighbour_specs([tmp_path], exclude=[tmp_path / "a.yaml"]))
    assert [p.name for p in found] == ["b.yaml", "c.yaml"]
    assert read_neighbour(found[0]) is None  # damaged: its own plan reports it
    state = read_neighbour(found[1])
    assert state is not None and len(state.videos) == 0


@pytest.mark.parametrize("status", ["submitted", "failed", "unknown", "submitting"])
def test_only_completed_videos_are_sources(tmp_path: Path, status: str) -> None:
    from reelform.project import _completed_in

    a = req("a")
    state = LockState(videos={"a": record(a, status), "b": record(req("b", "other"))})
    assert list(_completed_in(state, tmp_path, "s.yaml", frozenset({a.fingerprint}))) == []
    state.videos["c"] = record(req("c"))  # completed, the same render as a
    [found] = _completed_in(state, tmp_path, "s.yaml", frozenset({a.fingerprint}))
    assert (found.name, found.intact) == ("c", False)  # no output file on record


def test_a_photo_avatar_only_copies_use_is_not_planned() -> None:
    from reelform.plan.diff import AvatarRequest

    photo = AvatarRequest("founder", "jogg", {"image": "x"}, "avatar-fp", "2.0")

    def speaking(name: str, script: str = "hello there") -> Request:
        inputs = {"provider": "jogg", "avatar": {"photo": "avatar-fp"}, "voice": {"script": script}}
        return Request(name, "jogg", inputs, digest(inputs), 1.0)

    a, b = speaking("a"), speaking("b")
    lock = LockState(videos={})
    plan = diff("s.yaml", [b], [photo], lock, {}, "s.lock")
    assert [i.kind for i in plan.items] == ["avatar", "video"]
    assert plan.estimate.credits == 1 + 2  # the video, and the avatar's motion
    [result] = with_copies([plan], {a.fingerprint: [done("t.yaml", a)]})
    assert [(i.kind, i.action.value) for i in result.items] == [("video", "copy")]
    assert result.estimate.credits == 0
    # A render still needing the avatar keeps it planned.
    both = diff("s.yaml", [b, speaking("c", "other")], [photo], lock, {}, "s.lock")
    [kept] = with_copies([both], {a.fingerprint: [done("t.yaml", a)]})
    assert [(i.kind, i.action.value) for i in kept.items] == [
        ("avatar", "create"),
        ("video", "copy"),
        ("video", "create"),
    ]


def test_a_copy_record_is_a_journal_record_like_any_other(tmp_path: Path) -> None:
    """Crash-safety: replayed from the journal before any compaction, the copy's record
    (with where it came from) is all there."""
    from reelform.state.journal import Journal
    from reelform.state.lockfile import read_lock

    lock_path = tmp_path / "s.lock"
    copy = dataclasses.replace(
        record(req("b")),
        output=VideoOutput(path="out/b.mp4", sha256="ab", bytes=3, mtime_ns=1),
        copied_from={"spec": "../t.yaml", "name": "a"},
    )
    journal = Journal(lock_path, LockState())
    journal.record("videos", "b", copy, durable=True)
    journal.close()  # killed here: never compacted
    assert not lock_path.exists()
    assert read_lock(lock_path).videos["b"] == copy


def test_a_copied_from_of_the_wrong_shape_is_a_located_lockfile_error(tmp_path: Path) -> None:
    from reelform.errors import LockfileError
    from reelform.state.lockfile import parse_lock

    raw = b'{"version": 1, "videos": {"b": {"copied_from": "a"}}}'
    with pytest.raises(LockfileError) as info:
        parse_lock(raw, tmp_path / "s.lock")
    assert 'videos["b"]: copied_from must be an object (or null), not a string' in str(info.value)
