"""Mirako simulator: talking avatars on real image/audio checks, RFC 7807 errors, TTS."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import wave
from typing import Any

import av
import httpx
import pytest
from simkit import Contract, mp3, png, travel, wav

from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

GENERATE = "/v1/video/async_generate_talking_avatar"
TASK_ID = re.compile(r"^[a-z0-9]{8}$")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"image": b64(png(640, 800)), "audio": b64(wav(2.5))}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem["type"] and problem["instance"]
    return problem


async def wait(mirako: httpx.AsyncClient, task_id: str, seen: list[str]) -> dict[str, Any]:
    for _ in range(400):
        answer = await mirako.get(f"{GENERATE}/{task_id}/status")
        data: dict[str, Any] = answer.json()["data"]
        if not seen or seen[-1] != data["status"]:
            seen.append(data["status"])
        if data["status"] in ("COMPLETED", "FAILED"):
            return data
        await asyncio.sleep(0.003)
    raise AssertionError("task never finished")


async def test_talking_avatar_lifecycle(
    mirako: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    answer = await mirako.post(GENERATE, json=body())
    contract.check("mirako", answer)
    job = sim.jobs[answer.json()["data"]["task_id"]]
    seen: list[str] = []
    for elapsed in (
        0.0,
        job.queue_seconds + job.render_seconds / 2,
        job.queue_seconds + job.render_seconds + 0.001,
    ):
        travel(job, elapsed)
        status = await mirako.get(f"{GENERATE}/{job.id}/status")
        contract.check("mirako", status)
        seen.append(status.json()["data"]["status"])
    done = status.json()["data"]
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert TASK_ID.match(data["task_id"]) and data["status"] == "IN_QUEUE"
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert done["output_duration"] == pytest.approx(2.5)
    final = await mirako.get(f"{GENERATE}/{data['task_id']}/status")
    contract.check("mirako", final)
    video = await mirako.get(done["file_url"])
    assert video.headers["content-type"] == "video/mp4"
    assert int(video.headers["content-length"]) == len(video.content)
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        # "Output: MP4, H.264, 25 fps, the dimensions of the input image."
        assert (stream.width, stream.height) == (640, 800)
        assert stream.average_rate == 25


async def test_mp3_and_webhook_accepted(mirako: httpx.AsyncClient, contract: Contract) -> None:
    answer = await mirako.post(
        GENERATE,
        json=body(
            audio=b64(mp3(1.0)),
            image=b64(png(1920, 1080, "JPEG")),
            webhook={"url": "http://127.0.0.1:9/hook", "auth_token": "tok"},
        ),
    )
    contract.check("mirako", answer)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("changes", "location", "fragment"),
    [
        ({"extra": 1}, "body.extra", "unexpected property"),
        ({"image": None}, "body", "image"),
        ({"audio": None}, "body", "audio"),
        ({"image": "data:image/png;base64," + b64(png())}, "body.image", "base64"),
        ({"image": b64(b"not an image at all")}, "body.image", "JPG or PNG"),
        ({"image": b64(png(400, 400))}, "body.image", "at least 512x512"),
        ({"image": b64(png(2000, 1200))}, "body.image", "at most 1920x1080"),
        ({"image": b64(png(640, 640, "GIF"))}, "body.image", "JPG or PNG"),
        ({"audio": b64(wav(61))}, "body.audio", "at most 60 s"),
        ({"audio": b64(b"RIFF....WAVEgarbage")}, "body.audio", "WAV or MP3"),
        ({"webhook": {"auth_token": "x"}}, "body.webhook.url", "url"),
    ],
)
async def test_validation_lists_every_error(
    mirako: httpx.AsyncClient,
    contract: Contract,
    changes: dict[str, Any],
    location: str,
    fragment: str,
    sim: Simulator,
) -> None:
    answer = await mirako.post(GENERATE, json=body(**changes))
    problem = assert_problem(answer, 422)
    assert any(e["location"] == location and fragment in e["message"] for e in problem["errors"]), (
        problem["errors"]
    )
    assert not sim.jobs
    # mirako.yaml declares the error answers as `default` ErrorModel responses.
    contract.check("mirako", answer, with_request=False)


async def test_two_problems_are_both_listed(mirako: httpx.AsyncClient) -> None:
    answer = await mirako.post(GENERATE, json=body(image=b64(png(100, 100)), extra=True))
    locations = {e["location"] for e in assert_problem(answer, 422)["errors"]}
    assert locations == {"body.image", "body.extra"}


async def test_auth_errors(mirako: httpx.AsyncClient, sim: Simulator) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Token abc"}):
        assert_problem(await mirako.post(GENERATE, json=body(), headers=headers), 401)
    sim.config.mirako_api_keys = {"real"}
    denied = await mirako.get(
        "/v1/voice/profiles", headers={"Authorization": "Bearer secret-wrong"}
    )
    assert_problem(denied, 401)
    assert b"secret-wrong" not in denied.content
    assert all(r.headers.get("authorization") in ("***", None) for r in sim.requests)
    sim.config.mirako_forbidden_keys = {"real"}
    assert_problem(
        await mirako.get("/v1/voice/profiles", headers={"Authorization": "Bearer real"}), 403
    )


async def test_credits_not_found_and_bad_json(mirako: httpx.AsyncClient, sim: Simulator) -> None:
    sim.mirako_credits = 2  # a 2.5 s clip costs 3 (1 per started second)
    assert_problem(await mirako.post(GENERATE, json=body()), 402)
    assert_problem(await mirako.get(f"{GENERATE}/zzzzzzzz/status"), 404)
    assert_problem(
        await mirako.post(GENERATE, content=b"{nope", headers={"Content-Type": "application/json"}),
        400,
    )


async def test_failed_render(mirako: httpx.AsyncClient, sim: Simulator, contract: Contract) -> None:
    sim.config.render_fail_rate = 1.0
    task_id = (await mirako.post(GENERATE, json=body())).json()["data"]["task_id"]
    done = await wait(mirako, task_id, [])
    assert done["status"] == "FAILED" and done["error"] and "file_url" not in done
    contract.check("mirako", await mirako.get(f"{GENERATE}/{task_id}/status"))


async def test_tts_base64_is_16k_mono_wav(mirako: httpx.AsyncClient, contract: Contract) -> None:
    voices = await mirako.get("/v1/voice/premade_profiles")
    contract.check("mirako", voices)
    voice_id = voices.json()["data"][0]["id"]
    answer = await mirako.post(
        "/v1/speech/tts",
        json={
            "text": "Simplicity is the ultimate sophistication.",
            "voice_profile_id": voice_id,
            "return_type": "b64_audio_str",
        },
    )
    contract.check("mirako", answer)
    data = answer.json()["data"]
    audio = base64.b64decode(data["b64_audio_str"])
    with wave.open(io.BytesIO(audio)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (
            16_000,
            1,
            2,
        )
        assert reader.getnframes() / 16_000 == pytest.approx(data["output_duration"])
    assert data["voice_profile_id"] == voice_id and data["id"]


async def test_tts_file_url_and_errors(mirako: httpx.AsyncClient, contract: Contract) -> None:
    profiles = await mirako.get("/v1/voice/profiles")
    contract.check("mirako", profiles)
    voice_id = profiles.json()["data"][0]["id"]
    answer = await mirako.post(
        "/v1/speech/tts",
        json={"text": "Hello there", "voice_profile_id": voice_id, "return_type": "file_url"},
    )
    contract.check("mirako", answer)
    fetched = await mirako.get(answer.json()["data"]["file_url"])
    assert fetched.headers["content-type"] == "audio/wav" and fetched.content[:4] == b"RIFF"
    missing = await mirako.post(
        "/v1/speech/tts", json={"text": "x", "voice_profile_id": "nope", "return_type": "file_url"}
    )
    assert_problem(missing, 404)
    invalid = await mirako.post(
        "/v1/speech/tts", json={"text": "", "voice_profile_id": "x", "return_type": "mp3"}
    )
    locations = {e["location"] for e in assert_problem(invalid, 422)["errors"]}
    assert locations == {"body.text", "body.return_type"}


@pytest.mark.parametrize("fail_status", ["CANCELED", "TIMED_OUT"])
async def test_other_terminal_statuses(
    mirako: httpx.AsyncClient, sim: Simulator, contract: Contract, fail_status: str
) -> None:
    sim.config.render_fail_rate = 1.0
    sim.config.mirako_fail_status = fail_status
    task_id = (await mirako.post(GENERATE, json=body())).json()["data"]["task_id"]
    for _ in range(400):
        answer = await mirako.get(f"{GENERATE}/{task_id}/status")
        if answer.json()["data"]["status"] not in ("IN_QUEUE", "IN_PROGRESS"):
            break
        await asyncio.sleep(0.003)
    assert answer.json()["data"]["status"] == fail_status
    contract.check("mirako", answer)


async def test_the_accounts_avatars_are_listed(
    mirako: httpx.AsyncClient, contract: Contract
) -> None:
    answer = await mirako.get("/v1/avatar/list")
    contract.check("mirako", answer)
    avatars = answer.json()["data"]
    assert {a["status"] for a in avatars} == {"READY", "BUILDING"}
    assert (await mirako.get("/v1/avatar/list", headers={"Authorization": ""})).status_code == 401
