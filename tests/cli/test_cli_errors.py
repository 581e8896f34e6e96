"""How the entry point maps outcomes to exit codes (pre-commit's error_handler idea)."""

from __future__ import annotations

import pytest

from reelform import cli
from reelform.errors import SpecError


def raising(exc: BaseException):  # type: ignore[no-untyped-def]
    def prepare_all(*args: object, **kwargs: object) -> None:
        raise exc

    return prepare_all


def test_interrupt_is_130(tree, capsys, monkeypatch) -> None:
    monkeypatch.setattr("reelform.commands.validate.prepare_all", raising(KeyboardInterrupt()))
    assert cli.main(["validate", "x.yaml"]) == 130
    assert capsys.readouterr().err.strip() == "Aborted."


def test_a_bug_is_3_with_a_traceback(tree, capsys, monkeypatch) -> None:
    monkeypatch.setattr("reelform.commands.validate.prepare_all", raising(ZeroDivisionError()))
    assert cli.main(["validate", "x.yaml"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert err.endswith("reelform: internal error (a bug; please report it with the text above)\n")


def test_user_errors_never_show_an_api_key(tree, capsys, monkeypatch) -> None:
    monkeypatch.setenv("JOGG_API_KEY", "sk-very-secret-key")
    error = SpecError.at("s.yaml", 1, 1, "bad value 'sk-very-secret-key'")
    monkeypatch.setattr("reelform.commands.validate.prepare_all", raising(error))
    assert cli.main(["validate", "x.yaml"]) == 1
    assert capsys.readouterr().err == "s.yaml:1:1: bad value '***'\n"


def test_usage_errors_are_2(capsys) -> None:
    assert cli.main(["plan", "--format", "yaml"]) == 2
    assert "Invalid value for '--format'" in capsys.readouterr().err


def test_unknown_command_is_2(capsys) -> None:
    assert cli.main(["frobnicate"]) == 2


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"], ["plan", "-h"]])
def test_help_is_0(capsys, args: list[str]) -> None:
    assert cli.main(args) == 0
    assert "Usage:" in capsys.readouterr().out
