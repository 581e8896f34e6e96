"""`reelform approve`, and approval status in `reelform plan` (text, JSON, markdown)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from reelform.cli import main
from reelform.project import plan_prepared, prepare
from reelform.state.approvals import read_approvals

if TYPE_CHECKING:  # tests/conftest.py: imported by name, it would clash with apply's
    from conftest import Tree

SPEC = """
version: 1
provider: jogg
data: {people: [{id: "1", text: One}, {id: "2", text: Two}, {id: "3", text: Three}]}
defaults: {avatar: {id: 81}, voice: {voice_id: en-US-1}}
videos:
  - name: "hi-{{ row.id }}"
    for_each: people
    voice: {script: "Hello number {{ row.text }}"}
"""


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def fingerprints(spec: str = "spec.yaml") -> dict[str, str]:
    from pathlib import Path

    return {r.name: r.fingerprint for r in prepare(Path(spec)).requests}


def plan_items(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = run(capsys, "plan", "--json", "spec.yaml")
    assert code == 0, err
    [spec] = json.loads(out)["specs"]
    return {i["name"]: i.get("approved", "absent") for i in spec["items"]}


def test_without_an_approvals_file_plan_says_nothing_of_approvals(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    code, out, _ = run(capsys, "plan", "spec.yaml")
    assert code == 0 and "approv" not in out.lower()
    assert plan_items(capsys) == {"hi-1": "absent", "hi-2": "absent", "hi-3": "absent"}
    code, out, _ = run(capsys, "plan", "--json", "spec.yaml")
    assert "approvals" not in json.loads(out)


def test_approve_by_name_and_glob_records_the_render_identity(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    code, out, err = run(capsys, "approve", "spec.yaml", "hi-1", "hi-[3]")
    assert (code, err) == (0, ""), err
    assert out == (
        "Approved 2 renders in spec.approvals.\n2 of 3 renders of spec.yaml are approved.\n"
    )
    prints = fingerprints()
    assert read_approvals(tree.root / "spec.yaml").by_name == {
        "hi-1": prints["hi-1"],
        "hi-3": prints["hi-3"],
    }
    code, out, err = run(capsys, "approve", "spec.yaml", "hi-1")
    assert "(1 already were)" in out


def test_plan_shows_status_in_text_json_and_markdown(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    assert run(capsys, "approve", "spec.yaml", "hi-1", "hi-2")[0] == 0
    tree.spec(SPEC.replace("text: Two", "text: Deux"))
    code, out, _ = run(capsys, "plan", "spec.yaml")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.startswith("  + create    hi-1") and line.endswith("; approved") for line in lines
    )
    assert any(
        line.endswith("; approval void (changed since)") and "hi-2" in line for line in lines
    )
    assert any(line.endswith("; not approved") and "hi-3" in line for line in lines)
    assert "Approvals: 1 of 3 renders approved (1 void: changed since)." in lines

    assert plan_items(capsys) == {"hi-1": True, "hi-2": "void", "hi-3": False}
    code, out, _ = run(capsys, "plan", "--json", "spec.yaml")
    document = json.loads(out)
    assert document["approvals"] == {"renders": 3, "approved": 1, "void": 1, "held_back": 0}
    assert document["specs"][0]["approvals"] == "spec.approvals"

    code, out, _ = run(capsys, "plan", "--format", "markdown", "spec.yaml")
    assert "Approvals: 1 of 3 renders approved (1 void: changed since)." in out
    assert "| `+` create | `hi-2` | jogg | ~1 s; **approval void (changed since)** |" in out


def test_detailed_exitcode_is_untouched_by_approvals(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    assert run(capsys, "approve", "spec.yaml", "--all")[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", "spec.yaml")[0] == 2


def test_a_relabel_keeps_the_approval_and_a_new_script_voids_it(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    assert run(capsys, "approve", "spec.yaml", "--all")[0] == 0
    tree.spec(SPEC.replace("for_each: people", "for_each: people\n    captions: true"))
    assert set(plan_items(capsys).values()) == {"void"}
    tree.spec(SPEC)  # back as it was: the same render, approved again by its old line
    assert set(plan_items(capsys).values()) == {True}


def test_reject_withdraws_and_all_reject_clears(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    assert run(capsys, "approve", "spec.yaml", "--all")[0] == 0
    code, out, _ = run(capsys, "approve", "spec.yaml", "--reject", "hi-2")
    assert code == 0 and out.startswith("Withdrew 1 approval in spec.approvals.")
    assert plan_items(capsys) == {"hi-1": True, "hi-2": False, "hi-3": True}
    tree.spec(SPEC.replace('{id: "3"', '{id: "4"'))  # hi-3 leaves the spec: its line stays
    assert set(read_approvals(tree.root / "spec.yaml").by_name) == {"hi-1", "hi-3"}
    code, out, _ = run(capsys, "approve", "spec.yaml", "--reject", "hi-3")  # stale, still known
    assert code == 0, out
    code, out, _ = run(capsys, "approve", "spec.yaml", "--reject", "--all")
    assert code == 0 and read_approvals(tree.root / "spec.yaml").by_name == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("hi-1x",), "spec.yaml: no video 'hi-1x'; did you mean 'hi-1'?"),
        (("nobody",), "spec.yaml: no video 'nobody'"),
        ((), "approve: name the videos to approve (globs allowed), or use --all"),
        (("hi-1", "--all"), "approve: give NAMEs or --all, not both"),
    ],
)
def test_unknown_names_and_bad_usage_are_clear(
    tree: Tree, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    tree.spec(SPEC)
    code, out, err = run(capsys, "approve", "spec.yaml", *args)
    assert (code, out, err) == (1, "", message + "\n")
    assert not (tree.root / "spec.approvals").exists()


def test_a_video_with_nothing_to_render_cannot_be_approved(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    from reelform.plan.diff import Action
    from reelform.state.lockfile import LockState, write_lock
    from reelform.state.records import Status, VideoRecord

    spec = tree.spec(SPEC)
    prepared = prepare(spec)
    done = {
        r.name: VideoRecord(
            provider="jogg",
            fingerprint=r.fingerprint,
            inputs=r.inputs,
            status=Status.SUBMITTED,
            job_id="j1",
        )
        for r in prepared.requests
        if r.name == "hi-1"
    }
    write_lock(tree.root / "spec.lock", LockState(videos=done))
    assert plan_prepared(prepare(spec)).items[0].action is Action.RESUME
    code, _, err = run(capsys, "approve", "spec.yaml", "hi-1")
    assert code == 1
    assert err == (
        "spec.yaml: 'hi-1' matches hi-1 with nothing to render (up to date, or already "
        "submitted): there is no render to review\n"
    )


def test_a_bad_approvals_line_stops_plan_approve_and_apply_located(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.spec(SPEC)
    tree.write("spec.approvals", "# header\nhi-1 nothex\n")
    for command in (
        ("plan", "spec.yaml"),
        ("plan", "--json", "spec.yaml"),
        ("approve", "spec.yaml", "hi-2"),
        ("apply", "--yes", "--approved", "spec.yaml"),
        ("apply", "--yes", "spec.yaml"),
    ):
        code, out, err = run(capsys, *command)
        assert code == 1, (command, out, err)
        assert err == (
            "spec.approvals:2:6: 'nothex' is not a render identity (64 lowercase hex digits)\n"
        ), command
    assert (tree.root / "spec.approvals").read_text() == "# header\nhi-1 nothex\n"
    assert not (tree.root / "spec.lock").exists()


def test_a_folder_is_not_a_spec_to_approve(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.write("specs/a.yaml", SPEC)
    assert run(capsys, "approve", "specs", "--all") == (
        1,
        "",
        "approve: specs is a folder; approvals are per spec, name one file\n",
    )
