"""`plan --check-remote`: avatar and voice ids checked against the providers' catalogs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelform.cli import main
from reelform.sim import SimConfig, serve_in_thread

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_thread(SimConfig(seed=5)) as base:
        yield base


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str) -> Path:
    shutil.copytree(
        REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("*.lock", ".reelform")
    )
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOGG_BASE_URL", f"{server}/jogg")
    monkeypatch.setenv("MIRAKO_BASE_URL", f"{server}/mirako")
    monkeypatch.setenv("JOGG_API_KEY", "jk-remote-check-1")
    monkeypatch.setenv("MIRAKO_API_KEY", "mk-remote-check-1")
    return tmp_path


def test_known_ids_pass_and_the_catalog_is_cached(project: Path) -> None:
    assert main(["plan", "specs", "--check-remote"]) == 0
    assert sorted(p.name for p in (project / ".reelform").iterdir()) == [
        "catalog-jogg.json",
        "catalog-mirako.json",
    ]


def test_unknown_avatar_and_voice_are_located_errors(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = project / "specs" / "jogg-onboarding.yaml"
    text = spec.read_text().replace("avatar: {id: 81}", "avatar: {id: 9999}")
    spec.write_text(
        text.replace(
            "voice: {voice_id: en-US-ChristopherNeural}", "voice: {voice_id: en-US-NobodyNeural}"
        )
    )
    assert main(["plan", "specs", "--check-remote"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert (
        "specs/jogg-onboarding.yaml:32:16: jogg has no public avatar 9999 "
        "(reelform avatars --provider jogg)" in errors
    )
    assert any("jogg has no voice 'en-US-NobodyNeural'" in line for line in errors)


def test_without_the_flag_plan_asks_nobody(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOGG_BASE_URL", "http://127.0.0.1:9/jogg")  # nothing listens there
    assert main(["plan", "specs"]) == 0
    assert not (project / ".reelform").exists()
