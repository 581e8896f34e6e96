"""Shared helpers of the foundation tests (spec, plan, state, cli, bad_inputs).

One fixture here is autouse, for every test: ``no_real_provider``. The rest are
helpers; other suites keep their own conftest.py files. The helpers make real
files (specs, data, images, audio) in a temporary folder, so that tests exercise
reelform the way a user does, with few mocks.
"""

from __future__ import annotations

import io
import textwrap
import wave
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from pgkit import PgServer
from reelform import registry
from reelform.registry import GROUP
from reelform.secrets import SECRET_VARIABLES

#: The discard port on loopback: nothing listens there, a connection is refused at
#: once, and loopback is the only address the test machines may reach.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def no_real_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a real provider, nor spend a developer's credits.

    A developer's shell often exports real keys; a test that forgot to point
    reelform at the simulator would then render, and pay, at JoggAI. Every test
    starts without those keys and with both base URLs at ``NOWHERE``: os.environ
    wins over a ``.env`` file, so one in the working folder cannot undo this, and
    subprocesses inherit it. Tests that need a provider set their own variables
    (monkeypatch, or an env dict), which override these.
    """
    for name in SECRET_VARIABLES:  # a developer's real credentials
        monkeypatch.delenv(name, raising=False)
    # nor a developer's real state database (the pg tests name their own)
    monkeypatch.delenv("REELFORM_STATE_URL", raising=False)
    monkeypatch.setenv("JOGG_BASE_URL", NOWHERE)
    monkeypatch.setenv("MIRAKO_BASE_URL", NOWHERE)


def make_png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, format="JPEG", quality=20)
    return buffer.getvalue()


def make_gif(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (width, height)).save(buffer, format="GIF")
    return buffer.getvalue()


def make_wav(seconds: float, rate: int = 8000, width: int = 1, tone: int = 0) -> bytes:
    """A mono WAV of ``seconds``: 8 kHz, 8-bit by default, so long files stay small."""
    import numpy as np

    frames = int(seconds * rate)
    if width == 1:
        samples = np.full(frames, 128 + tone % 100, dtype=np.uint8).tobytes()
    else:
        samples = np.full(frames, tone, dtype=np.int16).tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(samples)
    return buffer.getvalue()


def make_mp3(seconds: float, rate: int = 8000) -> bytes:
    """A silent mono MP3 of ``seconds``, encoded by PyAV (libmp3lame)."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        remaining = int(seconds * rate)
        while remaining > 0:
            count = min(rate, remaining)
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, count), dtype=np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            remaining -= count
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


class Tree:
    """Writes files below a root folder; text is dedented so specs read naturally."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    def spec(self, content: str, name: str = "spec.yaml") -> Path:
        return self.write(name, content)

    def listing(self) -> dict[str, bytes]:
        """Every file below the root with its bytes: compare before/after a run."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    """A project folder, also the working directory (so messages use short paths)."""
    monkeypatch.chdir(tmp_path)
    return Tree(tmp_path)


@pytest.fixture
def media() -> dict[str, Callable[..., bytes]]:
    return {"png": make_png, "jpeg": make_jpeg, "gif": make_gif, "wav": make_wav, "mp3": make_mp3}


def problems_of(path: Path, variables: dict[str, str] | None = None) -> list[str]:
    """What `reelform validate` reports for a spec, as lines (empty: valid)."""
    from reelform.errors import SpecError
    from reelform.project import prepare

    try:
        prepare(path, variables)
    except SpecError as exc:
        return exc.lines()
    return []


@pytest.fixture
def check() -> Callable[..., list[str]]:
    return problems_of


# --- fake provider plugins: entry points the registry finds as if installed ---------


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module with traits, and some broken things, for entry points."""
    (tmp_path / "fake_plugin.py").write_text(
        textwrap.dedent(
            """
            from reelform.traits import ProviderTraits, Setting

            TRAITS = ProviderTraits(
                name="echo", label="Echo", client="fake_plugin:Client", poll_first=0.2
            )
            TONED = ProviderTraits(
                name="echo",
                label="Echo",
                client="fake_plugin:Client",
                settings=(Setting("tone", "How it sounds.", ("flat", "bright"), "flat"),),
                ignored_fields=("avatar", "aspect", "title"),
            )
            OTHER = ProviderTraits(name="other", label="Other", client="fake_plugin:Client")
            NOT_TRAITS = {"name": "echo"}
            BAD_PATH = ProviderTraits(name="echo", label="Echo", client="fake_plugin.Client")


            class Client:
                name = "echo"

                def __init__(self, settings, context):
                    self.settings = settings
            """
        )
    )
    (tmp_path / "fake_broken.py").write_text("raise RuntimeError('the plugin is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "fake_plugin"


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points the registry finds as if installed (its cache cleared around)."""
    points: list[EntryPoint] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == GROUP
        return points

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    registry._scan.cache_clear()
    registry.loaded_secret_variables.cache_clear()
    yield points
    registry._scan.cache_clear()
    registry.loaded_secret_variables.cache_clear()


# --- a real PostgreSQL server (the state backend's tests) -----------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A private cluster for the whole session (``pgkit``). Under CI a missing
    server is a failure: `make test` installs it (scripts/system-deps/postgresql.sh)."""
    import os

    from pgkit import running_server, server_bin

    if server_bin() is None:
        message = "no PostgreSQL server: run scripts/system-deps/postgresql.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with running_server() as server:
        yield server


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database of its own for each test (CREATE DATABASE ... TEMPLATE)."""
    return pg_server.create_database(f"test_{next(_databases)}")


@pytest.fixture(params=["lockfile", "postgres"])
def state_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Runs a test on both state backends: with ``postgres``, a reelform.toml in the
    test's folder chooses the database and REELFORM_STATE_URL names a fresh one."""
    backend: str = request.param
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        (tmp_path / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
        monkeypatch.setenv("REELFORM_STATE_URL", url)
    yield backend
    if backend == "postgres":  # the state really was in the database
        written = [str(p) for p in tmp_path.rglob("*.lock*")]
        assert written == [], f"the postgres backend wrote lockfiles: {written}"
