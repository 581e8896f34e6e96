"""`.pre-commit-hooks.yaml`: other repositories run `reelform validate` as a hook."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
GOOD = (
    "version: 1\nvideos:\n  - name: hi\n    avatar: {id: 1}\n"
    "    voice: {script: Hi, voice_id: en}\n"
)


def hook() -> dict[str, Any]:
    hooks = YAML(typ="safe").load(ROOT / ".pre-commit-hooks.yaml")
    assert isinstance(hooks, list)
    [found] = [h for h in hooks if h["id"] == "reelform-validate"]
    assert isinstance(found, dict)
    return found


def test_the_hook_is_declared_as_pre_commit_expects() -> None:
    found = hook()
    assert found["name"] and found["description"]
    assert found["language"] == "python"
    assert found["pass_filenames"] is False  # specs are validated as a whole
    assert shlex.split(found["entry"])[:2] == ["reelform", "validate"]


@pytest.mark.parametrize(
    ("name", "runs"),
    [
        ("specs/welcome.yaml", True),
        ("specs/a.yml", True),
        ("data/people.csv", True),
        ("data/rows.json", True),
        ("data/rows.jsonl", True),
        ("templates/hello.txt.j2", True),
        ("engine/main.py", False),
        ("README.md", False),
        ("assets/intro.wav", False),
    ],
)
def test_the_hook_runs_for_spec_inputs_only(name: str, runs: bool) -> None:
    assert bool(re.search(hook()["files"], name)) is runs


def run_entry(cwd: Path) -> subprocess.CompletedProcess[str]:
    """The entry as pre-commit runs it: a command on PATH, in the repository's root."""
    argv = shlex.split(hook()["entry"])
    executable = Path(sys.executable).parent / argv[0]
    return subprocess.run(
        [str(executable), *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_the_entry_passes_valid_specs_and_fails_broken_ones(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "hi.yaml"
    spec.parent.mkdir()
    spec.write_text(GOOD)
    result = run_entry(tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    spec.write_text(GOOD.replace("avatar:", "avatr:"))
    result = run_entry(tmp_path)
    assert result.returncode == 1
    assert re.match(r"specs/hi\.yaml:4:5: unknown key 'avatr'", result.stderr), result.stderr
