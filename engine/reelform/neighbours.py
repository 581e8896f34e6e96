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
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

from reelform.errors import ReelformError
from reelform.speclang.load import NOT_SPEC_FOLDERS, SPEC_SUFFIXES, lock_path_for
from reelform.state.backend import CONFIG_NAME
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
    seen = {path.resolve() for path in exclude}
    pruned = {str(path.resolve()) for path in skip}
    for root in sorted(roots):
        for spec in _specs_under(root, pruned):
            resolved = spec.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            lock = lock_path_for(spec)
            if lock.is_file() or journal_path(lock).is_file():
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
