"""Fixtures for the simulator tests: a fresh simulator and in-process clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from simkit import FAST, KEY, OPENAPI_DIR, Contract
from starlette.applications import Starlette

from reelform.sim import SimConfig, create_app
from reelform.sim.core import Simulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> Starlette:
    return create_app(SimConfig(time_scale=FAST, seed=7))


@pytest.fixture
def sim(app: Starlette) -> Simulator:
    simulator: Simulator = app.state.sim
    return simulator


@pytest.fixture
async def jogg(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim/jogg",
        headers={"x-api-key": KEY},
    ) as client:
        yield client


@pytest.fixture
async def mirako(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim/mirako",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        yield client


@pytest.fixture(scope="session")
def contract() -> Iterator[Contract]:
    assert OPENAPI_DIR.is_dir(), f"OpenAPI documents not found at {OPENAPI_DIR}"
    yield Contract()
