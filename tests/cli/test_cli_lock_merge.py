"""`reelform lock merge BASE OURS THEIRS` as git's merge driver, with real git.

A repository made by `reelform init` (its ``.gitattributes`` names the driver;
the driver is configured as the README says, with this venv's reelform), whose
spec renders offline (provider ``local``): two branches each apply a different
video, and ``git merge`` merges their lockfiles without a conflict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from reelform.cli import main
from reelform.state.lockfile import dump_json, dump_lock, read_lock

REELFORM = Path(sys.executable).with_name("reelform")
LOCK = "specs/welcome.lock"


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {result.stdout}{result.stderr}")
    return result


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def videos(repo: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((repo / LOCK).read_text())["videos"]
    return result


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """`reelform init`, committed on main, with the driver configured as the README says."""
    root = tmp_path / "videos"
    assert main(["init", str(root)]) == 0
    monkeypatch.chdir(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "merge.reelform-lock.driver", f"{REELFORM} lock merge %O %A %B")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    capsys.readouterr()
    return root


def apply_on_branch(
    repo: Path, capsys: pytest.CaptureFixture[str], branch: str, target: str
) -> None:
    git(repo, "checkout", "-q", "-b", branch, "main")
    assert run(capsys, "apply", "--yes", "--target", target)[0] == 0
    git(repo, "add", LOCK)
    git(repo, "commit", "-qm", f"apply {target}")


def test_two_branches_applying_different_videos_merge_cleanly(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_on_branch(repo, capsys, "a", "welcome-1")
    apply_on_branch(repo, capsys, "b", "welcome-2")
    one = videos(repo)["welcome-2"]
    git(repo, "checkout", "-q", "a")
    zero = videos(repo)["welcome-1"]
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", "a")  # a fast-forward
    merge = git(repo, "merge", "--no-edit", "b")
    assert "CONFLICT" not in merge.stdout + merge.stderr
    assert git(repo, "status", "--porcelain").stdout == ""
    assert videos(repo) == {"welcome-1": zero, "welcome-2": one}
    # As the lockfile's writer lays it out: a load and save changes nothing.
    assert dump_lock(read_lock(repo / LOCK)) == (repo / LOCK).read_bytes()

    # This clone rendered both (out/ is not committed): nothing to do.
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out

    # A fresh clone has the lockfile but not the outputs: only downloads, nothing paid.
    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    monkeypatch.chdir(clone)
    code, out = run(capsys, "plan", "--detailed-exitcode", "--format", "json")
    assert code == 2
    plan = json.loads(out)
    assert {action: n for action, n in plan["summary"].items() if n} == {"download": 2}
    assert plan["estimate"]["videos"] == 0  # nothing rendered, nothing paid


def test_the_same_video_applied_on_both_branches_keeps_both_job_ids(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_on_branch(repo, capsys, "a", "welcome-1")
    ours = videos(repo)["welcome-1"]
    apply_on_branch(repo, capsys, "b", "welcome-1")
    # The local renderer's job id is its idempotency key, the same on both branches;
    # a provider with job ids of its own gives each submit another: as branch b's.
    theirs = {**videos(repo)["welcome-1"], "job_id": "other-job", "status": "submitted"}
    (repo / LOCK).write_bytes(dump_json({"videos": {"welcome-1": theirs}}))
    git(repo, "commit", "-qam", "another job")
    git(repo, "checkout", "-q", "a")
    merge = git(repo, "merge", "--no-edit", "b")
    assert "CONFLICT" not in merge.stdout + merge.stderr
    merged = videos(repo)["welcome-1"]
    assert merged["job_id"] == ours["job_id"] and merged["status"] == "completed"
    assert merged["superseded"] == [
        {
            k: theirs[k]
            for k in ("job_id", "status", "fingerprint", "key", "submitted_at", "completed_at")
        }
    ]
    code, out = run(capsys, "plan", "--detailed-exitcode", "--target", "welcome-1")
    assert code == 0, out  # not a change: nothing to do
    assert (
        "  ! welcome-1: 1 superseded job kept in the lockfile (other-job (submitted)), "
        "from a merge of two applies of it\n"
    ) in out
    code, out = run(capsys, "plan", "--target", "welcome-1", "--format", "json")
    assert "other-job" in json.loads(out)["specs"][0]["superseded"][0]
    # An apply that touches the record (a download, here) keeps the superseded job.
    (repo / "out/welcome/welcome-1.mp4").unlink()
    assert run(capsys, "apply", "--yes", "--target", "welcome-1")[0] == 0
    assert videos(repo)["welcome-1"]["superseded"] == merged["superseded"]


def test_a_side_that_is_not_a_lockfile_is_a_conflict(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_on_branch(repo, capsys, "a", "welcome-1")
    ours = (repo / LOCK).read_bytes()
    git(repo, "checkout", "-q", "-b", "b", "main")
    (repo / LOCK).write_text('{"version": 9}\n')
    git(repo, "add", LOCK)
    git(repo, "commit", "-qm", "from the future")
    git(repo, "checkout", "-q", "a")
    merge = git(repo, "merge", "--no-edit", "b", check=False)
    assert merge.returncode != 0
    assert "CONFLICT" in merge.stdout
    assert "written by a newer reelform" in merge.stderr
    assert (repo / LOCK).read_bytes() == ours  # left as it was


def test_the_driver_exits_1_with_one_line_for_a_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good"
    good.write_bytes(dump_json({}))
    bad = tmp_path / "bad"
    bad.write_bytes(b"<<<<<<< HEAD\n")
    ours = tmp_path / "ours"
    ours.write_bytes(dump_json({"videos": {"a": {"status": "completed"}}}))
    before = ours.read_bytes()
    capsys.readouterr()
    assert main(["lock", "merge", str(good), str(ours), str(bad)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "corrupt lockfile" in err
    assert ours.read_bytes() == before
    theirs = tmp_path / "theirs"
    theirs.write_bytes(dump_json({"videos": {"b": {"status": "completed"}}}))
    assert main(["lock", "merge", str(good), str(ours), str(theirs)]) == 0
    assert orjson.loads(ours.read_bytes())["videos"].keys() == {"a", "b"}
