"""Bad connections: an unreachable server, a wrong password, a missing database.
Each is one clear error (exit 1) that never shows the URL or its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkit import PgServer, free_port
from reelform.cli import main

SPEC = """\
version: 1
output: out/spec
videos:
  - {name: hi, voice: {script: "Hi."}}
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_wrong_password_is_a_clear_error_that_hides_the_password(
    pg_server: PgServer,
    spec: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    password = "Wr0ng-S3cret-Pa55"
    monkeypatch.setenv("REELFORM_STATE_URL", pg_server.url(password=password))
    args = [command, str(spec)] + (["--yes"] if command == "apply" else [])
    code, text = run(capsys, *args)
    assert code == 1, text
    assert "refused the credentials" in text and "REELFORM_STATE_URL" in text, text
    assert password not in text and pg_server.url(password=password) not in text
    assert "Traceback" not in text
    assert not list(spec.parent.rglob("*.lock*"))


def test_an_unreachable_server_is_a_clear_error(
    spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://reelform:Pa55w0rd-xyz@127.0.0.1:{free_port()}/state"
    monkeypatch.setenv("REELFORM_STATE_URL", url)
    code, text = run(capsys, "apply", "--yes", str(spec))
    assert code == 1, text
    assert "cannot reach the state database" in text, text
    assert "Pa55w0rd-xyz" not in text and url not in text
    assert not (spec.parent / "out").exists()  # nothing was rendered


def test_a_missing_database_is_named(
    pg_server: PgServer,
    spec: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REELFORM_STATE_URL", pg_server.url("no_such_db"))
    code, text = run(capsys, "plan", str(spec))
    assert code == 1 and "does not exist" in text, text
    assert pg_server.password not in text
