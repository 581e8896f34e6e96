"""`reelform init`: a repository that validates and plans as it is, a CI workflow
that comments plans and applies on main, and nothing overwritten by surprise."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reelform.cli import main
from reelform.scaffold import FILES, SCHEMA
from reelform.speclang.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = sorted([*FILES, SCHEMA])


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    target = tmp_path / "videos"
    assert main(["init", str(target)]) == 0
    capsys.readouterr()
    monkeypatch.chdir(target)
    return target


def files_below(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_init_writes_the_scaffold(repo: Path) -> None:
    assert files_below(repo) == EXPECTED
    assert json.loads((repo / SCHEMA).read_text()) == json_schema()
    spec = (repo / "specs/welcome.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=../schemas/reelform.schema.json\n")
    assert "provider: local" in spec
    ignored = (repo / ".gitignore").read_text().split()
    for pattern in ("out/", "preview/", ".reelform/", "*.lock.journal", "*.lock.pid"):
        assert pattern in ignored


def test_the_new_repository_validates_and_plans(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 0
    assert "specs/welcome.yaml: 2 videos" in capsys.readouterr().out
    assert main(["plan", "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert "+ create    welcome-1" in out and "welcome-3" not in out  # row 3 is inactive
    assert main(["plan", "--format", "markdown"]) == 0
    assert "## reelform plan" in capsys.readouterr().out


def workflow(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(repo / ".github/workflows/reelform.yml")
    return data


def commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflow_comments_plans_on_pull_requests(repo: Path) -> None:
    flow = workflow(repo)
    assert {"pull_request", "push"} <= set(flow["on"])
    assert flow["on"]["push"]["branches"] == ["main"]
    plan = flow["jobs"]["plan"]
    assert "pull_request" in plan["if"]
    assert plan["permissions"]["pull-requests"] == "write"
    assert "reelform plan specs --format markdown > reelform-plan.md" in commands(plan)
    assert 'cat reelform-plan.md >> "$GITHUB_STEP_SUMMARY"' in commands(plan)
    comment = next(
        s
        for s in plan["steps"]
        if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment")
    )
    assert comment["with"]["path"] == "reelform-plan.md"
    # A fork's token cannot comment: the plan is in the job summary for those.
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert f"reelform=={__import__('reelform').__version__}" in flow["env"]["REELFORM"]


def test_the_workflow_applies_on_main_and_commits_the_lockfiles(repo: Path) -> None:
    apply = workflow(repo)["jobs"]["apply"]
    assert "refs/heads/main" in apply["if"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert apply["concurrency"]["group"]
    assert apply["permissions"]["contents"] == "write"
    step = next(s for s in apply["steps"] if "reelform apply" in s.get("run", ""))
    assert "--yes" in step["run"]
    # The run stops itself well before the job's limit, so the lockfiles get committed.
    timeout = re.search(r"--timeout (\d+)m", step["run"])
    assert timeout and int(timeout.group(1)) <= apply["timeout-minutes"] - 15
    assert step["env"] == {
        "JOGG_API_KEY": "${{ secrets.JOGG_API_KEY }}",
        "MIRAKO_API_KEY": "${{ secrets.MIRAKO_API_KEY }}",
    }
    commit = next(s for s in apply["steps"] if "git commit" in s.get("run", ""))
    assert "[skip ci]" in commit["run"] and "git push" in commit["run"]
    assert commit["if"] == "always()"  # a failed apply's submitted jobs must be recorded


def test_init_refuses_to_overwrite_and_lists_what_is_in_the_way(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = repo / "specs/welcome.yaml"
    spec.write_text("# mine\n")
    assert main(["init", "."]) == 1
    err = capsys.readouterr().err
    assert f"{len(EXPECTED)} files exist already (use --force to overwrite)" in err
    assert "specs/welcome.yaml" in err
    assert spec.read_text() == "# mine\n"
    assert main(["init", ".", "--force"]) == 0
    assert "overwrote" in capsys.readouterr().out
    assert spec.read_text() != "# mine\n"


def test_init_into_a_partly_filled_folder_refuses_only_for_clashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "1 file exists already" in err and ".gitignore" in err
    assert not (tmp_path / "specs").exists()  # all or nothing


def test_the_scaffold_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["reelform"]
    for name in FILES.values():
        relative = f"scaffold/{name}"
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
