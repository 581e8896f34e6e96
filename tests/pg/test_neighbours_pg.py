"""Reuse's neighbours with the state in PostgreSQL: the other specs of the repository
that the database holds, read over one connection; a database that cannot be read
gives no neighbours (the plan only copies less), and a lockfile root beside it is
read as before."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from reelform.neighbours import neighbour_states
from reelform.state.lockfile import LockState, write_lock
from reelform.state.pg import db, store
from reelform.state.records import Status, VideoRecord

SPEC = "version: 1\nname: x\nvideos: []\n"


def completed(fingerprint: str) -> LockState:
    state = LockState()
    state.videos["v1"] = VideoRecord(fingerprint=fingerprint, status=Status.COMPLETED)
    return state


@pytest.fixture
def repo(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "team").mkdir(parents=True)
    (root / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
    for name in ("own.yaml", "team/held.yaml", "team/absent.yaml"):
        (root / name).write_text(SPEC)
    # A stray lockfile under a database root is not the state: never read.
    write_lock(root / "team" / "absent.lock", completed("b" * 64))
    with psycopg.connect(pg_url) as conn:
        db.migrate(conn)
        with conn.transaction():
            ident = store.spec_id(conn, "team/held.yaml", create=True)
            assert ident is not None
            store.write_all(conn, ident, completed("a" * 64))
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)
    return root


def test_the_neighbours_the_database_holds_are_read_from_it(repo: Path) -> None:
    found = dict(neighbour_states([repo], exclude=[repo / "own.yaml"]))
    assert list(found) == [repo / "team" / "held.yaml"]
    assert found[repo / "team" / "held.yaml"].videos["v1"].fingerprint == "a" * 64


def test_a_database_that_cannot_be_read_gives_no_neighbours(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORM_STATE_URL", "postgresql://nobody:wrong@127.0.0.1:1/none")
    other = tmp_path / "lockfiles"
    other.mkdir()
    (other / "a.yaml").write_text(SPEC)
    write_lock(other / "a.lock", completed("c" * 64))
    found = dict(neighbour_states([repo, other], exclude=[repo / "own.yaml"]))
    # The lockfile root beside it still gives its neighbour.
    assert list(found) == [other / "a.yaml"]
