"""One spec, one lockfile: a spec reached through a symlink is the same spec."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reelform.cli import main

# No `name:`: the default name (the file's stem) names the output folder.
SPEC = """
version: 1
provider: local
output: out
data: {people: data/people.csv}
defaults: {avatar: {id: 1}, voice: {voice_id: en}}
videos:
  - name: "hi-{{ row.id }}"
    for_each: people
    voice: {script: "{% include 'hello.txt.j2' %} {{ spec.name }}"}
"""


@pytest.fixture
def project(tree):  # type: ignore[no-untyped-def]
    """specs/welcome.yaml with its data and templates beside it."""
    tree.write("specs/welcome.yaml", SPEC)
    tree.write("specs/data/people.csv", "id,name\n1,Ann\n2,Bob\n")
    tree.write("specs/templates/hello.txt.j2", "Hello {{ row.name }}")
    return tree


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def applied(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    code, out, err = run(capsys, "apply", spec, "--yes")
    assert code == 0, out + err
    assert "2 completed" in out


def test_plan_through_a_symlink_after_apply_through_the_real_path(project, capsys) -> None:
    os.symlink("welcome.yaml", "specs/current.yaml")
    applied(capsys, "specs/welcome.yaml")
    code, out, err = run(capsys, "plan", "specs/current.yaml", "--detailed-exitcode")
    assert (code, err) == (0, ""), out
    assert "(lock: specs/welcome.lock)" in out and "create" not in out
    assert not Path("specs/current.lock").exists()


def test_apply_through_a_symlink_then_plan_through_the_real_path(project, capsys) -> None:
    os.symlink("welcome.yaml", "specs/current.yaml")
    applied(capsys, "specs/current.yaml")
    assert sorted(os.listdir("specs/out")) == ["hi-1.mp4", "hi-2.mp4"]
    assert Path("specs/welcome.lock").exists() and not Path("specs/current.lock").exists()
    assert run(capsys, "plan", "specs/welcome.yaml", "--detailed-exitcode")[0] == 0


def test_a_symlink_in_another_folder_keeps_the_real_files_paths(project, capsys) -> None:
    """Data, templates and output stay relative to the real file's folder, so the
    lockfile's relative paths mean the same files whichever way the spec is reached."""
    Path("elsewhere").mkdir()
    os.symlink(os.path.join("..", "specs", "welcome.yaml"), "elsewhere/current.yaml")
    code, out, err = run(capsys, "validate", "elsewhere/current.yaml")
    assert (code, err) == (0, ""), err
    applied(capsys, "specs/welcome.yaml")
    code, out, _ = run(capsys, "plan", "elsewhere/current.yaml", "--detailed-exitcode")
    assert code == 0, out
    assert "(lock: specs/welcome.lock)" in out
    assert not Path("elsewhere/out").exists() and not list(Path("elsewhere").glob("*.lock"))


def test_problems_are_reported_at_the_path_as_typed(project, capsys) -> None:
    os.symlink("welcome.yaml", "specs/current.yaml")
    project.write("specs/welcome.yaml", SPEC.replace("provider: local", "provider: lokal"))
    code, _, err = run(capsys, "validate", "specs/current.yaml")
    assert code == 1 and err.startswith("specs/current.yaml:")


def test_lock_repair_through_a_symlink_repairs_the_real_lockfile(project, capsys) -> None:
    os.symlink("welcome.yaml", "specs/current.yaml")
    project.write("specs/welcome.lock.journal", b'GARBAGE\n{"k":"x","s":"videos","v":{}}\n')
    code, out, _ = run(capsys, "lock", "repair", "specs/current.yaml")
    assert code == 0 and out.startswith("specs/welcome.lock.journal:1: dropped a line")
    assert Path("specs/welcome.lock").exists() and not Path("specs/current.lock").exists()
