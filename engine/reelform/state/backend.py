"""Which state backend a spec uses: its repository's ``reelform.toml``.

Walking up from the spec, the first ``reelform.toml`` found is the repository's
configuration, and its folder the repository root. ``[state] backend`` is
``"lockfile"`` (the default, also with no file at all: a lockfile and journal
beside each spec) or ``"postgres"``: the state lives in the PostgreSQL database
that ``REELFORM_STATE_URL`` names. The URL is a secret (it holds a password), so
it is read from the environment only, never from the file, and never shown.

In the database a spec is named by its path relative to the repository root
(POSIX), so every clone on every machine means the same rows.

Pure but for reading the file (and its parents' names).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reelform.errors import ConfigError, Location, Problem, SpecError
from reelform.secrets import STATE_URL_VARIABLE

CONFIG_NAME = "reelform.toml"
BACKENDS = ("lockfile", "postgres")
_STATE_KEYS = ("backend",)


@dataclass(frozen=True)
class StateConfig:
    """The state backend of one spec."""

    backend: str  # "lockfile" | "postgres"
    #: The folder holding reelform.toml (the spec's folder when there is none).
    root: Path
    #: The file the choice was read from, if any.
    source: Path | None = None
    #: The connection URL (postgres only): a secret, never printed.
    url: str | None = None

    @property
    def postgres(self) -> bool:
        return self.backend == "postgres"

    def spec_key(self, spec_path: Path) -> str:
        """How the database names ``spec_path``: relative to the root, POSIX."""
        return Path(os.path.relpath(spec_path.resolve(), self.root.resolve())).as_posix()


def find_config(start: Path) -> Path | None:
    """The nearest ``reelform.toml`` in ``start``'s folder or above."""
    folder = (start if start.is_dir() else start.parent).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
    return None


def _problem(path: Path, line: int | None, column: int | None, message: str) -> SpecError:
    return SpecError([Problem(Location(str(path), line, column), message)])


def _locate(text: str, key: str) -> tuple[int | None, int | None]:
    """Line and column of ``key = ...`` (best effort: tomllib gives no positions)."""
    found = re.search(r"^[ \t]*(" + re.escape(key) + r")[ \t]*=", text, re.MULTILINE)
    if found is None:
        return None, None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start(1) - (text.rfind("\n", 0, found.start()) + 1) + 1
    return line, column


def read_config(path: Path) -> tuple[str, tuple[int | None, int | None]]:
    """The backend ``path`` names (and where it says so); SpecError for a bad file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _problem(path, None, None, f"cannot read {CONFIG_NAME}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = column = None
        if where is not None:
            line, column = int(where.group(1)), int(where.group(2))
            message = message[: where.start()].strip()
        raise _problem(path, line, column, f"not valid TOML: {message}") from None
    state = data.get("state", {})
    if not isinstance(state, dict):
        line, column = _locate(text, "state")
        raise _problem(path, line, column, "`state` must be a table: [state]")
    for key in state:
        if key not in _STATE_KEYS:
            line, column = _locate(text, key)
            raise _problem(path, line, column, f"unknown setting [state] {key!r} (known: backend)")
    backend = state.get("backend", "lockfile")
    where_backend = _locate(text, "backend")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise _problem(
            path,
            *where_backend,
            f"[state] backend must be one of {', '.join(repr(b) for b in BACKENDS)}, "
            f"not {backend!r}",
        )
    return backend, where_backend


def state_config(spec_path: Path, env: Mapping[str, str] | None = None) -> StateConfig:
    """The state backend of ``spec_path`` (the default: lockfiles).

    ``env`` is where the URL is read from: the process environment by default, never
    a ``.env`` file (a database password is not left in a working folder).
    """
    env = os.environ if env is None else env
    source = find_config(spec_path)
    if source is None:
        return StateConfig("lockfile", spec_path.resolve().parent)
    backend, where = read_config(source)
    root = source.parent
    if backend != "postgres":
        return StateConfig(backend, root, source)
    url = (env.get(STATE_URL_VARIABLE) or "").strip()
    if not url:
        raise _problem(
            source,
            *where,
            f'[state] backend = "postgres" needs {STATE_URL_VARIABLE} in the environment '
            "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE); nothing was done",
        )
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{STATE_URL_VARIABLE} must be a postgresql:// URL; nothing was done")
    return StateConfig(backend, root, source, url)
