"""Fixtures for the provider tests: anyio on asyncio, a scripted HTTP seam, a context."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from provider_testkit import JOGG_KEY, MIRAKO_KEY, Script

from reelform.providers import ProviderContext


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def make_context(script: Script, tmp_path: Path) -> Iterator[Callable[..., ProviderContext]]:
    # MockTransport holds no sockets, so the clients need no closing.
    def build(**overrides: Any) -> ProviderContext:
        env = {
            "JOGG_API_KEY": JOGG_KEY,
            "MIRAKO_API_KEY": MIRAKO_KEY,
            "JOGG_BASE_URL": "https://jogg.test/api",
            "MIRAKO_BASE_URL": "https://mirako.test",
        }
        env.update(overrides.pop("env", {}))
        client = httpx.AsyncClient(transport=httpx.MockTransport(script))
        # The work folder (Mirako's speech cache) in the test's own folder, not the cwd.
        fields: dict[str, Any] = {
            "http": client,
            "env": env,
            "time_scale": 0.0,
            "work_dir": tmp_path / ".reelform",
        }
        fields.update(overrides)
        return ProviderContext(**fields)

    yield build
