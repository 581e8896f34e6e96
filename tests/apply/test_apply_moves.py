"""Moves end to end (docs/design.md, "Moves"): a renamed video is not paid again.

Over real HTTP against the JoggAI and Mirako simulators, whose request log is the proof: after
a rename of the `name:` template (and a new title with it) the plan is moves at no
cost, and apply sends no create and no other POST: it renames the output files
and re-keys their lock entries. Then the crash windows: the file renamed but the
record not written (a failing journal append: the disk is full), and the record
written but the file not renamed (a state the order of the two steps rules out,
made by hand); neither plans a paid create afterwards.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from applykit import InProcess, Project, SimServer

from reelform.state.journal import Journal
from reelform.state.lockfile import read_lock, write_lock

#: The tests that matter most run on both state backends (lockfiles, PostgreSQL rows).
BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")


def named_spec(project: Project, prefix: str, title: str | None = None) -> None:
    project.jogg_spec(2, prefix=prefix)
    if title is None:
        return
    spec = project.root / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace(
            '    voice: {script: "{{ row.text }}"}\n',
            f'    voice: {{script: "{{{{ row.text }}}}"}}\n    title: "{title} {{{{ row.id }}}}"\n',
        ),
        encoding="utf-8",
    )


def planned(cli: InProcess) -> tuple[int, dict[str, Any]]:
    result = cli("plan", "--json", "--detailed-exitcode", "spec.yaml")
    assert result.code in (0, 2), result.text
    return result.code, json.loads(result.out)


def digests(project: Project) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in project.outputs()}


@pytest.fixture
def rendered(cli: InProcess, sim: SimServer, project: Project) -> dict[str, str]:
    """welcome-1 and welcome-2 made (two paid creates); their files' digests."""
    named_spec(project, "welcome-", "Welcome")
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 0, first.text
    assert len(sim.creates()) == 2
    return digests(project)


@BOTH_BACKENDS
def test_a_rename_is_a_move_and_the_provider_sees_no_create(
    cli: InProcess, sim: SimServer, project: Project, rendered: dict[str, str]
) -> None:
    before = project.lock()
    named_spec(project, "hello-", "Welcome")

    code, document = planned(cli)
    [spec] = document["specs"]
    assert [(i["action"], i["from"], i["name"]) for i in spec["items"]] == [
        ("move", "welcome-1", "hello-1"),
        ("move", "welcome-2", "hello-2"),
    ]
    assert code == 2 and document["changes"] is True  # --detailed-exitcode: a change
    assert document["estimate"] == {"videos": 0, "seconds": 0.0, "jogg_credits": 0}
    text = cli("plan", "spec.yaml").out
    assert "> move      welcome-1 -> hello-1" in text and "0 videos to render" in text, text

    mark = sim.mark()
    applied = cli("apply", "--yes", "spec.yaml")
    assert applied.code == 0, applied.text
    assert "2 moved" in applied.out, applied.out
    assert sim.creates(mark) == [] and sim.posts(mark) == [], [r.path for r in sim.posts(mark)]
    assert digests(project) == {
        "hello-1.mp4": rendered["welcome-1.mp4"],
        "hello-2.mp4": rendered["welcome-2.mp4"],
    }
    after = project.lock()
    assert sorted(after.videos) == ["hello-1", "hello-2"]
    for n in ("1", "2"):
        old, new = before.videos[f"welcome-{n}"], after.videos[f"hello-{n}"]
        assert new.job_id == old.job_id and new.fingerprint == old.fingerprint
        assert new.output is not None and new.output.path == f"out/spec/hello-{n}.mp4"
        assert new.output.sha256 == rendered[f"welcome-{n}.mp4"]
    assert planned(cli)[0] == 0  # moved for good: nothing left to do


@BOTH_BACKENDS
def test_a_rename_with_a_new_title_is_one_free_move(
    cli: InProcess, sim: SimServer, project: Project, rendered: dict[str, str]
) -> None:
    named_spec(project, "hello-", "Hello")
    _, document = planned(cli)
    [spec] = document["specs"]
    assert [i["action"] for i in spec["items"]] == ["move", "move"]
    mark = sim.mark()
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert sim.creates(mark) == [] and sim.posts(mark) == []
    inputs = project.lock().videos["hello-1"].inputs
    assert inputs is not None and inputs["title"] == "Hello 1"
    assert planned(cli)[0] == 0


def test_a_crash_after_the_rename_before_the_record_is_the_same_move_again(
    cli: InProcess,
    sim: SimServer,
    project: Project,
    rendered: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named_spec(project, "hello-", "Welcome")

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "record_all", disk_full)
        failed = cli("apply", "--yes", "spec.yaml")
    assert failed.code == 1, failed.text
    # The files are at their new names; the lockfile still names the old ones.
    assert sorted(digests(project)) == ["hello-1.mp4", "hello-2.mp4"]
    assert sorted(project.lock().videos) == ["welcome-1", "welcome-2"]

    _, document = planned(cli)
    [spec] = document["specs"]
    assert [(i["action"], i["from"]) for i in spec["items"]] == [
        ("move", "welcome-1"),
        ("move", "welcome-2"),
    ]
    mark = sim.mark()
    again = cli("apply", "--yes", "spec.yaml")
    assert again.code == 0, again.text
    assert sim.creates(mark) == [] and sim.posts(mark) == []
    assert digests(project) == {
        "hello-1.mp4": rendered["welcome-1.mp4"],
        "hello-2.mp4": rendered["welcome-2.mp4"],
    }
    assert planned(cli)[0] == 0


def test_a_record_without_its_rename_is_a_free_download_not_a_render(
    cli: InProcess, sim: SimServer, project: Project, rendered: dict[str, str]
) -> None:
    """The entry re-keyed but the file still at the old name (and, worse, gone there
    too): what the next plan sees is a download from the job's URL."""
    lock_path = project.root / "spec.lock"
    state = read_lock(lock_path)
    old = state.videos.pop("welcome-1")
    assert old.output is not None
    state.videos["hello-1"] = old.__class__.from_json(
        {**old.to_json(), "output": {**old.output.to_json(), "path": "out/spec/hello-1.mp4"}}
    )
    write_lock(lock_path, state)
    os.remove(project.root / "out/spec/welcome-1.mp4")
    project.jogg_spec(1, prefix="hello-")
    (project.root / "spec.yaml").write_text(
        (project.root / "spec.yaml")
        .read_text(encoding="utf-8")
        .replace(
            '    voice: {script: "{{ row.text }}"}\n',
            '    voice: {script: "{{ row.text }}"}\n    title: "Welcome {{ row.id }}"\n',
        ),
        encoding="utf-8",
    )
    _, document = planned(cli)
    [spec] = document["specs"]
    assert [(i["action"], i["name"]) for i in spec["items"]] == [
        ("download", "hello-1"),
        ("orphan", "welcome-2"),
    ]
    assert document["estimate"]["jogg_credits"] == 0
    mark = sim.mark()
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert sim.creates(mark) == [] and sim.posts(mark) == []
    assert digests(project)["hello-1.mp4"] == rendered["welcome-1.mp4"]


def test_a_moved_file_that_is_gone_is_downloaded_not_rendered(
    cli: InProcess, sim: SimServer, project: Project, rendered: dict[str, str]
) -> None:
    os.remove(project.root / "out/spec/welcome-2.mp4")
    named_spec(project, "hello-", "Welcome")
    _, document = planned(cli)
    [spec] = document["specs"]
    assert [i["action"] for i in spec["items"]] == ["move", "move"]
    mark = sim.mark()
    applied = cli("apply", "--yes", "spec.yaml")
    assert applied.code == 0, applied.text
    assert sim.creates(mark) == [] and sim.posts(mark) == []
    assert digests(project) == {
        "hello-1.mp4": rendered["welcome-1.mp4"],
        "hello-2.mp4": rendered["welcome-2.mp4"],
    }
    assert planned(cli)[0] == 0


def test_apply_of_a_saved_plan_with_moves(
    cli: InProcess, sim: SimServer, project: Project, rendered: dict[str, str], tmp_path: Path
) -> None:
    named_spec(project, "hello-", "Welcome")
    saved = cli("plan", "--out", "moves.plan", "spec.yaml")
    assert saved.code == 0, saved.text
    document = json.loads((project.root / "moves.plan").read_text(encoding="utf-8"))
    assert [i["from"] for i in document["specs"][0]["items"]] == ["welcome-1", "welcome-2"]
    mark = sim.mark()
    applied = cli("apply", "--yes", "moves.plan")
    assert applied.code == 0, applied.text
    assert sim.creates(mark) == [] and sorted(project.lock().videos) == ["hello-1", "hello-2"]


@BOTH_BACKENDS
def test_a_renamed_mirako_video_is_moved_without_speech_or_a_create(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """Mirako bills the speech synthesis of a script as well as the render: a move
    pays for neither."""
    project.mirako_speech_spec()
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert len(sim.creates()) == 1
    spec = project.root / "spec.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("- name: spoken", "- name: greeting"),
        encoding="utf-8",
    )
    _, document = planned(cli)
    [item] = document["specs"][0]["items"]
    assert (item["action"], item["from"], item["name"]) == ("move", "spoken", "greeting")
    mark = sim.mark()
    applied = cli("apply", "--yes", "spec.yaml")
    assert applied.code == 0, applied.text
    assert sim.posts(mark) == [], [r.path for r in sim.posts(mark)]
    assert [p.name for p in project.outputs()] == ["greeting.mp4"]
    assert planned(cli)[0] == 0
