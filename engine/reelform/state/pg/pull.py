"""`reelform state pull`: a spec's lockfile written from its rows in the database.

The lockfile is ``write_lock`` of the same records the lockfile backend would hold,
so its bytes are that backend's. Here, under ``state/``, the one part of reelform
that writes lockfiles.
"""

from __future__ import annotations

from pathlib import Path

from reelform.errors import LockfileError
from reelform.state.backend import StateConfig
from reelform.state.lockfile import SECTIONS, journal_path, write_lock
from reelform.state.pg.read import read_state


def pull(config: StateConfig, spec: Path) -> tuple[Path, bool, int] | None:
    """Write ``spec``'s lockfile: (its path, whether it changed, videos), or None
    when the database holds no state of the spec (no lockfile is made)."""
    lock_path = spec.with_suffix(".lock")
    journal = journal_path(lock_path)
    if journal.exists():
        raise LockfileError(
            f"{journal}: a lockfile journal is there (an unfinished apply of the lockfile "
            f"backend); pulling would hide it. `reelform state push {spec}` imports it, "
            f"or `reelform lock repair {spec}` folds it"
        )
    state = read_state(config, spec)
    if not lock_path.exists() and not any(state.section(n) for n in SECTIONS):
        return None
    return lock_path, write_lock(lock_path, state), len(state.videos)
