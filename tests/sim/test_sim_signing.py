"""Signed result URLs: good while fresh, refused when expired, altered or unsigned."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from simkit import travel
from test_sim_jogg_v2 import EXAMPLE, create

from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio


async def finished_url(jogg: httpx.AsyncClient, sim: Simulator) -> str:
    video_id = (await create(jogg, EXAMPLE)).json()["data"]["video_id"]
    job = sim.jobs[video_id]
    travel(job, job.queue_seconds + job.render_seconds + 1)
    data = (await jogg.get(f"/v2/avatar_video/{video_id}")).json()["data"]
    url: str = data["video_url"]
    return url


async def test_plain_urls_when_signing_is_off(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    url = await finished_url(jogg, sim)
    assert "?" not in url and (await jogg.get(url)).status_code == 200


async def test_a_signed_url_works_until_it_expires(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.signed_url_seconds = 600  # provider seconds
    url = await finished_url(jogg, sim)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"}
    fresh = await jogg.get(url)
    assert fresh.status_code == 200 and fresh.headers["content-type"] == "video/mp4"

    unsigned = await jogg.get(url.split("?")[0])
    assert unsigned.status_code == 403 and b"SignatureDoesNotMatch" in unsigned.content
    forged = await jogg.get(url.replace("X-Amz-Expires=600", "X-Amz-Expires=99999"))
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content

    sim.config.time_scale = 1e-4  # 600 provider seconds now last 60 ms
    time.sleep(0.1)
    expired = await jogg.get(url)
    assert expired.status_code == 403 and b"AccessDenied" in expired.content


async def test_mirako_file_urls_are_signed_too(mirako: httpx.AsyncClient, sim: Simulator) -> None:
    import base64

    from simkit import png, wav

    sim.config.signed_url_seconds = 600
    body = {"image": base64.b64encode(png()).decode(), "audio": base64.b64encode(wav(1.0)).decode()}
    answer = await mirako.post("/v1/video/async_generate_talking_avatar", json=body)
    task_id = answer.json()["data"]["task_id"]
    job = sim.jobs[task_id]
    travel(job, job.queue_seconds + job.render_seconds + 1)
    status = await mirako.get(f"/v1/video/async_generate_talking_avatar/{task_id}/status")
    url = status.json()["data"]["file_url"]
    assert "X-Amz-Signature=" in url
    assert (await mirako.get(url)).status_code == 200
    assert (await mirako.get(url.split("?")[0])).status_code == 403
