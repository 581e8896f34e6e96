"""`reelform init`: a repository that validates and plans as it is, a CI workflow
that comments plans and applies on main with a pinned reelform, and nothing
overwritten by surprise."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import reelform.scaffold
from reelform.cli import main
from reelform.scaffold import BUILT_FROM, FILES, SCHEMA, WORKFLOW, Origin, running_origin
from reelform.scaffold.pinned import ACTION_PLACEHOLDER
from reelform.speclang.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = sorted([*FILES, SCHEMA])
COMMIT = "0123456789abcdef0123456789abcdef01234567"
GIT = f"git+https://github.com/acme/reelform@{COMMIT}"
SHA256 = "ab" * 32
WHEEL = f"https://pypi.acme.example/packages/reelform-0.2.0-py3-none-any.whl#sha256={SHA256}"


@pytest.fixture(autouse=True)
def unknown_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' reelform (a clone, maybe with a remote) is no source to pin by default."""
    monkeypatch.setattr(reelform.scaffold, "running_origin", lambda: Origin(None, None))


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    target = tmp_path / "videos"
    assert main(["init", str(target), "--install", GIT]) == 0
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
    for pattern in (
        "out/",
        "preview/",
        ".reelform/",
        "*.lock.journal",
        "*.lock.pid",
        "*.approvals.flock",
    ):
        assert pattern in ignored
    attributes = (repo / ".gitattributes").read_text().splitlines()
    assert "*.approvals merge=union" in attributes


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
    data: dict[str, Any] = YAML(typ="safe").load(repo / WORKFLOW)
    return data


def action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ROOT / "action.yml")
    return data


def reelform_step(job: dict[str, Any]) -> dict[str, Any]:
    """The job's one step that runs reelform: the reelform action, pinned."""
    [step] = [s for s in job["steps"] if "reelform" in s.get("uses", "")]
    assert isinstance(step, dict)
    return step


def action_step(name: str) -> dict[str, Any]:
    steps = action()["runs"]["steps"]
    [step] = [s for s in steps if name in s.get("name", "") or name in s.get("uses", "")]
    assert isinstance(step, dict)
    return step


def test_the_workflow_comments_plans_on_pull_requests(repo: Path) -> None:
    flow = workflow(repo)
    assert {"pull_request", "push"} <= set(flow["on"])
    assert flow["on"]["push"]["branches"] == ["main"]
    plan = flow["jobs"]["plan"]
    assert "pull_request" in plan["if"]
    assert plan["permissions"]["pull-requests"] == "write"
    step = reelform_step(plan)
    assert step["uses"] == f"acme/reelform@{COMMIT}"
    assert step["with"]["command"] == "plan" and step["with"]["specs"] == "specs"
    # The action posts the markdown plan (scripts/action.py `run` writes it: tests/release).
    comment = action_step("sticky-pull-request-comment")
    assert comment["uses"].startswith("marocchino/sticky-pull-request-comment@")
    assert comment["with"]["path"] == "${{ steps.run.outputs.plan }}"
    assert action_step("reelform ")["id"] == "run"
    # A fork's token cannot comment: the plan is in the job summary for those.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert "inputs.command == 'plan'" in comment["if"]


def test_only_the_apply_job_gets_the_provider_keys(repo: Path) -> None:
    text = (repo / WORKFLOW).read_text()
    jobs = workflow(repo)["jobs"]
    assert "secrets." not in json.dumps(jobs["plan"])
    assert "secrets." not in json.dumps({k: v for k, v in workflow(repo).items() if k != "jobs"})
    apply = reelform_step(jobs["apply"])
    assert apply["env"] == {
        "JOGG_API_KEY": "${{ secrets.JOGG_API_KEY }}",
        "MIRAKO_API_KEY": "${{ secrets.MIRAKO_API_KEY }}",
    }
    assert text.count("secrets.") == 2


def test_the_workflow_applies_on_main_and_commits_the_lockfiles(repo: Path) -> None:
    apply = workflow(repo)["jobs"]["apply"]
    assert "refs/heads/main" in apply["if"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert apply["concurrency"]["group"]
    assert apply["permissions"]["contents"] == "write"
    step = reelform_step(apply)
    assert step["uses"] == f"acme/reelform@{COMMIT}"
    assert step["with"]["command"] == "apply"  # the action adds --yes (tests/release)
    assert step["with"].get("commit-lockfiles", "true") == "true"
    # The run stops itself well before the job's limit, so the lockfiles get committed.
    timeout = re.search(r"--timeout (\d+)m", step["with"]["args"])
    assert timeout and int(timeout.group(1)) <= apply["timeout-minutes"] - 15
    # The action commits them, also after a failed apply: its submitted jobs must be
    # recorded (the commit itself: tests/release/test_action.py).
    commit = action_step("Commit the lockfiles")
    assert commit["if"].startswith("always() && ")
    assert "inputs.command == 'apply'" in commit["if"]
    assert action()["inputs"]["commit-lockfiles"]["default"] == "true"


def test_the_workflow_installs_a_pinned_reelform_never_a_package_name(repo: Path) -> None:
    text = (repo / WORKFLOW).read_text()
    assert "pip install" not in text and "reelform==" not in text
    flow = workflow(repo)
    # A GitHub repository at a commit: the action's own checkout is the pin.
    assert flow["env"]["REELFORM_INSTALL"] == ""
    for job in flow["jobs"].values():
        assert reelform_step(job)["with"]["install"] == "${{ env.REELFORM_INSTALL }}"
    assert f'pipx install "{GIT}"' in (repo / "README.md").read_text()
    # Every other action is pinned to a commit id too.
    for job in flow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step


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


def init(target: Path, *options: str) -> dict[str, Any]:
    assert main(["init", str(target), *options]) == 0
    return workflow(target)


def test_a_wheel_source_is_installed_by_the_action_given(tmp_path: Path) -> None:
    action_ref = f"acme/reelform@{'c' * 40}"
    flow = init(tmp_path, "--install", WHEEL, "--action", action_ref)
    assert flow["env"]["REELFORM_INSTALL"] == WHEEL
    assert {reelform_step(job)["uses"] for job in flow["jobs"].values()} == {action_ref}
    assert f'pipx install "{WHEEL}"' in (tmp_path / "README.md").read_text()


def test_a_git_source_elsewhere_is_installed_by_the_github_action(tmp_path: Path) -> None:
    source = f"git+ssh://git@git.acme.example/tools/reelform.git@{COMMIT}"
    flow = init(tmp_path, "--install", source, "--action", f"acme/reelform@{COMMIT}")
    assert flow["env"]["REELFORM_INSTALL"] == source


def test_an_unknown_origin_leaves_placeholders_that_fail_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = init(tmp_path)
    captured = capsys.readouterr()
    assert "CHANGE ME" in captured.err and "--install SPEC" in captured.err
    assert flow["env"]["REELFORM_INSTALL"] == ""
    for job in flow["jobs"].values():
        assert reelform_step(job)["uses"] == ACTION_PLACEHOLDER
    text = (tmp_path / WORKFLOW).read_text()
    assert text.count("CHANGE ME") == 2 and "pip install" not in text
    readme = (tmp_path / "README.md").read_text()
    assert 'pipx install "<a pinned source' in readme and "pip install reelform" not in readme


def test_init_pins_the_reelform_it_runs_from_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelform.scaffold.pinned import parse

    monkeypatch.setattr(reelform.scaffold, "running_origin", lambda: Origin.of(parse(GIT)))
    flow = init(tmp_path)
    assert {reelform_step(job)["uses"] for job in flow["jobs"].values()} == {
        f"acme/reelform@{COMMIT}"
    }
    assert flow["env"]["REELFORM_INSTALL"] == ""


def test_a_release_build_knows_the_commit_it_was_built_from(tmp_path: Path) -> None:
    """A wheel from any index: the release workflow recorded its action in the package."""
    package = tmp_path / "site-packages" / "reelform"
    (package / "scaffold").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    assert running_origin(package) == Origin(None, None)
    (package / "scaffold" / BUILT_FROM).write_text(
        json.dumps({"action": f"acme/reelform@{COMMIT}"})
    )
    origin = running_origin(package)
    assert origin == Origin(None, f"acme/reelform@{COMMIT}")
    assert (origin.install, origin.tool) == ("", GIT)
    (package / "scaffold" / BUILT_FROM).write_text(json.dumps({"action": "acme/reelform@main"}))
    assert running_origin(package) == Origin(None, None)


@pytest.mark.parametrize(
    ("option", "value", "why"),
    [
        ("--install", "reelform", "is not a pinned source"),
        ("--install", "reelform==0.1.0", "is not a pinned source"),
        (
            "--install",
            "git+https://github.com/acme/reelform@main",
            "is not pinned to a commit (a branch or a tag can move)",
        ),
        (
            "--install",
            "git+https://github.com/acme/reelform@v0.2.0",
            "is not pinned to a commit (a branch or a tag can move)",
        ),
        (
            "--install",
            "git+https://github.com/acme/reelform",
            "is not pinned to a commit (a branch or a tag can move)",
        ),
        ("--install", WHEEL.split("#")[0], "does not end in #sha256=<64 hex>"),
        ("--install", WHEEL.replace("https:", "http:"), "is not an https URL of a wheel"),
        ("--install", WHEEL.replace(SHA256, "ab" * 20), "does not end in #sha256=<64 hex>"),
        ("--action", "acme/reelform@v1", "is not a GitHub action at a commit"),
        ("--action", "acme/reelform", "is not a GitHub action at a commit"),
    ],
)
def test_init_refuses_a_source_that_is_not_pinned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, why: str
) -> None:
    assert main(["init", str(tmp_path), option, value]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"init: {option}: {value!r} {why}; give ")
    if option == "--install":  # what a pinned source looks like
        assert "git+https://github.com/OWNER/reelform@<40-hex commit id>" in line
        assert "reelform-X.Y.Z-py3-none-any.whl#sha256=<64 hex>" in line
    else:
        assert line.endswith("give OWNER/REPO@<40-hex commit id>")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_token_in_a_source_is_refused_and_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"git+https://bob:ghp_secret@github.com/acme/reelform@{COMMIT}"
    assert main(["init", str(tmp_path), "--install", source]) == 1
    err = capsys.readouterr().err
    assert "has credentials in it" in err and "ghp_secret" not in err


@pytest.mark.parametrize("options", [[], ["--install", GIT], ["--install", WHEEL]])
def test_the_workflow_is_valid_for_github(tmp_path: Path, options: list[str]) -> None:
    """Against GitHub's published workflow schema (vendored in check-jsonschema)."""
    assert main(["init", str(tmp_path), *options]) == 0
    schema = ["--builtin-schema", "vendor.github-workflows"]
    argv = [sys.executable, "-m", "check_jsonschema", *schema, str(tmp_path / WORKFLOW)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_init_scaffolds_reelform_toml_with_the_postgres_backend_commented_out(
    tmp_path: Path,
) -> None:
    """The repository's root marker: lockfiles stay the state until a person chooses."""
    from reelform.scaffold import contents, write
    from reelform.state.backend import read_config, state_config

    write(tmp_path, contents(Origin.of(None)))
    toml = tmp_path / "reelform.toml"
    assert '# backend = "postgres"' in toml.read_text()
    assert read_config(toml)[0] == "lockfile"
    env = {"REELFORM_STATE_URL": "postgresql://x"}
    config = state_config(tmp_path / "specs/welcome.yaml", env)
    assert config.backend == "lockfile" and config.root == tmp_path.resolve()
