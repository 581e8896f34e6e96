"""JoggAI v1 simulator: flat create body, 32-hex ids, rid, status_code 1..5, WebM style 3."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from simkit import Contract, travel, wav

from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

HEX32 = re.compile(r"^[0-9a-f]{32}$")
BODY = {
    "script": "Hi, welcome to JoggAI",
    "aspect_ratio": 0,
    "screen_style": 1,
    "avatar_id": 127,
    "avatar_type": 0,
    "voice_id": "en-US-ChristopherNeural",
    "caption": True,
    "video_name": "My Video",
}


async def upload_v1(jogg: httpx.AsyncClient, data: bytes) -> str:
    answer = await jogg.post("/v1/upload/asset", json={"filename": "intro.wav"})
    body = answer.json()
    assert HEX32.match(body["rid"]) and body["code"] == 0
    put = await jogg.put(
        body["data"]["sign_url"], content=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert put.status_code == 200 and put.json()["code"] == 0  # v1 docs: an envelope
    url: str = body["data"]["asset_id"]
    return url


async def poll(jogg: httpx.AsyncClient, project_id: str, codes: list[int]) -> dict[str, Any]:
    for _ in range(400):
        answer = await jogg.get("/v1/project", params={"project_id": project_id})
        data: dict[str, Any] = answer.json()["data"]
        if not codes or codes[-1] != data["status_code"]:
            codes.append(data["status_code"])
        if data["status_code"] in (4, 5):
            return data
        await asyncio.sleep(0.003)
    raise AssertionError("project never finished")


def check_v1(contract: Contract, response: httpx.Response) -> None:
    """jogg-v1.yaml types project_id as an integer, but the API returns a 32-hex string
    (a known slip, openapi/README.md): validate with the documented string swapped for
    an integer, after checking the string ourselves."""
    data = response.json().get("data") or {}
    if isinstance(data.get("project_id"), str):
        assert HEX32.match(data["project_id"])
        patched = {**response.json(), "data": {**data, "project_id": 1}}
        response = httpx.Response(response.status_code, json=patched, request=response.request)
    contract.check("jogg-v1", response, with_request=False)


async def test_upload_audio_then_create_and_finish(
    jogg: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    audio_url = await upload_v1(jogg, wav(5.0))
    body = {k: v for k, v in BODY.items() if k != "script"} | {"audio_url": audio_url}
    answer = await jogg.post("/v1/create_video_from_talking_avatar", json=body)
    assert answer.json()["code"] == 0, answer.json()
    project_id = answer.json()["data"]["project_id"]
    job = sim.jobs[project_id]
    codes: list[int] = []
    for elapsed in (
        0.0,
        job.queue_seconds * 0.75,
        job.queue_seconds + job.render_seconds / 2,
        job.queue_seconds + job.render_seconds + 0.001,
    ):
        travel(job, elapsed)
        answer_now = await jogg.get("/v1/project", params={"project_id": project_id})
        check_v1(contract, answer_now)
        codes.append(answer_now.json()["data"]["status_code"])
    done = answer_now.json()["data"]
    # jogg-v1.yaml types video_name as an enum of booleans (a known slip,
    # openapi/README.md), so the request is validated without it.
    without_name = {k: v for k, v in body.items() if k != "video_name"}
    contract.check_request(
        "jogg-v1",
        httpx.Request(
            "POST",
            "http://sim/jogg/v1/create_video_from_talking_avatar",
            json=without_name,
            headers={"x-api-key": "k"},
        ),
    )
    check_v1(contract, answer)
    assert codes == [1, 2, 3, 4]
    assert done["id"] == project_id and done["title"] == "My Video"
    assert done["video_duration"] == 5 and done["status_desc"] == "success"
    assert done["video_url"].endswith(".mp4")
    final = await jogg.get("/v1/project", params={"project_id": project_id})
    check_v1(contract, final)
    assert HEX32.match(final.json()["rid"])
    video = await jogg.get(done["video_url"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


async def test_v1_wrong_put_type_is_refused(jogg: httpx.AsyncClient) -> None:
    answer = (await jogg.post("/v1/upload/asset", json={"filename": "a.wav"})).json()
    put = await jogg.put(
        answer["data"]["sign_url"], content=wav(1), headers={"Content-Type": "audio/wav"}
    )
    assert put.status_code == 403


async def test_screen_style_3_is_webm_and_needs_caption_false(jogg: httpx.AsyncClient) -> None:
    refused = (
        await jogg.post("/v1/create_video_from_talking_avatar", json={**BODY, "screen_style": 3})
    ).json()
    assert refused["code"] == 40000 and "caption" in refused["msg"]
    assert HEX32.match(refused["rid"]) and refused["data"] is None
    answer = (
        await jogg.post(
            "/v1/create_video_from_talking_avatar",
            json={**BODY, "screen_style": 3, "caption": False},
        )
    ).json()
    done = await poll(jogg, answer["data"]["project_id"], [])
    assert done["video_url"].endswith(".webm")
    video = await jogg.get(done["video_url"])
    assert video.headers["content-type"] == "video/webm"
    assert video.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML magic


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"avatar_id": None}, "avatar_id is required"),
        ({"avatar_type": None}, "avatar_type is required"),
        ({"voice_id": None}, "voice_id is required"),
        ({"screen_style": None}, "screen_style is required"),
        ({"aspect_ratio": "portrait"}, "aspect_ratio is invalid"),
        ({"aspect_ratio": 3}, "aspect_ratio is invalid"),
        ({"script": None}, "script is required"),
        ({"audio_url": "https://cdn.example.com/a.mp3"}, "audio_url is invalid"),
    ],
)
async def test_v1_validation(jogg: httpx.AsyncClient, change: dict[str, Any], message: str) -> None:
    body = {k: v for k, v in ({**BODY, **change}).items() if v is not None}
    answer = (await jogg.post("/v1/create_video_from_talking_avatar", json=body)).json()
    assert answer["code"] == 40000
    assert answer["msg"].startswith(f"Parameter error: {message}"), answer


async def test_v1_failed_render_and_missing_project(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.render_fail_rate = 1.0
    answer = (await jogg.post("/v1/create_video_from_talking_avatar", json=BODY)).json()
    done = await poll(jogg, answer["data"]["project_id"], [])
    assert done["status_code"] == 5 and done["status_desc"] == "failed"
    assert done["video_url"] == ""
    missing = (await jogg.get("/v1/project", params={"project_id": "0" * 32})).json()
    assert missing["code"] == 10104
    assert (await jogg.get("/v1/project")).json()["code"] == 40000
    unknown = (
        await jogg.post("/v1/create_video_from_talking_avatar", json={**BODY, "avatar_id": 1})
    ).json()
    assert unknown["code"] == 10104


async def test_v1_catalogs(jogg: httpx.AsyncClient, contract: Contract) -> None:
    for path in (
        "/v1/avatars",
        "/v1/avatars/custom",
        "/v1/avatars/photo_avatars",
        "/v1/voices",
        "/v1/voices/custom",
    ):
        answer = await jogg.get(path)
        body = answer.json()
        if path == "/v1/avatars/custom":
            # A slip jogg-v1.yaml has beyond openapi/README.md's list: `status` is typed
            # integer but its enum lists the descriptions ("0 processing", ...), so no
            # value satisfies it. The simulator follows the description (0 in progress,
            # 1 success, 2 failed): check that here, and validate the rest without it.
            assert {a["status"] for a in body["data"]["avatars"]} <= {0, 1, 2}
            patched = {
                **body,
                "data": {
                    **body["data"],
                    "avatars": [
                        {k: v for k, v in a.items() if k != "status"}
                        for a in body["data"]["avatars"]
                    ],
                },
            }
            answer = httpx.Response(200, json=patched, request=answer.request)
        contract.check("jogg-v1", answer)
        assert HEX32.match(body["rid"]) and body["code"] == 0
        assert isinstance(body["data"]["total"], int)
    avatars = (await jogg.get("/v1/avatars", params={"aspect_ratio": 1})).json()["data"]
    assert avatars["avatars"] and all(
        a["aspect_ratio"] == 1 and "avatar_id" in a for a in avatars["avatars"]
    )
    voices = (await jogg.get("/v1/voices", params={"page_size": 2})).json()["data"]
    assert len(voices["voices"]) == 2 and voices["total"] > 2
