"""The steps of the reelform GitHub action (action.yml), as one script.

    python scripts/action.py install            INPUT_INSTALL, INPUT_PIP_ARGS
    python scripts/action.py run                INPUT_COMMAND, INPUT_SPECS, INPUT_ARGS
    python scripts/action.py commit-lockfiles

The inputs come from the environment (never pasted into a shell line, so an input
cannot run code). Standard library only: `install` runs before reelform is there.
Exit codes are reelform's own; 1 for a bad input.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ACTION_PATH = Path(os.environ.get("REELFORM_ACTION_PATH") or Path(__file__).resolve().parents[1])
COMMANDS = ("validate", "plan", "apply")
LOCKFILES = "*.lock"
BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


class InputError(Exception):
    """A bad input: one line, exit 1."""


def _pinned() -> ModuleType:
    """reelform's pinned-source rules, loaded by path: reelform is not installed yet."""
    path = ACTION_PATH / "engine" / "reelform" / "scaffold" / "pinned.py"
    spec = importlib.util.spec_from_file_location("reelform_pinned", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up
    spec.loader.exec_module(module)
    return module


def pip_command(install: str, pip_args: str, python: str = sys.executable) -> list[str]:
    """The pip command that installs reelform: this checkout, or a pinned source."""
    target = str(ACTION_PATH)
    if install.strip():
        pinned = _pinned()
        try:
            target = pinned.parse(install).spec
        except pinned.NotPinned as exc:
            raise InputError(f"install: {exc}") from None
    return [
        python,
        "-m",
        "pip",
        "install",
        *_split(pip_args),
        target,
    ]


def reelform_commands(command: str, specs: str, args: str) -> list[list[str]]:
    """The reelform command lines one `run` makes, in order."""
    paths = _split(specs) or ["specs"]
    extra = _split(args)
    if command == "validate":
        return [["reelform", "validate", *paths, *extra]]
    if command == "plan":
        return [["reelform", "validate", *paths], ["reelform", "plan", *paths, *extra]]
    if command == "apply":
        return [["reelform", "apply", *paths, "--yes", *extra]]
    raise InputError(f"command: {command!r}: give one of {', '.join(COMMANDS)}")


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InputError(f"{text!r}: {exc}") from None


def _append(variable: str, text: str) -> None:
    """Append to the file a GitHub variable names (the job summary, the outputs)."""
    name = os.environ.get(variable)
    if name:
        with open(name, "a", encoding="utf-8") as out:
            out.write(text)


def install() -> int:
    argv = pip_command(os.environ.get("INPUT_INSTALL", ""), os.environ.get("INPUT_PIP_ARGS", ""))
    print("+", shlex.join(argv), flush=True)
    done = subprocess.run(argv)
    if done.returncode != 0:
        return done.returncode
    return subprocess.run(["reelform", "--version"]).returncode


def run() -> int:
    command = os.environ.get("INPUT_COMMAND", "").strip()
    lines = reelform_commands(
        command, os.environ.get("INPUT_SPECS", "specs"), os.environ.get("INPUT_ARGS", "")
    )
    for argv in lines[:-1]:
        print("+", shlex.join(argv), flush=True)
        done = subprocess.run(argv)
        if done.returncode != 0:
            return done.returncode
    last = lines[-1]
    if command != "plan":
        print("+", shlex.join(last), flush=True)
        return subprocess.run(last).returncode
    # The plan as markdown: in the log, the job summary, and a file for the comment.
    folder = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    markdown = folder / "reelform-plan.md"
    argv = [*last, "--format", "markdown"]
    print("+", shlex.join(argv), flush=True)
    shown = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    markdown.write_text(shown.stdout, encoding="utf-8")
    sys.stdout.write(shown.stdout)
    _append("GITHUB_STEP_SUMMARY", shown.stdout)
    _append("GITHUB_OUTPUT", f"plan={markdown}\n")
    return shown.returncode


def commit_lockfiles() -> int:
    """Commit the changed lockfiles and push them to the branch that was applied."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], check=True)

    git("add", "--all", "--", LOCKFILES)
    if subprocess.run(["git", "diff", "--cached", "--quiet"]).returncode == 0:
        print("The lockfiles did not change.")
        return 0
    name, email = BOT
    message = "reelform: record applied videos in the lockfiles [skip ci]"
    git("-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message)
    branch = (
        os.environ.get("GITHUB_REF_NAME")
        or subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    # Another push may have landed while apply ran: the lockfiles go on top of it.
    git("pull", "--rebase", "--quiet", "origin", branch)
    git("push", "--quiet", "origin", f"HEAD:{branch}")
    print(f"Committed the lockfiles and pushed them to {branch}.")
    return 0


def main(argv: list[str]) -> int:
    steps = {"install": install, "run": run, "commit-lockfiles": commit_lockfiles}
    if len(argv) != 1 or argv[0] not in steps:
        print(f"usage: action.py {'|'.join(steps)}", file=sys.stderr)
        return 2
    if argv[0] == "run" and shutil.which("reelform") is None:
        print("error: reelform is not installed (the install step failed?)", file=sys.stderr)
        return 1
    try:
        return steps[argv[0]]()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        failed = shlex.join(map(str, exc.cmd))
        print(f"error: {failed} failed (exit {exc.returncode})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
