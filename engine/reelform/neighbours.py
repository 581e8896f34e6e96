"""A spec's neighbours, whose completed videos reuse may copy (``plan/reuse.py``).

Part of the read side, beside ``project.py``: it reads (never writes) lockfiles
through ``state`` and finds specs as ``speclang.load`` does.

A spec's neighbours are the other specs under the same repository root: the nearest
folder above the spec (or its own) that holds ``.git``, as git itself finds a
work tree; a spec outside any git repository has its own folder for a root. Their
lockfiles are read, never written and never locked: a completed record does not
change under an apply (only a `--prune` removes one, and then the copy downloads
from the provider or fails, saying so). A spec without a lockfile costs one stat,
and nothing is read at all unless the plan has a render that could be a copy.

A neighbour's lockfile that cannot be read (damaged, a newer version) is skipped:
it is that spec's problem, which its own `plan` reports; this plan only copies less.

With the state in PostgreSQL (``reelform.toml``), a neighbour is a spec under the root
that the database holds, read (never written) from there over one connection.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

from reelform.errors import ReelformError
from reelform.speclang.load import NOT_SPEC_FOLDERS, SPEC_SUFFIXES, lock_path_for
from reelform.state.backend import CONFIG_NAME, StateConfig, find_config, state_config
from reelform.state.lockfile import LockState, journal_path, read_lock


def repository_root(folder: Path) -> Path:
    """The nearest folder from ``folder`` upwards holding ``reelform.toml`` (the
    repository's settings, as the state backend finds them) or ``.git`` (a folder, or
    the file of a worktree or submodule); ``folder`` itself when there is none."""
    start = folder.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_NAME).is_file() or (candidate / ".git").exists():
            return candidate
    return start


def neighbour_specs(
    roots: Collection[Path], exclude: Collection[Path], skip: Collection[Path] = ()
) -> Iterator[Path]:
    """Every spec under ``roots`` that has a lockfile, found as `plan DIR` finds specs,
    except the resolved paths in ``exclude``; the folders in ``skip`` (the output
    folders of the run: thousands of videos, no spec) are not walked."""
    yield from filter(_has_lockfile, _candidates(roots, exclude, skip))


def _has_lockfile(spec: Path) -> bool:
    lock = lock_path_for(spec)
    return lock.is_file() or journal_path(lock).is_file()


def neighbour_states(
    roots: Collection[Path], exclude: Collection[Path], skip: Collection[Path] = ()
) -> Iterator[tuple[Path, LockState]]:
    """Each neighbour (as ``neighbour_specs``) with its state: its lockfile's, or the
    database's for the specs whose ``reelform.toml`` keeps the state in PostgreSQL
    (one connection for all of them; a spec the database does not hold, or a
    database that cannot be read, gives no neighbour: this plan only copies less)."""
    in_database: dict[Path, list[Path]] = {}
    configs: dict[Path | None, StateConfig | None] = {}
    for spec in _candidates(roots, exclude, skip):
        source = find_config(spec)
        if source not in configs:
            try:
                configs[source] = state_config(spec)
            except ReelformError:
                configs[source] = None
        config = configs[source]
        if config is not None and config.postgres:
            in_database.setdefault(config.root, []).append(spec)
            continue
        if _has_lockfile(spec):
            state = read_neighbour(spec)
            if state is not None:
                yield spec, state
    for config in configs.values():
        if config is not None and config.postgres and config.root in in_database:
            yield from _database_states(config, in_database.pop(config.root))


def _database_states(config: StateConfig, specs: list[Path]) -> Iterator[tuple[Path, LockState]]:
    from reelform.state.pg.read import read_states

    try:
        states = read_states(config, specs)
    except ReelformError:
        return
    yield from ((spec, states[spec]) for spec in specs if spec in states)


def _candidates(
    roots: Collection[Path], exclude: Collection[Path], skip: Collection[Path]
) -> Iterator[Path]:
    seen = {path.resolve() for path in exclude}
    pruned = {str(path.resolve()) for path in skip}
    for root in sorted(roots):
        for spec in _specs_under(root, pruned):
            resolved = spec.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield spec


def _specs_under(root: Path, pruned: Collection[str]) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        # As `plan DIR` walks (speclang/load.py), and never into an output folder or a
        # dependency tree: neither holds a spec, and either may hold 100,000 files.
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in NOT_SPEC_FOLDERS
            and d != "node_modules"
            and not d.startswith(".")
            and os.path.join(folder, d) not in pruned
        )
        for name in sorted(files):
            if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                yield Path(folder, name)


def read_neighbour(spec: Path) -> LockState | None:
    """The lockfile state of a neighbour, or None when it cannot be read."""
    try:
        return read_lock(lock_path_for(spec))
    except (ReelformError, OSError, ValueError):
        return None


def shown_path(path: Path) -> str:
    """How a plan names a spec found under the root: relative to here when it can."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
