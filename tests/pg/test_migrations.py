"""The schema: reelform's own, versioned, migrated forward under a transaction lock,
and a database newer than this reelform refused."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from reelform.cli import main
from reelform.errors import LockfileError
from reelform.state.pg import db


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reelform'"
        ).fetchall()
    return {row[0] for row in rows}


def test_a_fresh_database_is_migrated_to_the_latest_version(pg_url: str) -> None:
    assert tables(pg_url) == set()
    with psycopg.connect(pg_url) as conn:
        assert db.migrate(conn) == 0
        assert db.schema_version(conn) == db.LATEST
        versions = conn.execute("SELECT version FROM reelform.schema_version").fetchall()
    assert [v for (v,) in versions] == [v for v, _ in db.MIGRATIONS]
    assert {"specs", "videos", "avatars", "uploads", "files", "schema_version"} <= tables(pg_url)


def test_migrating_again_changes_nothing(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        db.migrate(conn)
        assert db.migrate(conn) == db.LATEST
        count = conn.execute("SELECT count(*) FROM reelform.schema_version").fetchone()
    assert count == (len(db.MIGRATIONS),)


def test_runners_starting_at_once_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def runner() -> None:
        try:
            with psycopg.connect(pg_url) as conn:
                start.wait()
                db.migrate(conn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(pg_url) as conn:
        count = conn.execute("SELECT count(*) FROM reelform.schema_version").fetchone()
    assert count == (len(db.MIGRATIONS),)


def test_the_migration_lock_is_the_transactions_and_ends_with_it(pg_url: str) -> None:
    """No session-level advisory lock is left behind on the connection (one behind a
    pool would be released on, or held by, the wrong connection)."""
    with psycopg.connect(pg_url) as conn:
        db.migrate(conn)
        conn.commit()
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ).fetchone()
    assert held == (0,)


def test_a_newer_schema_is_refused_before_anything_is_read(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with psycopg.connect(pg_url) as conn:
        db.migrate(conn)
        conn.execute("INSERT INTO reelform.schema_version (version) VALUES (%s)", (db.LATEST + 5,))
        conn.commit()
        with pytest.raises(LockfileError, match=f"version {db.LATEST + 5} is newer"):
            db.migrate(conn)
    (tmp_path / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
    (tmp_path / "spec.yaml").write_text(
        'version: 1\noutput: out\nvideos:\n  - {name: hi, voice: {script: "Hi."}}\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)
    for args in (["plan", "spec.yaml"], ["apply", "--yes", "spec.yaml"]):
        capsys.readouterr()
        assert main(args) == 1
        err = capsys.readouterr().err
        message = f"database schema version {db.LATEST + 5} is newer than this reelform"
        assert f"{message} ({db.LATEST})" in err, err
    assert not (tmp_path / "out").exists()


def test_plan_reads_without_creating_anything(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
    (tmp_path / "spec.yaml").write_text(
        'version: 1\noutput: out\nvideos:\n  - {name: hi, voice: {script: "Hi."}}\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)
    assert main(["plan", "spec.yaml"]) == 0
    assert "1 to create" in capsys.readouterr().out
    assert tables(pg_url) == set()  # plan is read-only: no schema was made
