"""The private server the state-backend tests run against, and its restart."""

from __future__ import annotations

import psycopg

from pgkit import PgServer


def test_each_test_gets_its_own_empty_database(pg_server: PgServer, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE mine (x int)")
        conn.commit()
    other = pg_server.create_database("another_one")
    with psycopg.connect(other) as conn:
        row = conn.execute("SELECT to_regclass('mine')").fetchone()
    assert row == (None,)


def test_the_server_restarts_and_keeps_its_data(pg_server: PgServer, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (7)")
        conn.commit()
    pg_server.restart()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(7,)]


def test_a_wrong_password_is_refused(pg_server: PgServer) -> None:
    try:
        psycopg.connect(pg_server.url(password="not-the-password"))
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("a wrong password was accepted")
