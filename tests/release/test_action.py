"""The GitHub action (action.yml, scripts/action.py) and the project's workflows:
valid for GitHub, pinned, injection-safe, and doing what they say when run here."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

from reelform.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "action.py"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED_USES = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")


def load_action_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reelform_action_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ROOT / "action.yml")
    return data


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    return subprocess.run([*argv, *map(str, paths)], capture_output=True, text=True, timeout=120)


def test_the_action_and_the_workflows_are_valid_for_github() -> None:
    """GitHub's published schemas, vendored in check-jsonschema (no network)."""
    done = check_jsonschema("vendor.github-actions", ROOT / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release.yml" in [w.name for w in WORKFLOWS]
    done = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_action_is_caught_by_that_check(tmp_path: Path) -> None:
    broken = tmp_path / "action.yml"
    broken.write_text((ROOT / "action.yml").read_text().replace("using: composite", "using: x"))
    assert check_jsonschema("vendor.github-actions", broken).returncode == 1


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [("action.yml", s) for s in action()["runs"]["steps"]]
    for path in WORKFLOWS:
        flow = YAML(typ="safe").load(path)
        steps += [(path.name, s) for job in flow["jobs"].values() for s in job.get("steps", [])]
    return steps


def test_every_action_used_is_pinned_to_a_commit() -> None:
    uses = [(where, s["uses"]) for where, s in all_steps() if "uses" in s]
    assert uses
    assert [u for u in uses if not PINNED_USES.fullmatch(u[1])] == []


def test_no_expression_is_pasted_into_a_shell_line() -> None:
    """Inputs, refs and titles reach scripts through env only: none can inject code."""
    runs = [(where, s["run"]) for where, s in all_steps() if "run" in s]
    assert runs
    assert [r for r in runs if "${{" in r[1]] == []


def test_the_action_installs_from_its_own_checkout_and_says_its_inputs() -> None:
    found = action()
    assert found["runs"]["using"] == "composite"
    assert set(found["inputs"]) >= {"command", "specs", "args", "comment", "install"}
    assert all(spec.get("description") for spec in found["inputs"].values())
    script = load_action_script()
    python = "/usr/bin/python3"
    assert script.pip_command("", "", python) == [python, "-m", "pip", "install", str(ROOT)]
    wheel = f"https://files.example/reelform-0.2.0-py3-none-any.whl#sha256={'a' * 64}"
    assert script.pip_command(wheel, "--constraint c.txt", python)[-3:] == [
        "--constraint",
        "c.txt",
        wheel,
    ]
    with pytest.raises(script.InputError, match=r"'reelform==0\.2\.0' is not a pinned source"):
        script.pip_command("reelform==0.2.0", "", python)


@pytest.fixture
def videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = tmp_path / "videos"
    assert main(["init", str(repo)]) == 0
    capsys.readouterr()
    return repo


def step(
    repo: Path, name: str, tmp_path: Path, github: dict[str, str] | None = None, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run one of the action's steps as the runner would: inputs in the environment."""
    files = {k: tmp_path / f"{k.lower()}.txt" for k in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    here = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env = {
        **here,
        **(github or {}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "REELFORM_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(tmp_path),
        **{k: str(v) for k, v in files.items()},
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), name],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    written = {k: v.read_text() if v.exists() else "" for k, v in files.items()}
    return done, written


def test_plan_writes_the_markdown_plan_for_the_summary_and_the_comment(
    videos: Path, tmp_path: Path
) -> None:
    done, written = step(videos, "run", tmp_path, command="plan", specs="specs")
    assert done.returncode == 0, done.stderr
    assert "+ reelform validate specs" in done.stdout
    assert "## reelform plan" in written["GITHUB_STEP_SUMMARY"]
    [output] = written["GITHUB_OUTPUT"].splitlines()
    assert output == f"plan={tmp_path / 'reelform-plan.md'}"
    assert (tmp_path / "reelform-plan.md").read_text() == written["GITHUB_STEP_SUMMARY"]
    assert "welcome-1" in written["GITHUB_STEP_SUMMARY"]


def test_a_broken_spec_fails_the_step_and_inputs_are_never_shell(
    videos: Path, tmp_path: Path
) -> None:
    spec = videos / "specs" / "welcome.yaml"
    spec.write_text(spec.read_text().replace("avatar:", "avatr:"))
    done, written = step(videos, "run", tmp_path, command="plan")
    assert done.returncode == 1 and "unknown key 'avatr'" in done.stderr
    assert written["GITHUB_OUTPUT"] == ""  # no plan to comment
    done, _ = step(videos, "run", tmp_path, command="validate", args="$(touch pwned); touch x")
    assert done.returncode != 0
    assert not (videos / "pwned").exists() and not (videos / "x").exists()
    done, _ = step(videos, "run", tmp_path, command="deploy")
    assert (done.returncode, done.stderr) == (
        1,
        "error: command: 'deploy': give one of validate, plan, apply\n",
    )
    done, _ = step(videos, "install", tmp_path, install="reelform==0.1.0")
    assert done.returncode == 1
    assert done.stderr.startswith("error: install: 'reelform==0.1.0' is not a pinned source")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow
def test_apply_renders_then_the_lockfiles_are_committed_and_pushed(
    videos: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(videos, "init", "-q", "-b", "main")
    git(videos, "add", ".")
    git(videos, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "videos")
    git(videos, "remote", "add", "origin", str(remote))
    git(videos, "push", "-q", "origin", "main")

    done, _ = step(videos, "run", tmp_path, command="apply", specs="specs")
    assert done.returncode == 0, done.stderr
    assert "+ reelform apply specs --yes" in done.stdout
    assert len(list((videos / "out" / "welcome").glob("*.mp4"))) == 2

    done, _ = step(videos, "commit-lockfiles", tmp_path, {"GITHUB_REF_NAME": "main"})
    assert done.returncode == 0, done.stderr
    assert git(remote, "log", "-1", "--format=%s %an", "main") == (
        "reelform: record applied videos in the lockfiles [skip ci] github-actions[bot]"
    )
    assert git(remote, "show", "--name-only", "--format=", "main") == "specs/welcome.lock"

    done, _ = step(videos, "commit-lockfiles", tmp_path)
    assert "The lockfiles did not change." in done.stdout
