"""Choosing the state backend: reelform.toml, found by walking up from the spec, and
REELFORM_STATE_URL from the environment (a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.cli import main
from reelform.errors import SpecError
from reelform.state.backend import find_config, state_config

SPEC = """\
version: 1
output: out/spec
videos:
  - {name: hi, voice: {script: "Hi."}}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def repo(tmp_path: Path, toml: str | None) -> Path:
    if toml is not None:
        (tmp_path / "reelform.toml").write_text(toml)
    spec = tmp_path / "specs" / "team" / "spec.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(SPEC)
    return spec


def test_without_reelform_toml_the_state_is_in_lockfiles(tmp_path: Path) -> None:
    spec = repo(tmp_path, None)
    config = state_config(spec, {"REELFORM_STATE_URL": "postgresql://u:p@h/d"})
    assert config.backend == "lockfile" and config.url is None


def test_the_nearest_reelform_toml_up_from_the_spec_chooses(tmp_path: Path) -> None:
    spec = repo(tmp_path, '[state]\nbackend = "postgres"\n')
    assert find_config(spec) == (tmp_path / "reelform.toml").resolve()
    config = state_config(spec, {"REELFORM_STATE_URL": "postgresql://u:p@h/d"})
    assert config.postgres and config.url == "postgresql://u:p@h/d"
    # The spec's identity: its path from the repository root, the same in every clone.
    assert config.spec_key(spec) == "specs/team/spec.yaml"


def test_lockfile_is_a_backend_too(tmp_path: Path) -> None:
    spec = repo(tmp_path, '# the default, said aloud\n[state]\nbackend = "lockfile"\n')
    assert state_config(spec, {}).backend == "lockfile"


@pytest.mark.parametrize(
    ("toml", "where", "message"),
    [
        ('[state]\nbackend = "postgres\n', ":2:", "not valid TOML"),
        ('[state]\nbackend = "mysql"\n', ":2:1:", "backend must be one of 'lockfile', 'postgres'"),
        ("[state]\nbackend = 5\n", ":2:1:", "not 5"),
        ('[state]\nbackend = "postgres"\n  url = "x"\n', ":3:3:", "unknown setting [state] 'url'"),
        ('state = "postgres"\n', ":1:1:", "`state` must be a table"),
    ],
)
def test_a_bad_reelform_toml_is_located_and_exits_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    where: str,
    message: str,
) -> None:
    spec = repo(tmp_path, toml)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "plan", str(spec))
    assert code == 1, out + err
    assert f"reelform.toml{where}" in err and message in err, err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.lock*"))  # nothing was written


def test_postgres_without_a_url_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = repo(tmp_path, '[state]\nbackend = "postgres"\n')
    monkeypatch.delenv("REELFORM_STATE_URL", raising=False)
    with pytest.raises(SpecError, match="needs REELFORM_STATE_URL"):
        state_config(spec)
    code, _, err = run(capsys, "apply", "--yes", str(spec))
    assert code == 1 and "reelform.toml:2:1:" in err and "REELFORM_STATE_URL" in err, err
    assert not list(tmp_path.rglob("*.lock*"))


def test_a_url_that_is_not_postgresql_is_refused_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = repo(tmp_path, '[state]\nbackend = "postgres"\n')
    monkeypatch.setenv("REELFORM_STATE_URL", "mysql://root:hunter2secret@db/x")
    code, out, err = run(capsys, "plan", str(spec))
    assert code == 1 and "must be a postgresql:// URL" in err, err
    assert "hunter2secret" not in out + err
