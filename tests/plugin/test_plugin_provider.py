"""A provider plugin, installed the way a user installs one, works with no change to reelform.

tests/plugin_provider is a package of its own (reelform-echo: traits, an httpx
client, a simulator). It is pip-installed into a folder (``--target``) that only
the subprocesses below have on their PYTHONPATH, so reelform can only find it the
way it finds any plugin: the ``reelform.providers`` entry point of its installed
.dist-info. `reelform sim` serves its simulator beside the built-ins'; `validate`,
`plan` and `apply` run a spec with ``provider: echo`` against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest

PLUGIN_SOURCE = Path(__file__).resolve().parents[1] / "plugin_provider"

pytestmark = pytest.mark.slow

SPEC = """\
version: 1
provider: echo
providers: {echo: {tone: bright}}
videos:
  - {name: hello, title: Hi, voice: {script: "Hello from a plugin"}}
  - {name: again, voice: {script: "Twice is nice"}}
"""
BAD_SPEC = """\
version: 1
provider: echo
providers: {echo: {tone: loud, pitch: high}}
videos:
  - {name: a, avatar: {id: 1}, voice: {script: "Hi"}}
  - {name: b, provider: ecko, voice: {script: "Hi"}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reelform-echo installed into a folder of its own (as pip installs any package)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "source"  # a copy: building writes build/ and *.egg-info beside it
    shutil.copytree(PLUGIN_SOURCE, source)
    target = root / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"),
            *("--disable-pip-version-check", "--target", str(target), str(source)),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert (target / "reelform_echo").is_dir()
    return target


def environment(site: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="module")
def simulator(site: Path) -> Iterator[str]:
    """`reelform sim` with the plugin installed; yields the echo simulator's base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelform", "sim", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(site),
    )
    try:
        base = _echo_url(proc)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(base + "/_requests", timeout=0.5).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "sim did not start"
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert "Traceback" not in err, err


def _echo_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"export ECHO_BASE_URL=(\S+) ECHO_API_KEY=sim-key", line)
        if found:
            return found.group(1)
        if line.startswith("Control:"):
            break
    raise AssertionError(f"reelform sim printed no ECHO_BASE_URL: {proc.communicate()}")


def reelform(site: Path, folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "reelform", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment(site, **env),
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ledger(simulator: str) -> list[dict[str, str]]:
    requests: list[dict[str, str]] = httpx.get(simulator + "/_requests").json()
    return requests


def test_validate_plan_and_apply_with_a_plugin_provider(
    site: Path, simulator: str, tmp_path: Path
) -> None:
    (tmp_path / "hello.yaml").write_text(SPEC)
    keys = {"ECHO_BASE_URL": simulator, "ECHO_API_KEY": "sim-key"}

    validated = reelform(site, tmp_path, "validate", "hello.yaml")
    assert (validated.returncode, validated.stdout.strip()) == (0, "ok  hello.yaml: 2 videos")

    start = len(ledger(simulator))  # the module's other test may have asked things
    planned = reelform(site, tmp_path, "plan", "hello.yaml", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr  # changes present
    assert re.search(r"\+ create\s+hello\s+echo", planned.stdout), planned.stdout
    assert "Plan: 2 to create, 0 unchanged." in planned.stdout
    assert len(ledger(simulator)) == start  # plan asks no provider anything

    applied = reelform(site, tmp_path, "apply", "hello.yaml", "--yes", **keys)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply: 2 completed." in applied.stdout
    made = [r for r in ledger(simulator)[start:] if r["method"] == "POST"]
    assert made == [{"method": "POST", "path": "/echo/videos"}] * 2

    lock = json.loads((tmp_path / "hello.lock").read_text())
    for name in ("hello", "again"):
        entry = lock["videos"][name]
        assert (entry["provider"], entry["status"]) == ("echo", "completed")
        # The plugin's setting reached the fingerprint's inputs (and the client).
        assert entry["inputs"]["settings"] == {"tone": "bright"}
        video = tmp_path / entry["output"]["path"]
        assert entry["output"]["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
        with av.open(str(video)) as container:  # a real, playable MP4
            stream = container.streams.video[0]
            assert (container.format.name.split(",")[0], stream.codec_context.name) == (
                "mov",
                "h264",
            )
    assert (tmp_path / "out" / "hello" / "hello.mp4").is_file()

    before = ledger(simulator)
    again = reelform(site, tmp_path, "apply", "hello.yaml", "--yes", **keys)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes. The videos are up to date." in again.stdout
    assert ledger(simulator) == before  # not one request


def test_a_plugin_is_checked_and_listed_like_a_built_in(
    site: Path, simulator: str, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_SPEC)
    checked = reelform(site, tmp_path, "validate", "bad.yaml")
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == [
        "bad.yaml:3:26: Input should be 'flat' or 'bright', got 'loud'",
        "bad.yaml:3:32: unknown key 'pitch' (allowed: tone)",
        "bad.yaml:5:23: echo does not take `avatar`: it has one face",
        "bad.yaml:6:25: Input should be 'local', 'jogg', 'mirako' or 'echo', got 'ecko'",
    ]

    schema = json.loads(reelform(site, tmp_path, "schema").stdout)
    assert schema["properties"]["provider"]["enum"] == ["local", "jogg", "mirako", "echo"]
    assert schema["properties"]["providers"]["properties"]["echo"]["properties"]["tone"][
        "enum"
    ] == ["flat", "bright"]

    voices = reelform(
        site, tmp_path, "voices", "--provider", "echo", "--json",
        ECHO_BASE_URL=simulator, ECHO_API_KEY="sim-key",
    )  # fmt: skip
    assert voices.returncode == 0, voices.stderr
    assert [v["voice_id"] for v in json.loads(voices.stdout)] == ["echo-flat"]
