"""Fixtures of the watch tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from watchkit import make_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)
