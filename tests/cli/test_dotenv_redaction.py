"""The last line of redaction knows the keys of a `.env` file too: they are read,
never put into os.environ, and still never printed (docs/design.md, "Secrets")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

from reelform.cli import main
from reelform.errors import RejectedError
from reelform.providers.jogg import JoggProvider
from reelform.secrets import environment, redact

KEY = "jk_from_dotenv_4c2a9e71"


@pytest.fixture
def dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOGG_API_KEY", raising=False)
    # A nearby address nothing listens on: the test fails on its own, never at JoggAI.
    monkeypatch.setenv("JOGG_BASE_URL", "http://127.0.0.1:9")
    (tmp_path / ".env").write_text(f"JOGG_API_KEY={KEY}\n")
    return tmp_path


def test_a_key_read_from_dotenv_is_redacted(dotenv: Path) -> None:
    assert environment()["JOGG_API_KEY"] == KEY
    assert "JOGG_API_KEY" not in os.environ
    assert redact(f"invalid key {KEY}!") == "invalid key ***!"


def raising(error: Exception) -> Any:
    async def list_avatars(self: JoggProvider, *args: Any, **kwargs: Any) -> NoReturn:
        raise error

    return list_avatars


@pytest.mark.parametrize(
    ("error", "printed"),
    [
        # A provider's message that echoes the key, past any scrubbing of its own.
        (
            RejectedError("jogg", f"10105 invalid api key {KEY}"),
            "error: jogg: 10105 invalid api key ***",
        ),
        # A bug: the traceback shows the exception, key included.
        (RuntimeError(f"unexpected header x-api-key: {KEY}"), "x-api-key: ***"),
    ],
    ids=["provider error", "traceback"],
)
def test_errors_and_tracebacks_printed_by_the_cli_redact_dotenv_keys(
    dotenv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    printed: str,
) -> None:
    monkeypatch.setattr(JoggProvider, "list_avatars", raising(error))
    code = main(["avatars", "--provider", "jogg"])
    output = capsys.readouterr()
    assert code in (1, 3)
    assert KEY not in output.out + output.err
    assert printed in output.err, output.err
