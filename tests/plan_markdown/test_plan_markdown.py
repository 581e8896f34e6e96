"""`plan --format markdown` against golden files: what a pull request shows.

Regenerate after a deliberate change with
``REELFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plan_markdown`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from planbuild import representative, unchanged_only

from reelform.cli import main
from reelform.plan.markdown import FOLD_AFTER, render_markdown

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("REELFORM_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (see module docstring)"


def test_representative_plan_matches_the_golden_file() -> None:
    check_golden("representative.md", render_markdown(representative()))


def test_no_changes_matches_the_golden_file() -> None:
    check_golden("unchanged.md", render_markdown(unchanged_only()))


def test_the_comment_has_counts_estimate_changed_fields_and_folds() -> None:
    text = render_markdown(representative())
    assert "| create | 27 |" in text and "| unchanged | 4 |" in text and "| move | 1 |" in text
    assert (
        "| `>` move | `welcome-former` -> `welcome-renamed` | jogg | "
        "the same render: renamed, not rendered |"
    ) in text
    assert "**Estimate: 28 videos to render, ~6 min 30 s of video, 6 JoggAI credits.**" in text
    assert "| `~` replace | `welcome-edited` | jogg | changed: `avatar.id`, `voice.script`" in text
    assert "avatar 81 \\| not found" in text  # a `|` in a reason does not break the table
    # The long list is folded, the short one is not.
    onboarding = text.split("### `specs/onboarding.yaml`")[1]
    assert onboarding.count("| `+` create |") == 25 > FOLD_AFTER
    assert "<details><summary>25 changes: 25 to create</summary>" in onboarding
    welcome = text.split("### `specs/welcome.yaml`")[1].split("###")[0]
    assert "<details>" not in welcome
    assert text.endswith("No changes in `specs/faq.yaml` (3 videos).\n")


def test_plan_format_markdown_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.yaml").write_text(
        "version: 1\nvideos:\n  - name: hello\n    avatar: {id: 1}\n"
        "    voice: {script: Hello there, voice_id: en}\n"
    )
    assert main(["plan", "one.yaml", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## reelform plan\n")
    assert "| `+` create | `hello` | local | ~1 s |" in out
