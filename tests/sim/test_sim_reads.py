"""Hostile status reads in process: a job not found yet, a key rotated mid-batch."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from simkit import png, travel, wav

from reelform.sim.core import Job, Simulator

pytestmark = pytest.mark.anyio

V2_BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "square",
    "screen_style": 2,
}
V1_BODY = {
    "script": "Hi there",
    "aspect_ratio": 0,
    "screen_style": 1,
    "avatar_id": 127,
    "avatar_type": 0,
    "voice_id": "en-US-ChristopherNeural",
}
MOTION_BODY = {
    "image_url": "https://images.example/me.png",
    "name": "Me",
    "voice_id": "en-US-ChristopherNeural",
    "model": "2.0",
}
GENERATE = "/v1/video/async_generate_talking_avatar"
MIRAKO_BODY = {
    "image": base64.b64encode(png(640, 640)).decode(),
    "audio": base64.b64encode(wav(1.0)).decode(),
}
NOT_FOUND = {"code": 10104, "msg": "Record not found", "data": None}


async def make_all(jogg: httpx.AsyncClient, mirako: httpx.AsyncClient) -> dict[str, str]:
    """One job of every kind; the status URL (with its query) of each."""
    v2 = (await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)).json()
    v1 = (await jogg.post("/v1/create_video_from_talking_avatar", json=V1_BODY)).json()
    motion = (await jogg.post("/v2/photo_avatar/add_motion", json=MOTION_BODY)).json()
    task = (await mirako.post(GENERATE, json=MIRAKO_BODY)).json()
    return {
        "jogg_v2": f"/v2/avatar_video/{v2['data']['video_id']}",
        "jogg_v1": f"/v1/project?project_id={v1['data']['project_id']}",
        "motion": f"/v2/photo_avatar?motion_id={motion['data']['motion_id']}",
        "mirako": f"{GENERATE}/{task['data']['task_id']}/status",
    }


def reader(kind: str, jogg: httpx.AsyncClient, mirako: httpx.AsyncClient) -> httpx.AsyncClient:
    return mirako if kind == "mirako" else jogg


def assert_not_found(kind: str, answer: httpx.Response, http_status: int) -> None:
    if kind == "mirako":
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "task not found"
    else:
        assert answer.status_code == http_status
        body = answer.json()
        if kind == "jogg_v1":
            assert len(body.pop("rid")) == 32
        assert body == NOT_FOUND


def jobs_by_kind(sim: Simulator) -> dict[str, Job]:
    return {job.kind: job for job in sim.jobs.values()}


@pytest.fixture(autouse=True)
def _external_images(sim: Simulator) -> None:
    sim.config.accept_external_urls = True


@pytest.mark.parametrize(("mode", "http_status"), [("ok", 200), ("mapped", 404)])
async def test_new_jobs_are_not_found_for_a_while(
    jogg: httpx.AsyncClient,
    mirako: httpx.AsyncClient,
    sim: Simulator,
    mode: str,
    http_status: int,
) -> None:
    sim.config.jogg_error_status = mode
    sim.config.not_found_seconds = 10_000.0  # 5 s at the tests' time scale: ample margin
    urls = await make_all(jogg, mirako)
    jobs = jobs_by_kind(sim)
    assert set(jobs) == set(urls)  # made, all of them
    for kind, url in urls.items():
        mark = len(sim.requests)
        assert_not_found(kind, await reader(kind, jogg, mirako).get(url), http_status)
        assert [r.fault for r in sim.requests[mark:]] == ["not_found_yet"]
    for kind, url in urls.items():
        travel(jobs[kind], 10_001.0 * sim.config.time_scale)
        answer = await reader(kind, jogg, mirako).get(url)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data.get("video_id", data.get("id", data.get("motion_id", data.get("task_id"))))
        assert sim.requests[-1].fault is None


async def test_not_found_follows_the_real_clock(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.not_found_seconds = 1000.0  # 0.5 s
    video_id = (await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)).json()["data"][
        "video_id"
    ]
    codes = []
    for _ in range(200):
        codes.append((await jogg.get(f"/v2/avatar_video/{video_id}")).json()["code"])
        if codes[-1] == 0:
            break
        await asyncio.sleep(0.02)
    assert codes[0] == 10104 and codes[-1] == 0 and set(codes) == {10104, 0}


async def test_a_missing_job_is_not_a_hidden_one(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.not_found_seconds = 1e6
    assert (await jogg.get("/v2/avatar_video/" + "0" * 32)).json()["code"] == 10104
    assert sim.requests[-1].fault is None  # really missing: no fault to log


async def test_not_found_rate_picks_jobs_from_the_seed(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.rate_limit_per_minute = 1000
    sim.config.not_found_seconds = 1e6

    async def hidden(rate: float) -> list[bool]:
        sim.reset()
        sim.config.not_found_rate = rate
        out = []
        for _ in range(20):
            created = await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)
            answer = await jogg.get(f"/v2/avatar_video/{created.json()['data']['video_id']}")
            out.append(answer.json()["code"] == 10104)
        return out

    half = await hidden(0.5)
    assert True in half and False in half
    assert await hidden(0.5) == half
    assert not any(await hidden(0.0))
    assert all(await hidden(1.0))


async def test_unauthorized_window_counts_reads(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    urls = await make_all(jogg, mirako)
    assert sim.api_reads == 0  # creates are not reads
    sim.config.unauthorized_reads_after = 2
    sim.config.unauthorized_reads_count = 3
    order = ["jogg_v2", "jogg_v1", "motion", "mirako", "jogg_v2", "mirako", "jogg_v1"]
    answers = [await reader(kind, jogg, mirako).get(urls[kind]) for kind in order]
    assert [a.status_code for a in answers] == [200, 200, 401, 401, 401, 200, 200]
    motion, task, v2 = answers[2:5]
    assert motion.json() == {"code": 10105, "msg": "Invalid API key", "data": None}
    assert v2.json()["code"] == 10105
    assert task.headers["content-type"] == "application/problem+json"
    assert task.headers["www-authenticate"] == 'Bearer realm="mirako"'
    assert task.json()["title"] == "Unauthorized"
    assert [r.fault for r in sim.requests[-7:]] == [None, None, *["unauthorized"] * 3, None, None]
    # A create in the window is not refused (the window is about reads), and is made.
    sim.config.unauthorized_reads_after = sim.api_reads  # "from now on"
    made = len(sim.made)
    created = await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)
    assert created.json()["code"] == 0 and len(sim.made) == made + 1
    v1 = await jogg.get(urls["jogg_v1"])
    assert v1.status_code == 401 and v1.json()["code"] == 10105 and len(v1.json()["rid"]) == 32
    counters = (await jogg.get("http://sim/_sim/counters")).json()
    assert counters == {"api_reads": sim.api_reads, "made": len(sim.made)}


async def test_unauthorized_window_restarts_on_reset(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.unauthorized_reads_count = 2  # after 0: the first two reads
    first = [(await jogg.get("/v2/voices")).status_code for _ in range(3)]
    sim.reset()
    again = [(await jogg.get("/v2/voices")).status_code for _ in range(3)]
    assert first == again == [401, 401, 200]
    # Downloads and control endpoints are not reads of the API.
    sim.reset()
    await jogg.get("/_files/none.mp4")
    await jogg.get("http://sim/_sim/health")
    assert sim.api_reads == 0


async def test_unauthorized_rate_is_seeded_and_spares_posts(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.unauthorized_reads_rate = 0.5
    sim.config.fault_methods = set()  # a targeted fault: it applies anyway

    async def pattern() -> list[int]:
        sim.reset()
        return [(await jogg.get("/v2/voices")).status_code for _ in range(16)]

    first = await pattern()
    assert set(first) == {200, 401} and await pattern() == first
    assert (await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)).json()["code"] == 0
