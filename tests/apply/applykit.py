"""Helpers of the apply tests: a simulator on a real loopback socket, small spec
projects in a temporary folder, and two ways to run `reelform apply`.

``sim`` serves the simulators over loopback (uvicorn in a thread) and exposes the
in-process ``Simulator`` too, so tests read its request log directly. Apply runs
in-process through ``reelform.cli.main`` (fast: ``cli`` fixture) or as a real
subprocess (``run_cli``) where the test kills it or needs a separate process.
Every wait of apply and of the simulator is scaled by the same ``SCALE``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from reelform.sim import RequestRecord, SimConfig, Simulator
from reelform.state.lockfile import LockState, journal_path, read_lock

#: One provider minute lasts 60 ms: renders of 2-5 min take 0.12-0.3 s.
SCALE = 0.001
JOGG_KEY = "jk_apply_tests_7f3a9c"
MIRAKO_KEY = "mk_apply_tests_5e1b2d"
VOICE = "en-US-ChristopherNeural"
MIRAKO_VOICE = "9e1a4c2b-0d3f-4a6b-8c7d-1e2f3a4b5c6d"

JOGG_CREATES = ("/jogg/v2/create_video_from_avatar", "/jogg/v1/create_video_from_talking_avatar")
MIRAKO_CREATE = "/mirako/v1/video/async_generate_talking_avatar"
CREATE_PATHS = (*JOGG_CREATES, MIRAKO_CREATE)


@dataclass
class SimServer:
    base: str
    app: Starlette

    @property
    def sim(self) -> Simulator:
        sim: Simulator = self.app.state.sim
        return sim

    @property
    def config(self) -> SimConfig:
        return self.sim.config

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "JOGG_BASE_URL": f"{self.base}/jogg",
            "MIRAKO_BASE_URL": f"{self.base}/mirako",
            "JOGG_API_KEY": JOGG_KEY,
            "MIRAKO_API_KEY": MIRAKO_KEY,
            "JOGG_WEBHOOK_SECRET": self.config.jogg_webhook_secret,
            "REELFORM_TIME_SCALE": str(SCALE),
            **extra,
        }

    def mark(self) -> int:
        return len(self.sim.requests)

    def requests(self, since: int = 0) -> list[RequestRecord]:
        return list(self.sim.requests[since:])

    def creates(self, since: int = 0) -> list[RequestRecord]:
        """Create requests the provider may have taken, as a client must see them.

        Left out are only the answers that prove nothing was taken (docs/design.md): a
        429 (a scaled rate-limit window is only milliseconds long, so timing jitter
        can earn one now and then) and a 503 with Retry-After. Apply rightly sends
        those again; a 5xx without Retry-After proves nothing and is counted."""
        return [
            r
            for r in self.requests(since)
            if r.method == "POST"
            and r.path in CREATE_PATHS
            and r.status != 429
            and r.fault != "unavailable_503"
        ]

    def posts(self, since: int = 0) -> list[RequestRecord]:
        """Every POST or PUT that changes something at a provider (not /_sim)."""
        return [
            r
            for r in self.requests(since)
            if r.method in ("POST", "PUT") and not r.path.startswith("/_sim")
        ]

    def uploads(self, since: int = 0) -> list[RequestRecord]:
        return [
            r
            for r in self.requests(since)
            if r.method == "POST" and r.path.endswith("/upload/asset")
        ]

    def status_gets(self, since: int = 0) -> list[RequestRecord]:
        return [
            r
            for r in self.requests(since)
            if r.method == "GET"
            and (
                "/avatar_video/" in r.path
                or r.path == "/jogg/v1/project"
                or r.path.endswith("/status")
            )
        ]


def scaled_config(**changes: Any) -> SimConfig:
    """The simulator at SCALE, its rate-limit window scaled alike."""
    fields: dict[str, Any] = {"time_scale": SCALE, "seed": 11, "rate_window_seconds": 60 * SCALE}
    fields.update(changes)
    return SimConfig(**fields)


# --- project files ------------------------------------------------------------------


def wav_bytes(seconds: float = 1.0, rate: int = 16000, tone: int = 0) -> bytes:
    frames = int(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        sample = (tone % 1000).to_bytes(2, "little", signed=True)
        handle.writeframes(sample * frames)
    return buffer.getvalue()


def png_bytes(width: int = 600, height: int = 600, shade: int = 90) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, shade, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


class Project:
    """A folder holding specs, data and assets; the working directory of a test."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            import textwrap

            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    def jogg_spec(
        self,
        count: int,
        name: str = "spec.yaml",
        *,
        api_version: str = "v2",
        prefix: str = "v",
        extra: str = "",
    ) -> Path:
        """``count`` JoggAI script videos, one per CSV row."""
        stem = Path(name).stem
        rows = "id,text\n" + "".join(f"{i},Hello number {i}\n" for i in range(1, count + 1))
        self.write(f"data/{stem}.csv", rows)
        return self.write(
            name,
            f"""
            version: 1
            provider: jogg
            output: out/{stem}
            providers: {{jogg: {{api_version: {api_version}}}}}
            data: {{rows: data/{stem}.csv}}
            defaults:
              avatar: {{id: 81}}
              voice: {{voice_id: {VOICE}}}
            videos:
              - name: "{prefix}{{{{ row.id }}}}"
                for_each: rows
                voice: {{script: "{{{{ row.text }}}}"}}
            {extra}
        """,
        )

    def mirako_speech_spec(self, name: str = "spec.yaml") -> Path:
        """One Mirako video, ``spoken``, whose script is synthesised first (billed)."""
        self.write("assets/face.png", png_bytes())
        return self.write(
            name,
            f"""
            version: 1
            provider: mirako
            output: out/{Path(name).stem}
            assets: {{face: assets/face.png}}
            videos:
              - name: spoken
                image: face
                voice: {{script: "Hello there.", voice_id: {MIRAKO_VOICE}}}
        """,
        )

    def lock(self, spec: str = "spec.yaml") -> LockState:
        """The spec's state: its lockfile, or its rows where reelform.toml says the
        state is in PostgreSQL (the ``state_backend`` fixture)."""
        from reelform.state.backend import state_config

        config = state_config(self.root / spec)
        if config.postgres:
            from reelform.state.pg.read import read_state

            return read_state(config, self.root / spec)
        return read_lock((self.root / spec).with_suffix(".lock"))

    def write_state(self, state: LockState, spec: str = "spec.yaml") -> None:
        """Set the spec's state (a test's hand edit): its lockfile, or its rows."""
        from reelform.state.backend import state_config

        config = state_config(self.root / spec)
        if not config.postgres:
            from reelform.state.lockfile import write_lock

            write_lock((self.root / spec).with_suffix(".lock"), state)
            return
        from reelform.state.pg import store
        from reelform.state.pg.journal import session

        assert config.url is not None
        with session(config.url) as pg:
            ident = pg.acquire(config.spec_key(self.root / spec), spec, wait=False)

            def replace(conn: Any) -> None:
                with conn.transaction():
                    for table in ("videos", "avatars", "uploads", "files"):
                        conn.execute(f"DELETE FROM reelform.{table} WHERE spec_id = %s", (ident,))
                    store.write_all(conn, ident, state)

            pg.run(replace)

    def state_text(self, spec: str = "spec.yaml") -> str:
        """The spec's state as lockfile text (the rows as `state pull` writes them)."""
        from reelform.state.lockfile import dump_lock

        return dump_lock(self.lock(spec)).decode()

    def outputs(self, stem: str = "spec") -> list[Path]:
        folder = self.root / "out" / stem
        return sorted(folder.iterdir()) if folder.is_dir() else []


# --- running apply ------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class InProcess:
    """`reelform ...` through ``cli.main`` in this process, with the sim's environment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def use(self, env: dict[str, str]) -> None:
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)

    def __call__(self, *args: str) -> Result:
        from reelform.cli import main

        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "PYTHONUNBUFFERED": "1"}


def run_cli(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    timeout: float = 120,
    stdin: Any = subprocess.DEVNULL,
) -> Result:
    """`reelform ARGS` as a real process."""
    done = subprocess.run(
        [sys.executable, "-m", "reelform", *args],
        cwd=cwd,
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=stdin,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def start_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reelform", *args],
        cwd=cwd,
        env=subprocess_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


# --- crash tests: following a killed apply and checking what it left ------------------


def plan_actions(project: Project, env: dict[str, str], spec: str = "spec.yaml") -> dict[str, str]:
    """`plan --json` as {name: action} (a real process, like the apply it follows); a
    photo avatar is there under its own name."""
    import json

    result = run_cli(["plan", "--json", spec], env, project.root)
    assert result.code == 0, result.text
    [planned] = json.loads(result.out)["specs"]
    return {item["name"]: item["action"] for item in planned["items"]}


def follow(process: subprocess.Popen[str]) -> list[str]:
    """The progress lines of a running apply, as they come (read in a thread, so a
    full pipe never blocks the process before its kill)."""
    import threading

    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None and process.stdout is not None
        for line in process.stderr:
            lines.append(line)
        process.stdout.read()

    threading.Thread(target=read, daemon=True).start()
    return lines


@dataclass(frozen=True)
class JsonLock:
    """A lockfile's records as the JSON the lockfile holds them in: for tests that
    look at many fields of many records (the crash tests)."""

    files: dict[str, dict[str, Any]]
    uploads: dict[str, dict[str, Any]]
    avatars: dict[str, dict[str, Any]]
    videos: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, state: LockState) -> JsonLock:
        def section(records: Any) -> dict[str, dict[str, Any]]:
            return {key: record.to_json() for key, record in records.items()}

        return cls(
            section(state.files),
            section(state.uploads),
            section(state.avatars),
            section(state.videos),
        )

    @classmethod
    def read(cls, path: Path) -> JsonLock:
        return cls.of(read_lock(path))


def assert_whole_outputs(
    project: Project, state: LockState | JsonLock, http: Any, stem: str = "spec"
) -> None:
    """No partial output and no stray temp file, whatever instant apply died at.

    ``http`` (an ``httpx.Client``) fetches the video of a file moved into place by a
    process killed before its lock entry said so: the file must be all of it."""
    import hashlib

    output = project.root / "out" / stem
    if output.is_dir():
        for path in output.iterdir():
            if path.name.startswith(".reelform-") and path.name.endswith(".partial"):
                continue  # hidden, removed by the next run
            assert path.suffix == ".mp4" and not path.name.startswith("."), path.name
            state = state if isinstance(state, JsonLock) else JsonLock.of(state)
            entry = state.videos[path.stem]
            output_entry = entry.get("output") or {}
            data = path.read_bytes()
            if output_entry.get("sha256") is None:
                assert output_entry.get("url"), entry
                expected = http.get(output_entry["url"]).content
                assert data == expected, f"{path.name} is not the whole video"
            else:
                assert hashlib.sha256(data).hexdigest() == output_entry["sha256"], path.name
    # A SIGKILL inside the lockfile's atomic write leaves its temp file; that can only
    # happen while the journal is still there, so the next run compacts and sweeps it.
    journal = journal_path(project.root / f"{stem}.lock")
    leftovers = [
        p.name
        for p in project.root.iterdir()
        if p.name.endswith(".tmp")
        and not (p.name.startswith(f".{stem}.lock.") and journal.exists())
    ]
    assert not leftovers, leftovers
