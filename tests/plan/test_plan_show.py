"""Showing plans: text, markdown, saved plans and their freshness checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.errors import PlanFileError
from reelform.plan.diff import Action, PlanItem, SpecPlan
from reelform.plan.markdown import FOLD_AFTER, render_markdown
from reelform.plan.saved import check_fresh, is_plan_file, load_saved_plan, saved_plan
from reelform.plan.show import duration_text, plan_json, render_text


def make_plan(count: int = 2, digest: str = "d1", unchanged: int = 0) -> SpecPlan:
    items = tuple(
        PlanItem(
            Action.CREATE,
            f"v-{i:03d}",
            "jogg",
            fingerprint=f"f{i}",
            key=f"k{i}",
            seconds=30.0,
            credits=1,
        )
        for i in range(count)
    )
    return SpecPlan("s.yaml", "s.lock", digest, items, unchanged)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (61, "1 min 1 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 0 min"),
        (7325, "2 h 2 min"),
    ],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_text_plan_pipe_in_names_and_replace_details() -> None:
    item = PlanItem(
        Action.REPLACE, "a", "jogg", changed=("aspect", "voice.script"), seconds=90, credits=1
    )
    text = render_text([SpecPlan("s.yaml", "s.lock", "d", (item,), 3)], color=False)
    assert "  ~ replace   a           jogg    changed: aspect, voice.script; ~1 min 30 s\n" in text
    assert "  = 3 unchanged\n" in text
    assert text.endswith(
        "Plan: 1 to replace, 3 unchanged.\n"
        "Estimate: 1 video to render, ~1 min 30 s of video, "
        "1 JoggAI credit.\n"
    )


def test_markdown_folds_long_lists_and_escapes_pipes() -> None:
    long = render_markdown([make_plan(FOLD_AFTER + 1)])
    assert f"<details><summary>{FOLD_AFTER + 1} changes" in long and "</details>" in long
    short = render_markdown([make_plan(FOLD_AFTER)])
    assert "<details>" not in short
    item = PlanItem(Action.RETRY, "a", "jogg", reason="bad | worse\nline", seconds=0)
    assert "| bad \\| worse line |" in render_markdown([SpecPlan("s", "l", "d", (item,), 0)])


def test_markdown_no_changes() -> None:
    assert render_markdown([make_plan(0, unchanged=5)]) == (
        "## reelform plan\n\nNo changes: 5 videos up to date.\n"
    )


def test_saved_plan_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    path.write_bytes(saved_plan([make_plan()], {"a": "1"}, ["v-*"]))
    assert is_plan_file(path) and not is_plan_file(tmp_path)
    saved = load_saved_plan(path)
    assert (saved.specs, saved.variables, saved.targets) == (["s.yaml"], {"a": "1"}, ["v-*"])
    check_fresh(saved, [make_plan()], path)


def test_saved_plan_is_deterministic() -> None:
    assert saved_plan([make_plan()], {"b": "2", "a": "1"}, []) == saved_plan(
        [make_plan()], {"a": "1", "b": "2"}, []
    )


def test_stale_when_the_lockfile_changed(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    path.write_bytes(saved_plan([make_plan(digest="before")], {}, []))
    with pytest.raises(PlanFileError, match=r"s\.lock changed since the plan was made"):
        check_fresh(load_saved_plan(path), [make_plan(digest="after")], path)


def test_stale_when_the_items_changed(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    path.write_bytes(saved_plan([make_plan(2)], {}, []))
    with pytest.raises(PlanFileError, match=r"s\.yaml or its files changed"):
        check_fresh(load_saved_plan(path), [make_plan(3)], path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format": "reelform-plan",\n "version": }', r"p\.plan:2:13: not a plan file"),
        (b'{"format": "something"}', "not a reelform plan file"),
        (b'{"format": "reelform-plan", "version": 9}', "plan format version 9 is not 1"),
    ],
)
def test_bad_plan_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "p.plan"
    path.write_bytes(content)
    with pytest.raises(PlanFileError, match=message):
        load_saved_plan(path)


def test_plan_json_counts() -> None:
    document = plan_json([make_plan(2, unchanged=4), make_plan(1)])
    assert document["summary"]["create"] == 3 and document["summary"]["unchanged"] == 4
    assert document["estimate"] == {"videos": 3, "seconds": 90.0, "jogg_credits": 3}
