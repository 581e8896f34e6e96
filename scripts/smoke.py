"""Smoke-test an installed reelform: what a new user does first, from one venv.

    python scripts/smoke.py VENV [--version X.Y.Z] [--action OWNER/REPO@COMMIT]

Checks that VENV's reelform is VENV's own (not an editable checkout elsewhere),
that `reelform --version` says X.Y.Z when given, then in a temporary folder:
`reelform init` (its workflow using that action, when given), `validate`,
`plan`, an offline `apply --yes` of the scaffolded spec (real MP4 files out,
recorded in the lockfile: a second plan has nothing to do), and `reelform sim`
answering /_sim/health on a free loopback port. Missing package data (the
scaffold, the schema, templates, the local renderer's assets) fails one of these.
Standard library only; used by tests/release and by the release workflow
(.github/workflows/release.yml).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path


class SmokeError(Exception):
    pass


def _env() -> dict[str, str]:
    """No provider key (nothing here may pay), no reelform setting, no PYTHONPATH."""
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.endswith("_API_KEY") or k.startswith("REELFORM_") or k == "PYTHONPATH")
    }


def _run(argv: Sequence[str], cwd: Path, expect: int = 0) -> str:
    started = time.monotonic()
    done = subprocess.run(
        list(argv), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )
    shown = " ".join([Path(argv[0]).name, *argv[1:]])
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    print(f"  {shown}: exit {done.returncode} ({time.monotonic() - started:.1f} s)", flush=True)
    if done.returncode != expect:
        raise SmokeError(
            f"{shown}: exit {done.returncode}, expected {expect}\n{done.stdout}{done.stderr}"
        )
    return done.stdout + done.stderr


def _is_mp4(path: Path) -> bool:
    head = path.read_bytes()[:12]
    return len(head) == 12 and head[4:8] == b"ftyp"


def check_package(venv: Path, version: str | None) -> None:
    python = venv / "bin" / "python"
    code = "import json, reelform; print(json.dumps([reelform.__file__, reelform.__version__]))"
    where, found = json.loads(_run([str(python), "-c", code], venv))
    if not Path(where).resolve().is_relative_to(venv.resolve()):
        raise SmokeError(f"reelform is imported from {where}, not from {venv}")
    said = _run([str(venv / "bin" / "reelform"), "--version"], venv).strip()
    if said != f"reelform, version {found}":
        raise SmokeError(f"reelform --version says {said!r}; reelform.__version__ is {found!r}")
    if version is not None and found != version:
        raise SmokeError(f"the installed reelform is {found}, expected {version}")


def check_a_new_repository(reelform: Path, work: Path, action: str | None) -> None:
    _run([str(reelform), "init", "videos"], work)
    repo = work / "videos"
    workflow = (repo / ".github" / "workflows" / "reelform.yml").read_text()
    if action is not None and f"uses: {action}\n" not in workflow:
        raise SmokeError(f"the scaffolded workflow does not use {action}")
    if "specs/welcome.yaml: 2 videos" not in _run([str(reelform), "validate"], repo):
        raise SmokeError("validate did not find the scaffold's two videos")
    plan = _run([str(reelform), "plan", "--detailed-exitcode"], repo, expect=2)
    if "welcome-1" not in plan:
        raise SmokeError(f"the plan does not create welcome-1:\n{plan}")
    _run([str(reelform), "plan", "--format", "markdown"], repo)
    _run([str(reelform), "apply", "--yes"], repo)
    videos = sorted((repo / "out" / "welcome").glob("*.mp4"))
    if len(videos) != 2 or not all(_is_mp4(v) and v.stat().st_size > 1000 for v in videos):
        raise SmokeError(f"apply did not render two MP4 files: {videos}")
    if not (repo / "specs" / "welcome.lock").is_file():
        raise SmokeError("apply wrote no lockfile")
    _run([str(reelform), "plan", "--detailed-exitcode"], repo, expect=0)  # nothing left to do


def check_the_simulators(reelform: Path, work: Path) -> None:
    started = time.monotonic()
    argv = [str(reelform), "sim", "--host", "127.0.0.1", "--port", "0"]
    with subprocess.Popen(
        argv, cwd=work, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as sim:
        try:
            assert sim.stdout is not None
            line = sim.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/jogg", line)
            if not found:
                raise SmokeError(f"reelform sim did not say where it listens: {line!r}")
            url = f"http://127.0.0.1:{found.group(1)}/_sim/health"
            for _ in range(100):
                try:
                    with urllib.request.urlopen(url, timeout=5) as answer:
                        health = json.loads(answer.read())
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SmokeError(f"reelform sim does not answer {url}")
            if health != {"ok": True}:
                raise SmokeError(f"{url} answered {health!r}")
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    print(f"  reelform sim: {url} ok ({time.monotonic() - started:.1f} s)", flush=True)


def smoke(venv: Path, version: str | None = None, action: str | None = None) -> None:
    venv = venv.absolute()
    reelform = venv / "bin" / "reelform"
    check_package(venv, version)
    with tempfile.TemporaryDirectory(prefix="reelform-smoke-") as tmp:
        check_a_new_repository(reelform, Path(tmp), action)
        check_the_simulators(reelform, Path(tmp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path, help="the virtual environment reelform is in")
    parser.add_argument("--version", help="the version it must report")
    parser.add_argument("--action", help="the action its scaffold must use")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        smoke(args.venv, args.version, args.action)
    except SmokeError as exc:
        print(f"smoke test failed: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test passed ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
