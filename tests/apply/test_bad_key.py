"""A malformed API key stops apply before anything is done (docs/design.md, "Apply", "Secrets")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from applykit import JOGG_KEY, VOICE, Project, SimServer, run_cli, wav_bytes


def with_an_asset(project: Project) -> None:
    """An asset too: apply records the hashes of assets it read (the plan's cache)."""
    project.write("assets/intro.wav", wav_bytes(1.0))
    project.jogg_spec(2, extra=f"  - {{name: spoken, voice: {{audio: intro, voice_id: {VOICE}}}}}")
    spec = project.root / "spec.yaml"
    spec.write_text("assets: {intro: assets/intro.wav}\n" + spec.read_text())


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda p: p.jogg_spec(3), id="script"),
        pytest.param(with_an_asset, id="asset"),
    ],
)
def test_apply_with_a_curly_quoted_key_is_one_error_line_and_records_nothing(
    sim: SimServer, project: Project, setup: Callable[[Project], object]
) -> None:
    setup(project)
    before = sorted(p.relative_to(project.root) for p in project.root.rglob("*"))
    env = sim.env(JOGG_API_KEY=f"\u201c{JOGG_KEY}\u201d")
    result = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert result.code == 1, result.text
    assert result.err.strip().splitlines()[-1] == (
        "JOGG_API_KEY contains a curly quote (U+201C LEFT DOUBLE QUOTATION MARK); "
        "paste the key without quotes"
    ), result.text
    assert "Traceback" not in result.text
    assert JOGG_KEY not in result.text
    assert not (project.root / "spec.lock").exists()
    assert not (project.root / "spec.lock.journal").exists()
    assert sim.posts() == []
    after = sorted(p.relative_to(project.root) for p in project.root.rglob("*"))
    assert after == before, set(after) ^ set(before)
