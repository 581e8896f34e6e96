"""The library API: reelform.load / plan / apply on a small local-provider spec."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import reelform
from reelform.errors import BusyError, ConfigError, SpecError

SPEC = """\
version: 1
name: tiny
output: out
vars: {greeting: Hi}
data:
  people: [{id: "1", name: Ann}, {id: "2", name: Bob}]
defaults:
  avatar: {id: 1}
  voice: {voice_id: en}
  aspect: square
videos:
  - name: "hi-{{ row.id }}"
    for_each: people
    voice: {script: "{{ vars.greeting }} {{ row.name }}"}
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "specs" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(SPEC)
    return path


def test_import_reelform_loads_nothing_else() -> None:
    code = (
        "import sys, reelform; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('reelform', 'pydantic', 'jinja2', 'httpx', 'typing')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "['reelform']"


def test_load_returns_the_expanded_spec(spec: Path) -> None:
    loaded = reelform.load(spec, vars={"greeting": "Hello"})
    assert loaded.name == "tiny"
    assert [v.name for v in loaded.videos] == ["hi-1", "hi-2"]
    assert loaded.videos[1].video.voice.script == "Hello Bob"
    assert reelform.load(str(spec)).videos[0].video.voice.script == "Hi Ann"


def test_load_raises_spec_error_with_located_problems(spec: Path) -> None:
    spec.write_text(SPEC.replace("aspect: square", "aspekt: square"))
    with pytest.raises(SpecError) as caught:
        reelform.load(spec)
    assert [str(p) for p in caught.value.problems] == [
        f"{spec}:10:3: unknown key 'aspekt'; did you mean 'aspect'?"
    ]


def test_plan_takes_files_folders_and_targets(spec: Path) -> None:
    [plan] = reelform.plan("specs")
    assert [(i.action.value, i.name) for i in plan.items] == [
        ("create", "hi-1"),
        ("create", "hi-2"),
    ]
    [only] = reelform.plan([spec], targets=["*-2"])
    assert [i.name for i in only.items] == ["hi-2"]
    assert only.estimate.videos == 1
    with pytest.raises(SpecError):
        reelform.plan(["specs/missing.yaml"])


def test_plan_and_apply_stay_callable_after_their_packages_are_imported() -> None:
    import reelform.apply.run
    import reelform.plan.diff

    assert callable(reelform.plan) and callable(reelform.apply)
    assert reelform.plan.diff.Action.CREATE == "create"
    assert reelform.apply.run.apply_plans is not None
    from reelform.api import apply, plan

    assert plan.__name__ == "plan" and apply.__name__ == "apply"


@pytest.mark.slow
def test_apply_renders_records_and_is_idempotent(spec: Path) -> None:
    outcomes = reelform.apply(spec, parallel=2)
    assert sorted((o.name, o.status) for o in outcomes) == [
        ("hi-1", "completed"),
        ("hi-2", "completed"),
    ]
    assert sorted(p.name for p in (spec.parent / "out").iterdir()) == ["hi-1.mp4", "hi-2.mp4"]
    assert spec.with_suffix(".lock").is_file()
    assert reelform.apply(spec) == []  # nothing to do the second time
    [plan] = reelform.plan(spec)
    assert not plan.changes and plan.unchanged == 2


def test_apply_takes_the_spec_lock_like_the_cli(spec: Path) -> None:
    from reelform.state.lock import spec_lock

    with spec_lock(spec.with_suffix(".lock"), str(spec)), pytest.raises(BusyError):
        reelform.apply(spec)


def test_apply_refuses_max_credits_and_unconfirmed_runs(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec.write_text(SPEC.replace("version: 1", "version: 1\nprovider: jogg"))
    with pytest.raises(ConfigError, match="more than max_credits=1"):
        reelform.apply(spec, max_credits=1)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    with pytest.raises(ConfigError, match="yes=True"):
        reelform.apply(spec, yes=False)
    assert not spec.with_suffix(".lock").exists()


def test_docstrings_show_examples() -> None:
    from reelform import api

    for function in (api.load, api.plan, api.apply):
        assert function.__doc__ and "reelform." in textwrap.dedent(function.__doc__)


def test_apply_reads_keys_from_a_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the CLI (docs/design.md, "Secrets"), a key in .env reaches the provider: a jogg video
    against a port where nothing listens fails with a connection error, not with
    'JOGG_API_KEY is not set'."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOGG_API_KEY", raising=False)
    monkeypatch.setenv("JOGG_BASE_URL", "http://127.0.0.1:9/jogg")
    monkeypatch.setenv("REELFORM_TIME_SCALE", "0.0001")
    (tmp_path / ".env").write_text("JOGG_API_KEY=from-dotenv-123\n")
    (tmp_path / "s.yaml").write_text(
        "version: 1\nprovider: jogg\nvideos:\n  - name: a\n    avatar: {id: 81}\n"
        "    voice: {voice_id: v, script: Hi}\n"
    )
    outcomes = reelform.apply(tmp_path / "s.yaml", yes=True)
    assert len(outcomes) == 1 and not outcomes[0].ok
    assert "JOGG_API_KEY" not in (outcomes[0].reason or "")


def test_apply_with_no_time_left_sends_nothing(spec: Path) -> None:
    outcomes = reelform.apply(spec, timeout=0)
    assert sorted((o.name, o.status) for o in outcomes) == [
        ("hi-1", "pending"),
        ("hi-2", "pending"),
    ]
    assert not any(o.ok for o in outcomes)
    assert not (spec.parent / "out").exists() or not any((spec.parent / "out").iterdir())
    [plan] = reelform.plan(spec)
    assert sorted(i.action for i in plan.items) == ["create", "create"]
