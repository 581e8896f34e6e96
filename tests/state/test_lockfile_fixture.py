"""Lockfiles written before the records were typed load and are written byte for byte.

The fixtures were written by the old code (fixtures/README.md): a format change, a
lost unknown field or a null that became absent shows here as a changed byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from reelform.state.journal import compact
from reelform.state.lockfile import (
    SECTIONS,
    LockState,
    dump_lock,
    journal_path,
    parse_lock,
    read_lock,
    write_lock,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_an_old_lockfile_loads_and_dumps_to_the_same_bytes(tmp_path: Path) -> None:
    raw = (FIXTURES / "v1.lock").read_bytes()
    assert dump_lock(parse_lock(raw, FIXTURES / "v1.lock")) == raw
    lock = tmp_path / "s.lock"
    shutil.copy(FIXTURES / "v1.lock", lock)
    assert write_lock(lock, read_lock(lock)) is False  # nothing to write: the same bytes


def built(state: LockState) -> LockState:
    """The same state with every record built: written by ``to_json``, not as read."""
    return LockState(**{name: dict(state.section(name).items()) for name in SECTIONS})


def test_every_record_of_an_old_lockfile_is_written_as_it_was_read() -> None:
    raw = (FIXTURES / "v1.lock").read_bytes()
    state = built(parse_lock(raw, FIXTURES / "v1.lock"))
    assert all(type(state.section(name)) is dict for name in SECTIONS)
    assert dump_lock(state) == raw


def test_an_old_journal_replays_to_what_the_old_compaction_wrote(tmp_path: Path) -> None:
    compacted = (FIXTURES / "v1-compacted.lock").read_bytes()
    lock = tmp_path / "s.lock"
    shutil.copy(FIXTURES / "v1.lock", lock)
    shutil.copy(FIXTURES / "v1.journal", journal_path(lock))
    assert dump_lock(read_lock(lock)) == compacted
    assert dump_lock(built(read_lock(lock))) == compacted
    compact(lock)
    assert lock.read_bytes() == compacted and not journal_path(lock).exists()
