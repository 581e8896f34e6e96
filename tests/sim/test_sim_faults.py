"""Fault injection and the rate limit, in process (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from simkit import KEY

from reelform.sim import SimConfig, create_app
from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

CREATE = "/v2/create_video_from_avatar"
BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "square",
    "screen_style": 2,
}


async def test_drop_after_processing_is_an_unknown_outcome(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        await jogg.post(CREATE, json=BODY)
    # The provider did take the job, and charged for it.
    assert len(sim.jobs) == 1
    assert sim.jogg_credits == sim.config.jogg_credits - 1
    record = sim.requests[-1]
    assert record.status is None and record.fault == "drop (would have answered 200)"


async def test_drop_before_processing_does_nothing(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.drop_before_rate = 1.0
    with pytest.raises(httpx.TransportError):
        await jogg.post(CREATE, json=BODY)
    assert not sim.jobs and sim.jogg_credits == sim.config.jogg_credits
    sim.config.drop_before_rate = 0.0
    assert (await jogg.post(CREATE, json=BODY)).json()["code"] == 0


async def test_server_errors_take_every_shape_and_create_nothing(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.error_rate = 1.0
    shapes: dict[int, set[str]] = {}
    for _ in range(30):
        answer = await jogg.post(CREATE, json=BODY)
        shapes.setdefault(answer.status_code, set()).add(answer.headers.get("content-type", "none"))
        if answer.status_code == 500:
            assert answer.json() == {"code": 50000, "msg": "System error", "data": None}
        elif answer.status_code == 503:
            assert answer.content == b""
    assert set(shapes) == {500, 502, 503}
    assert not sim.jobs
    mirako_statuses = {(await mirako.get("/v1/voice/profiles")).status_code for _ in range(20)}
    assert mirako_statuses == {500, 502, 503}


async def test_429_bursts(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.burst_429_every = 3
    sim.config.burst_429_length = 2
    sim.config.retry_after_seconds = 7
    statuses = []
    for _ in range(10):
        answer = await jogg.post(CREATE, json=BODY)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.headers["retry-after"] == "7"
    assert statuses == [200, 200, 200, 429, 429, 200, 200, 200, 429, 429]
    assert len(sim.jobs) == 6


async def test_rate_limit_sliding_window_per_key(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.rate_window_seconds = 1.0  # 20 per second: the documented limit, 60x
    statuses = [(await jogg.post(CREATE, json=BODY)).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    limited = await jogg.post(CREATE, json=BODY)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # GETs are not limited, and other keys have their own window.
    assert (await jogg.get("/v2/voices")).status_code == 200
    other = await jogg.post(CREATE, json=BODY, headers={"x-api-key": "another"})
    assert other.json()["code"] == 0
    await asyncio.sleep(1.05)
    assert (await jogg.post(CREATE, json=BODY)).json()["code"] == 0
    assert len(sim.jobs) == 22


async def test_slow_responses(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.slow_rate = 1.0
    sim.config.slow_seconds = 0.2
    started = time.monotonic()
    answer = await jogg.get("/v2/voices")
    assert answer.status_code == 200 and time.monotonic() - started >= 0.2
    assert sim.requests[-1].fault == "slow"


async def test_failed_renders_carry_a_reason(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.render_fail_rate = 1.0
    video_id = (await jogg.post(CREATE, json=BODY)).json()["data"]["video_id"]
    for _ in range(400):
        data = (await jogg.get(f"/v2/avatar_video/{video_id}")).json()["data"]
        if data["status"] == "failed":
            break
        await asyncio.sleep(0.005)
    assert data["status"] == "failed" and "video_url" not in data
    assert data["error"]["code"] and data["error"]["message"]
    assert (await jogg.get(f"/_files/{video_id}.mp4")).status_code == 404


async def test_faults_are_seeded() -> None:
    async def pattern(seed: int) -> list[int]:
        app = create_app(SimConfig(seed=seed, error_rate=0.5))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim/jogg", headers={"x-api-key": KEY}
        ) as client:
            return [(await client.get("/v2/voices")).status_code for _ in range(12)]

    first = await pattern(5)
    assert first == await pattern(5)
    assert 200 in first and set(first) - {200}
    assert first != await pattern(6)


async def test_faults_skip_control_and_downloads(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.error_rate = 1.0
    assert (await jogg.get("http://sim/_sim/health")).status_code == 200
    # Downloads are not faulted: a missing file is a plain 404, never a 5xx.
    assert {(await jogg.get("/_files/none.mp4")).status_code for _ in range(5)} == {404}
    sim.config.fault_methods = {"POST"}
    assert (await jogg.get("/v2/voices")).status_code == 200


async def test_request_log_and_reset(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    await jogg.post(CREATE, json=BODY)
    record = sim.requests[-1]
    assert (record.provider, record.method, record.path) == ("jogg", "POST", "/jogg" + CREATE)
    assert record.json == BODY and record.status == 200 and record.headers["x-api-key"] == "***"
    log = (await jogg.get("http://sim/_sim/requests", params={"provider": "jogg"})).json()
    assert log[-1]["path"] == "/jogg" + CREATE and log[-1]["index"] == 0
    changed = await jogg.post(
        "http://sim/_sim/config", json={"error_rate": 0.25, "jogg_api_keys": ["a"]}
    )
    assert changed.json()["error_rate"] == 0.25 and sim.config.jogg_api_keys == {"a"}
    typo = await jogg.post("http://sim/_sim/config", json={"eror_rate": 1})
    assert typo.status_code == 400 and "eror_rate" in typo.text
    await jogg.post("http://sim/_sim/reset")
    assert not sim.requests and not sim.jobs


async def test_system_error_envelope(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.system_error_rate = 1.0
    answer = await jogg.post(CREATE, json=BODY)
    assert answer.status_code == 200  # the code, not the status, tells
    assert answer.json() == {"code": 50000, "msg": "System error", "data": None}
    v1 = (await jogg.get("/v1/voices")).json()
    assert v1["code"] == 50000 and len(v1["rid"]) == 32
    sim.config.jogg_error_status = "mapped"
    assert (await jogg.post(CREATE, json=BODY)).status_code == 500
    problem = await mirako.get("/v1/voice/profiles")
    assert problem.status_code == 500
    assert problem.headers["content-type"] == "application/problem+json"
    assert not sim.jobs
