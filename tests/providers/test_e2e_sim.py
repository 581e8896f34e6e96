"""End to end over real sockets: the simulator served on a free loopback port.

Also the rate-limit acceptance test: a batch of 200 submits sharing one token bucket
reaches at least 90% of the allowed rate with fewer than 5% 429 answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from reelform.errors import OutcomeUnknownError
from reelform.providers import ProviderContext, make_provider
from reelform.providers.base import AvatarRef, JobStatus, VideoJob, VoiceRequest
from reelform.providers.ratelimit import TokenBucket
from reelform.sim import SimConfig, create_app, serve_in_thread

VOICE = "en-US-ChristopherNeural"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_thread(SimConfig(time_scale=0.0005, seed=3)) as base:
        yield base


def env_for(base: str) -> dict[str, str]:
    return {
        "JOGG_API_KEY": "jk_e2e_key_123",
        "JOGG_BASE_URL": f"{base}/jogg",
        "MIRAKO_API_KEY": "mk_e2e_key_123",
        "MIRAKO_BASE_URL": f"{base}/mirako",
    }


def job(key: str) -> VideoJob:
    return VideoJob(
        key=key, name=key, voice=VoiceRequest(voice_id=VOICE, script="Hello."), avatar=AvatarRef(81)
    )


@pytest.mark.anyio
async def test_submit_poll_download_over_loopback(server: str) -> None:
    jogg = make_provider("jogg", {}, ProviderContext(env=env_for(server), time_scale=0.001))
    try:
        video_id = await jogg.submit_video(job("rf-e2e-1"))
        with anyio.fail_after(10):
            while not (state := await jogg.job_status(video_id)).status.finished:
                await anyio.sleep(0.01)
        assert state.status is JobStatus.COMPLETED and state.video_url
        async with httpx.AsyncClient() as client:
            assert (await client.get(state.video_url)).status_code == 200
    finally:
        await jogg.aclose()


@pytest.mark.anyio
async def test_cut_connection_over_a_real_socket_is_an_unknown_outcome(server: str) -> None:
    async with httpx.AsyncClient() as client:

        async def submits() -> int:
            answer = (
                await client.get(
                    f"{server}/_sim/requests",
                    params={"method": "POST", "path": "/jogg/v2/create_video_from_avatar"},
                )
            ).json()
            return len(answer if isinstance(answer, list) else answer["requests"])

        before = await submits()
        await client.post(
            f"{server}/_sim/config", json={"drop_rate": 1.0, "fault_methods": ["POST"]}
        )
        jogg = make_provider(
            "jogg", {}, ProviderContext(http=client, env=env_for(server), time_scale=0.001)
        )
        try:
            with pytest.raises(OutcomeUnknownError):
                await jogg.submit_video(job("rf-e2e-drop"))
        finally:
            await client.post(f"{server}/_sim/config", json={"drop_rate": 0.0})
        assert await submits() == before + 1  # sent once, never resent


def test_voices_command_against_the_server(server: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reelform", "voices", "--provider", "jogg", "--json"],
        env={**os.environ, **env_for(server)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert VOICE in {row["voice_id"] for row in json.loads(result.stdout)}
    failing = subprocess.run(
        [sys.executable, "-m", "reelform", "avatars", "--provider", "jogg"],
        env={**os.environ, **env_for(server), "JOGG_API_KEY": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failing.returncode == 1 and "JOGG_API_KEY is not set" in failing.stderr


@pytest.mark.anyio
async def test_batch_of_200_submits_runs_at_the_allowed_rate() -> None:
    scale = 0.004  # a minute lasts 0.24 s: one POST every 12 ms
    app = create_app(SimConfig(time_scale=0.0005, seed=5, rate_window_seconds=60 * scale))
    sim = app.state.sim
    limiter = TokenBucket(20, time_scale=scale)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        env = {"JOGG_API_KEY": "jk_batch_key_1", "JOGG_BASE_URL": "http://testserver/jogg"}
        jogg = make_provider(
            "jogg", {}, ProviderContext(http=client, env=env, limiter=limiter, time_scale=scale)
        )
        ids: list[str] = []

        async def submit(i: int) -> None:
            ids.append(await jogg.submit_video(job(f"rf-batch-{i}")))

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for i in range(200):
                group.start_soon(submit, i)
        elapsed = time.monotonic() - started
    posts = [r for r in sim.requests if r.method == "POST"]
    too_many = sum(1 for r in posts if r.status == 429)
    ideal = 199 * 60 * scale / 20  # at exactly the allowed rate
    assert len(set(ids)) == 200
    assert too_many < 0.05 * len(posts), f"{too_many} 429s in {len(posts)} POSTs"
    assert ideal / elapsed >= 0.9, f"{elapsed:.2f}s for an ideal {ideal:.2f}s"
    print(f"rate {ideal / elapsed:.1%} of the allowed, {too_many} 429s")
