"""Fixtures of the apply tests (helpers live in applykit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from applykit import InProcess, Project, SimServer, scaled_config

from reelform.sim import create_app, serve_in_thread


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim(**config): SimConfig fields for the sim fixture")


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[SimServer]:
    marker = request.node.get_closest_marker("sim")
    app = create_app(scaled_config(**(marker.kwargs if marker else {})))
    with serve_in_thread(app=app) as base:
        yield SimServer(base, app)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sim: SimServer
) -> InProcess:
    runner = InProcess(monkeypatch, capsys)
    runner.use(sim.env())
    return runner


@pytest.fixture
def local_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)
