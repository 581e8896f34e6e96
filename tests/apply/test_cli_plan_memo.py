"""`reelform plan` and the expansion memo (memo/), end to end: real apply against
the simulator, real state (a lockfile, or PostgreSQL), the CLI itself.

A second plan of an unchanged spec is served by the memo (the debug line says so,
and in a process of its own the module that expands specs is never imported);
an edited data row is planned in full and shows its change; a damaged, foreign or
unwritable cache changes nothing of the plan and is never an error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from applykit import InProcess, Project, Result, SimServer

from reelform.memo.serve import DEBUG_VARIABLE
from reelform.memo.store import CACHE_FOLDER, MemoFile

BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")


def applied(cli: InProcess, project: Project, count: int = 3, *, forget: bool = True) -> None:
    project.jogg_spec(count)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    if forget:
        forget_memos(project)


def forget_memos(project: Project) -> None:
    """The memos an apply leaves (in the cache, and in the state database): gone, so
    that the next plan is the full path's."""
    import shutil

    import psycopg

    shutil.rmtree(project.root / ".reelform" / "cache", ignore_errors=True)
    url = os.environ.get("REELFORM_STATE_URL")
    if url:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM reelform.plan_memos")


def plan(cli: InProcess, *args: str) -> Result:
    result = cli("plan", "--detailed-exitcode", *args, "spec.yaml")
    assert result.code in (0, 2), result.text
    assert "Traceback" not in result.err, result.err
    return result


def memo_file(project: Project) -> Path:
    return MemoFile.of(project.root / "spec.yaml").path


@BOTH_BACKENDS
def test_a_second_plan_is_served_by_the_memo_and_an_edited_row_is_planned_in_full(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    applied(cli, project, forget=False)
    cli.use({DEBUG_VARIABLE: "1"})
    assert memo_file(project).is_file()  # the apply left it
    assert memo_file(project).parent == project.root.resolve() / CACHE_FOLDER
    memo_file(project).unlink()
    first = plan(cli)
    assert first.code == 0 and "= 3 unchanged" in first.out, first.text
    if "REELFORM_STATE_URL" in os.environ:  # the apply left it in the database too
        assert "reelform memo: memo of spec.yaml from the state database" in first.err
        assert "reelform memo: hit" in first.err, first.err
    else:
        assert "reelform memo: saved spec.yaml" in first.err, first.err
    assert memo_file(project).is_file()

    second = plan(cli)
    assert "reelform memo: hit spec.yaml: 3 unchanged, not expanded" in second.err, second.err
    assert (second.code, second.out) == (first.code, first.out)
    as_json = plan(cli, "--json")
    assert "reelform memo: hit" in as_json.err
    assert json.loads(as_json.out)["summary"]["unchanged"] == 3

    data = project.root / "data" / "spec.csv"
    data.write_text(data.read_text().replace("Hello number 2", "Hello number 2!"))
    edited = plan(cli)
    assert "data file data/spec.csv changed" in edited.err, edited.err
    assert edited.code == 2, edited.text
    assert re.search(r"~ replace +v2 .*changed: voice.script", edited.out), edited.out
    assert "= 2 unchanged" in edited.out
    assert "reelform memo: saved" not in edited.err  # not all unchanged: nothing to keep

    mark = sim.mark()
    applying = cli("apply", "--yes", "spec.yaml")
    assert applying.code == 0 and "reelform memo: saved spec.yaml after apply" in applying.err
    assert len(sim.creates(mark)) == 1  # v2 only
    again = plan(cli)
    assert "reelform memo: hit" in again.err and again.code == 0, again.text


def test_another_clone_finds_the_memo_an_apply_left_in_the_database(
    cli: InProcess, project: Project, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CI applied; another checkout with the outputs (a runner's kept workspace, say)
    but no cache of its own plans from the memo in the state database."""
    import shutil

    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    cli.use({"REELFORM_STATE_URL": pg_url})
    applied(cli, project, 4, forget=False)
    other = tmp_path_factory.mktemp("other") / "repo"
    shutil.copytree(project.root, other, ignore=shutil.ignore_patterns(".reelform"))
    cli.use({DEBUG_VARIABLE: "1"})
    os.chdir(other)
    served = plan(cli)
    assert "memo of spec.yaml from the state database" in served.err, served.err
    assert "reelform memo: hit spec.yaml: 4 unchanged" in served.err, served.err
    assert served.code == 0
    assert MemoFile.of(other / "spec.yaml").path.is_file()  # kept here for next time
    # A memo in the database whose inputs are not this clone's is a miss, never wrong.
    (other / "data" / "spec.csv").write_text(
        (other / "data" / "spec.csv").read_text().replace("number 3", "number 3!")
    )
    MemoFile.of(other / "spec.yaml").path.unlink()
    edited = plan(cli)
    assert "data file data/spec.csv changed" in edited.err, edited.err
    assert edited.code == 2 and "replace" in edited.out, edited.text


DRIVER = """\
import sys
from reelform.cli import main
code = main(["plan", "--detailed-exitcode", "spec.yaml"])
print("expanded" if "reelform.speclang.expand" in sys.modules else "not expanded")
sys.exit(code)
"""


@BOTH_BACKENDS
def test_a_plan_served_by_the_memo_does_not_even_import_the_expansion(
    cli: InProcess, project: Project, sim: SimServer
) -> None:
    applied(cli, project)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", DRIVER],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **sim.env()},
        )

    cold, warm = run(), run()
    assert cold.returncode == 0, cold.stdout + cold.stderr
    assert cold.stdout.endswith("\nexpanded\n"), cold.stdout
    assert warm.returncode == 0, warm.stdout + warm.stderr
    assert warm.stdout.endswith("\nnot expanded\n"), warm.stdout
    assert warm.stdout.replace("not expanded\n", "") == cold.stdout.replace("expanded\n", "")


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot json at all")


def damage_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


def damage_version(path: Path) -> None:
    document = json.loads(path.read_bytes())
    document["version"] = 999
    path.write_text(json.dumps(document))


def damage_shape(path: Path) -> None:
    document = json.loads(path.read_bytes())
    document["inputs"]["data"] = "data/spec.csv"
    document["value"]["count"] = "3"
    path.write_text(json.dumps(document))


def damage_value(path: Path) -> None:
    """A well-formed memo whose value is wrong (as if the state had been forged)."""
    document = json.loads(path.read_bytes())
    document["value"]["videos"] = "0" * 64
    path.write_text(json.dumps(document))


def damage_other_spec(path: Path) -> None:
    document = json.loads(path.read_bytes())
    document["spec"] = "other.yaml"
    path.write_text(json.dumps(document))


def damage_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE = [
    damage_garbage,
    damage_truncated,
    damage_empty,
    damage_version,
    damage_shape,
    damage_value,
    damage_other_spec,
    damage_folder,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.removeprefix("damage_"))
def test_a_damaged_memo_is_a_miss_and_the_same_plan(
    cli: InProcess, project: Project, damage: Callable[[Path], None]
) -> None:
    applied(cli, project)
    cli.use({DEBUG_VARIABLE: "1"})
    first = plan(cli)
    assert "saved" in first.err and memo_file(project).is_file()
    damage(memo_file(project))
    damaged = plan(cli)
    assert "reelform memo: miss" in damaged.err, damaged.err
    assert (damaged.code, damaged.out) == (first.code, first.out)
    if damage is not damage_folder:  # planned in full, and remembered again
        assert "reelform memo: saved" in damaged.err
        assert "reelform memo: hit" in plan(cli).err


def test_an_unwritable_cache_is_no_error_and_the_same_plan(
    cli: InProcess, project: Project
) -> None:
    applied(cli, project)
    cli.use({DEBUG_VARIABLE: "1"})
    cache = project.root / ".reelform" / "cache"
    cache.parent.mkdir(exist_ok=True)
    cache.write_text("a file where the cache folder would be: nothing can be written below it")
    first, second = plan(cli), plan(cli)
    for result in (first, second):
        assert result.code == 0 and "= 3 unchanged" in result.out, result.text
        assert "cannot save spec.yaml" in result.err and "hit" not in result.err, result.err
    assert first.out == second.out
    cache.unlink()
    assert "saved" in plan(cli).err and "hit" in plan(cli).err


def test_a_plan_saved_from_the_memo_is_the_full_plan_and_applies(
    cli: InProcess, project: Project, sim: SimServer
) -> None:
    applied(cli, project)
    cli.use({DEBUG_VARIABLE: "1"})
    full = plan(cli, "--out", "full.json")
    assert "saved spec.yaml" in full.err
    served = plan(cli, "--out", "served.json")
    assert "reelform memo: hit" in served.err, served.err
    assert (project.root / "served.json").read_bytes() == (project.root / "full.json").read_bytes()
    mark = sim.mark()
    result = cli("apply", "--yes", "served.json")
    assert result.code == 0, result.text
    assert sim.posts(mark) == []


@BOTH_BACKENDS
def test_a_state_no_longer_unchanged_is_planned_in_full_from_the_state_the_memo_read(
    cli: InProcess, project: Project, sim: SimServer
) -> None:
    applied(cli, project)
    cli.use({DEBUG_VARIABLE: "1"})
    assert "saved" in plan(cli).err
    (project.root / "out" / "spec" / "v3.mp4").unlink()
    missing = plan(cli)
    assert "miss spec.yaml: the state is not all unchanged" in missing.err, missing.err
    assert missing.code == 2 and re.search(r"download +v3", missing.out), missing.out
    assert "= 2 unchanged" in missing.out


def test_a_run_of_several_specs_is_served_when_every_spec_is(
    cli: InProcess, project: Project, sim: SimServer
) -> None:
    project.jogg_spec(2, "a.yaml", prefix="a")
    project.jogg_spec(2, "b.yaml", prefix="b")
    assert cli("apply", "--yes", "a.yaml", "b.yaml").code == 0
    forget_memos(project)
    cli.use({DEBUG_VARIABLE: "1"})
    first = cli("plan", "--detailed-exitcode", "a.yaml", "b.yaml")
    assert "saved a.yaml" in first.err and "saved b.yaml" in first.err, first.err
    both = cli("plan", "--detailed-exitcode", "a.yaml", "b.yaml")
    assert "hit a.yaml" in both.err and "hit b.yaml" in both.err, both.err
    assert (both.code, both.out) == (first.code, first.out) == (0, first.out)
    # One spec changed: the whole run is planned in full, the other spec too.
    data = project.root / "data" / "b.csv"
    data.write_text(data.read_text().replace("Hello number 1", "Hi number 1"))
    mixed = cli("plan", "--detailed-exitcode", "a.yaml", "b.yaml")
    assert "hit a.yaml" in mixed.err and "miss b.yaml" in mixed.err, mixed.err
    assert mixed.code == 2 and re.search(r"~ replace +b1 ", mixed.out), mixed.out
    assert "a.yaml  (lock: a.lock)\n  = 2 unchanged" in mixed.out


def test_specs_sharing_an_output_folder_are_planned_in_full(
    cli: InProcess, project: Project, sim: SimServer
) -> None:
    project.jogg_spec(2, "a.yaml", prefix="a")
    b = project.jogg_spec(2, "b.yaml", prefix="b")
    b.write_text(b.read_text().replace("output: out/b", "output: out/a"))
    assert cli("apply", "--yes", "a.yaml", "b.yaml").code == 0
    forget_memos(project)
    cli.use({DEBUG_VARIABLE: "1"})
    first = cli("plan", "--detailed-exitcode", "a.yaml", "b.yaml")
    assert first.code == 0 and "saved b.yaml" in first.err, first.text
    again = cli("plan", "--detailed-exitcode", "a.yaml", "b.yaml")
    assert "miss b.yaml: shares its output folder" in again.err, again.err
    assert (again.code, again.out) == (first.code, first.out)
    # Alone, each is served: the clash check needs both specs' names, and has them.
    assert "hit b.yaml" in cli("plan", "b.yaml").err
    # A name that clashes now is an input changed, planned in full, and reported.
    b.write_text(b.read_text().replace('name: "b{{ row.id }}"', 'name: "a{{ row.id }}"'))
    clash = cli("plan", "a.yaml", "b.yaml")
    assert clash.code == 1 and "is also made by a.yaml" in clash.err, clash.text


def test_an_apply_of_several_specs_saves_their_memos_over_one_connection(
    cli: InProcess, project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every spec of a repository shares its database: the memos go in one write."""
    import psycopg

    from reelform.state.pg import memos

    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    cli.use({"REELFORM_STATE_URL": pg_url})
    project.jogg_spec(2, "first.yaml", prefix="a")
    project.jogg_spec(3, "second.yaml", prefix="b")
    writes: list[int] = []
    real = memos.save_all

    def counted(config, documents):  # type: ignore[no-untyped-def]
        writes.append(len(documents))
        real(config, documents)

    monkeypatch.setattr(memos, "save_all", counted)
    result = cli("apply", "--yes", "first.yaml", "second.yaml")
    assert result.code == 0, result.text
    assert writes == [2]  # one write of both memos
    with psycopg.connect(pg_url) as conn:
        saved = conn.execute(
            "SELECT s.path, m.document -> 'value' ->> 'count' FROM reelform.plan_memos m"
            " JOIN reelform.specs s ON s.id = m.spec_id ORDER BY s.path"
        ).fetchall()
    assert saved == [("first.yaml", "2"), ("second.yaml", "3")]
