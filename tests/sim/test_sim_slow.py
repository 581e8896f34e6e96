"""Answers slower than the client waits: processed first (``slow_after_rate``) or not
(``slow_rate``), in process and over real sockets with a client that times out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from simkit import FAST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelform.sim import SimConfig, create_app, serve_in_thread
from reelform.sim.core import RequestRecord, Simulator

CREATE = "/v2/create_video_from_avatar"
BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "square",
    "screen_style": 2,
}


@pytest.mark.anyio
async def test_slow_after_processes_first(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.slow_after_rate = 1.0
    sim.config.slow_seconds = 0.3
    started = time.monotonic()
    pending = asyncio.create_task(jogg.post(CREATE, json=BODY))
    await asyncio.sleep(0.1)
    assert not pending.done()
    assert len(sim.jobs) == 1 and sim.made  # made, though not answered yet
    assert sim.requests[-1].status is None
    answer = await pending
    assert time.monotonic() - started >= 0.3
    assert answer.json()["code"] == 0 and answer.json()["data"]["video_id"] in sim.jobs
    record = sim.requests[-1]
    assert (record.fault, record.status, record.made) == (
        "made_then_slow",
        200,
        answer.json()["data"]["video_id"],
    )
    assert (await jogg.get("/v2/voices")).json()["code"] == 0
    assert sim.requests[-1].fault == "slow_after"  # nothing made: a read


@pytest.mark.anyio
async def test_slow_before_processes_late(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    """The contrast: slow_rate sleeps first, so the job appears only at the end."""
    sim.config.slow_rate = 1.0
    sim.config.slow_seconds = 0.3
    pending = asyncio.create_task(jogg.post(CREATE, json=BODY))
    await asyncio.sleep(0.1)
    assert not pending.done() and not sim.jobs
    assert (await pending).json()["code"] == 0 and len(sim.jobs) == 1


class Errors(logging.Handler):
    """Collects what uvicorn logs as errors (it does not propagate to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def serve_watched(app: Starlette) -> Iterator[tuple[str, Errors]]:
    """serve_in_thread, plus the errors uvicorn logs meanwhile. The handler is added
    once the server runs: uvicorn's logging set-up drops the logger's handlers."""
    errors = Errors()
    logger = logging.getLogger("uvicorn.error")
    with serve_in_thread(app=app) as base:
        logger.addHandler(errors)
        try:
            yield base, errors
        finally:
            logger.removeHandler(errors)


def test_the_error_watch_sees_a_crash() -> None:
    """Without this, the "no server errors" checks below could not fail."""

    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    with serve_watched(Starlette(routes=[Route("/x", boom)])) as (base, errors):
        assert httpx.get(base + "/x").status_code == 500
        # Starlette sends the 500 before uvicorn logs the exception: wait for the log.
        wait_for(lambda: bool(errors.messages))
    assert errors.messages == ["Exception in ASGI application\n"]


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("mode", ["slow_after_rate", "slow_rate"])
def test_client_timeout_leaves_a_paid_job_and_a_healthy_server(mode: str) -> None:
    app = create_app(SimConfig(time_scale=FAST, slow_seconds=0.8, fault_methods={"POST"}))
    sim: Simulator = app.state.sim
    setattr(sim.config, mode, 1.0)
    with (
        serve_watched(app) as (base, server_errors),
        httpx.Client(base_url=base + "/jogg", headers={"x-api-key": "k"}, timeout=0.2) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            client.post(CREATE, json=BODY)
        record: RequestRecord = sim.requests[-1]
        if mode == "slow_after_rate":
            assert len(sim.jobs) == 1  # processed before the client gave up
            wait_for(lambda: record.fault == "made_then_slow (client gone)")
            assert record.status is None  # nothing was sent: nobody was listening
        else:
            # Processed after the sleep, client gone or not: also paid for.
            wait_for(lambda: len(sim.jobs) == 1)
            assert record.fault == "slow"
        wait_for(lambda: record.made is not None)
        # The server is fine and answers the next request, GETs are not slowed.
        assert client.get("/v2/voices").json()["code"] == 0
    assert server_errors.messages == []


def test_slow_after_answers_a_patient_client_over_a_socket() -> None:
    app = create_app(SimConfig(time_scale=FAST, slow_seconds=0.3, slow_after_rate=1.0))
    sim: Simulator = app.state.sim
    with (
        serve_watched(app) as (base, server_errors),
        httpx.Client(base_url=base + "/jogg", headers={"x-api-key": "k"}, timeout=5) as client,
    ):
        answer = client.post(CREATE, json=BODY)
        assert answer.json()["code"] == 0
        assert (sim.requests[-1].fault, sim.requests[-1].status) == ("made_then_slow", 200)
    assert server_errors.messages == []
