"""The approvals file (state/approvals.py): its format, its writes, and git merges."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reelform.errors import ConfigError, SpecError
from reelform.scaffold import __file__ as scaffold_init
from reelform.state.approvals import (
    Approvals,
    approvals_path,
    find_approvals,
    parse_approvals,
    read_approvals,
    record_approvals,
)

A = "a" * 64
B = "b" * 64
C = "c" * 64


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "specs" / "welcome.yaml"
    path.parent.mkdir()
    path.write_text("version: 1\n")
    return path


def body(path: Path) -> list[str]:
    """The file's lines without its header comment."""
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def test_the_file_sits_beside_the_spec_and_a_missing_one_approves_nothing(spec: Path) -> None:
    assert approvals_path(spec) == spec.with_name("welcome.approvals")
    assert find_approvals(spec) is None
    assert read_approvals(spec).by_name == {}
    assert not read_approvals(spec).approved("v1", A)


def test_a_symlinked_spec_shares_the_real_spec_s_approvals(spec: Path) -> None:
    link = spec.with_name("current.yaml")
    link.symlink_to(spec.name)
    record_approvals(link, {"v1": A}, [])
    assert approvals_path(link).resolve() == approvals_path(spec).resolve()
    assert read_approvals(spec).approved("v1", A)


def test_written_sorted_one_line_per_video_with_a_header(spec: Path) -> None:
    state = record_approvals(spec, {"v2": B, "v10": C, "v1": A}, [])
    path = approvals_path(spec)
    text = path.read_text()
    assert text.startswith("# reelform approvals of welcome.yaml:")
    assert body(path) == [f"v1 {A}", f"v10 {C}", f"v2 {B}"]
    assert state == read_approvals(spec)
    assert state.approved("v2", B) and not state.approved("v2", A)
    assert not state.approved("v3", A)


def test_approving_again_replaces_and_rejecting_removes(spec: Path) -> None:
    record_approvals(spec, {"v1": A, "v2": B}, [])
    state = record_approvals(spec, {"v1": C}, ["v2"])
    assert state.by_name == {"v1": C}
    assert body(approvals_path(spec)) == [f"v1 {C}"]
    assert state.void("v1", A) and not state.void("v1", C) and not state.void("v9", A)


def test_nothing_is_written_when_nothing_changes(spec: Path) -> None:
    record_approvals(spec, {}, ["v1"])
    assert not approvals_path(spec).exists()  # rejecting nothing creates no file
    record_approvals(spec, {"v1": A}, [])
    path = approvals_path(spec)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    record_approvals(spec, {"v1": A}, ["v7"])
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
    state = record_approvals(spec, {}, ["v1"])  # the last one withdrawn: the header stays
    assert state.by_name == {} and body(path) == []


def test_the_file_is_read_leniently_where_it_is_unambiguous(spec: Path) -> None:
    approvals_path(spec).write_text(
        f"# a comment\n\n  v2\t{B}  \nv1 {A}\r\n# another\n", encoding="utf-8"
    )
    assert read_approvals(spec).by_name == {"v1": A, "v2": B}


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("v1", 1, "expected NAME IDENTITY (two fields separated by a space), found 1 field"),
        (f"v1 {A} extra", 1, "found 3 fields"),
        (f"hello world {A}", 1, "found 3 fields"),
        (f"-v1 {A}", 1, "'-v1' is not a video name"),
        (f"vidéo {A}", 1, "'vidéo' is not a video name"),
        (f"  v1   {A[:-1]}", 8, "is not a render identity (64 lowercase hex digits)"),
        (f"v1 {A.upper()}", 4, "is not a render identity"),
        ("<<<<<<< HEAD", 1, "an unresolved merge conflict"),
        (">>>>>>> other", 1, "an unresolved merge conflict"),
    ],
)
def test_a_bad_line_is_located(spec: Path, line: str, column: int, message: str) -> None:
    path = approvals_path(spec)
    path.write_text(f"# header\nv0 {C}\n{line}\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        read_approvals(spec)
    [problem] = caught.value.lines()
    assert problem.startswith(f"{path}:3:{column}: "), problem
    assert message in problem, problem


def test_every_bad_line_is_reported_at_once(spec: Path) -> None:
    path = approvals_path(spec)
    path.write_text(f"x\nv1 {A}\ny z\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        read_approvals(spec)
    assert [line.split(": ")[0] for line in caught.value.lines()] == [f"{path}:1:1", f"{path}:3:3"]


def test_bytes_that_are_not_utf8_are_located() -> None:
    with pytest.raises(SpecError) as caught:
        parse_approvals(f"v1 {A}\nv2 \xff".encode("latin-1"), "x.approvals")
    assert caught.value.lines() == ["x.approvals:2:4: not UTF-8 text"]


def test_a_file_that_does_not_parse_is_never_overwritten(spec: Path) -> None:
    path = approvals_path(spec)
    path.write_text("garbage\n")
    with pytest.raises(SpecError):
        record_approvals(spec, {"v1": A}, [])
    assert path.read_text() == "garbage\n"


def test_bad_requests_are_refused_before_anything_is_read(spec: Path) -> None:
    with pytest.raises(ConfigError, match="not a render identity"):
        record_approvals(spec, {"v1": "abc"}, [])
    with pytest.raises(ConfigError, match="not a video name"):
        record_approvals(spec, {"a b": A}, [])
    with pytest.raises(ConfigError, match="not a video name"):
        record_approvals(spec, {}, ["../x"])
    with pytest.raises(ConfigError, match="both approved and rejected: v1"):
        record_approvals(spec, {"v1": A}, ["v1"])
    assert not approvals_path(spec).exists()


def test_two_lines_for_one_video_approve_both_renders_until_it_is_approved_again(
    spec: Path,
) -> None:
    """What a union merge leaves when two branches approved two renders of a video."""
    path = approvals_path(spec)
    path.write_text(f"v1 {A}\nv2 {B}\nv1 {C}\nv1 {A}\n")
    state = read_approvals(spec)
    assert state.approved("v1", A) and state.approved("v1", C) and not state.approved("v1", B)
    assert not state.void("v1", C)
    record_approvals(spec, {"v2": C}, [])  # another video: both of v1's lines are kept
    assert body(path) == [f"v1 {A}", f"v1 {C}", f"v2 {C}"]
    assert record_approvals(spec, {"v1": B}, []) == Approvals({"v1": B, "v2": C})
    assert body(path) == [f"v1 {B}", f"v2 {C}"]


# --- concurrent writers ---------------------------------------------------------------


def _approve_many(spec: str, worker: int, count: int) -> None:
    for number in range(count):
        identity = f"{worker:032x}{number:032x}"
        record_approvals(Path(spec), {f"w{worker}-{number}": identity}, [])


def test_concurrent_writers_lose_nothing(spec: Path) -> None:
    """Processes that read-modify-write at once (two tabs, the gallery and the CLI)."""
    workers, count = 4, 25
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_approve_many, args=(str(spec), worker, count))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    state = read_approvals(spec)
    assert len(state.by_name) == workers * count
    for worker in range(workers):
        for number in range(count):
            assert state.approved(f"w{worker}-{number}", f"{worker:032x}{number:032x}")
    leftovers = [p.name for p in spec.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# --- git merges -----------------------------------------------------------------------


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed (scripts/system-deps installs it)")
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "welcome.yaml").write_text("version: 1\n")
    scaffolded = Path(scaffold_init).with_name("gitattributes").read_text()
    (root / ".gitattributes").write_text(scaffolded)
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    return root


def commit(root: Path, message: str) -> None:
    assert git(root, "add", "-A").returncode == 0
    done = git(root, "commit", "-q", "-m", message)
    assert done.returncode == 0, done.stderr


def merge_two_branches(root: Path, ours: dict[str, str], theirs: dict[str, str]) -> int:
    spec = root / "specs" / "welcome.yaml"
    record_approvals(spec, {f"v{n:02}": A for n in range(0, 40, 2)}, [])  # every other one
    commit(root, "approvals")
    git(root, "checkout", "-q", "-b", "theirs")
    record_approvals(spec, theirs, [])
    commit(root, "theirs")
    git(root, "checkout", "-q", "main")
    record_approvals(spec, ours, [])
    commit(root, "ours")
    return git(root, "merge", "-q", "--no-edit", "theirs").returncode


def test_branches_approving_videos_apart_merge_cleanly_with_plain_git(repo: Path) -> None:
    (repo / ".gitattributes").unlink()  # no attribute
    assert merge_two_branches(repo, {"v03": B}, {"v31": C}) == 0
    state = read_approvals(repo / "specs" / "welcome.yaml")
    assert state.approved("v03", B) and state.approved("v31", C) and state.approved("v30", A)
    assert body(repo / "specs" / "welcome.approvals") == sorted(
        body(repo / "specs" / "welcome.approvals")
    )


def test_adjacent_approvals_merge_by_union_with_the_scaffolded_attributes(repo: Path) -> None:
    """Lines added at one place (between v02 and v04) conflict in a plain merge;
    ``merge=union`` keeps both."""
    assert merge_two_branches(repo, {"v03": B}, {"v031": C}) == 0
    state = read_approvals(repo / "specs" / "welcome.yaml")
    assert state.approved("v03", B) and state.approved("v031", C) and state.approved("v04", A)
    assert "<<<<<<<" not in (repo / "specs" / "welcome.approvals").read_text()


def test_a_union_of_two_renders_of_one_video_keeps_both_and_reads(repo: Path) -> None:
    assert merge_two_branches(repo, {"v03": B}, {"v03": C}) == 0
    state = read_approvals(repo / "specs" / "welcome.yaml")
    assert state.approved("v03", B) and state.approved("v03", C)


def test_without_the_attribute_adjacent_lines_conflict_and_the_markers_are_located(
    repo: Path,
) -> None:
    (repo / ".gitattributes").unlink()
    assert merge_two_branches(repo, {"v03": B}, {"v031": C}) != 0
    with pytest.raises(SpecError) as caught:
        read_approvals(repo / "specs" / "welcome.yaml")
    assert "an unresolved merge conflict" in caught.value.lines()[0]


def test_two_branches_that_each_create_the_file_merge_by_union(repo: Path) -> None:
    spec = repo / "specs" / "welcome.yaml"
    commit(repo, "spec")
    git(repo, "checkout", "-q", "-b", "theirs")
    record_approvals(spec, {"v2": C}, [])
    commit(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    record_approvals(spec, {"v1": B}, [])
    commit(repo, "ours")
    assert git(repo, "merge", "-q", "--no-edit", "theirs").returncode == 0
    state = read_approvals(spec)
    assert state.by_name == {"v1": B, "v2": C}
