"""JoggAI v2 simulator: docs/providers.md's examples field by field, jogg-v2.yaml contracts,
every validation error naming its field, and the render lifecycle."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import av
import httpx
import pytest
from simkit import KEY, Contract, png, travel, wav

from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

EXAMPLE = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hello"},
    "aspect_ratio": "portrait",
    "screen_style": 1,
    "caption": True,
    "video_name": "optional",
}


async def create(jogg: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await jogg.post("/v2/create_video_from_avatar", json=body)


async def wait_status(
    jogg: httpx.AsyncClient, video_id: str, wanted: str, seen: list[str] | None = None
) -> dict[str, Any]:
    for _ in range(400):
        data: dict[str, Any] = (await jogg.get(f"/v2/avatar_video/{video_id}")).json()["data"]
        if seen is not None and (not seen or seen[-1] != data["status"]):
            seen.append(data["status"])
        if data["status"] == wanted:
            return data
        await asyncio.sleep(0.005)
    raise AssertionError(f"{video_id} never reached {wanted}")


async def upload(jogg: httpx.AsyncClient, data: bytes, filename: str, content_type: str) -> str:
    answer = await jogg.post(
        "/v2/upload/asset",
        json={"filename": filename, "content_type": content_type, "file_size": len(data)},
    )
    body = answer.json()
    assert body["code"] == 0, body
    put = await jogg.put(
        body["data"]["sign_url"], content=data, headers={"Content-Type": content_type}
    )
    assert put.status_code == 200, put.text
    url: str = body["data"]["asset_url"]
    return url


async def test_documented_example_lifecycle(
    jogg: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    answer = await create(jogg, EXAMPLE)
    contract.check("jogg-v2", answer)
    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == 0 and body["msg"] and "rid" not in body
    assert set(body["data"]) == {"video_id"}
    video_id = body["data"]["video_id"]
    job = sim.jobs[video_id]

    seen = []
    for elapsed in (
        0.0,
        job.queue_seconds / 2,
        job.queue_seconds + job.render_seconds / 2,
        job.queue_seconds + job.render_seconds + 0.001,
    ):
        travel(job, elapsed)
        answer = await jogg.get(f"/v2/avatar_video/{video_id}")
        contract.check("jogg-v2", answer)
        data = answer.json()["data"]
        seen.append(data["status"])
        assert data["video_id"] == video_id and isinstance(data["created_at"], int)
        assert ("video_url" in data) == (data["status"] == "completed")
    assert seen == ["pending", "pending", "processing", "completed"]
    assert data["duration"] == 1.0  # "Hello": one word, at least one second

    video = await jogg.get(data["video_url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert int(video.headers["content-length"]) == len(video.content) > 500
    with av.open(io.BytesIO(video.content)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    cover = await jogg.get(data["cover_url"])
    assert cover.headers["content-type"] == "image/jpeg"
    assert sim.jogg_credits == sim.config.jogg_credits - 1


async def test_status_follows_the_real_clock(jogg: httpx.AsyncClient) -> None:
    video_id = (await create(jogg, EXAMPLE)).json()["data"]["video_id"]
    seen: list[str] = []
    await wait_status(jogg, video_id, "completed", seen)
    assert seen[-1] == "completed" and seen == sorted(
        seen, key=["pending", "processing", "completed"].index
    )


async def test_render_time_follows_time_scale(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    video_id = (await create(jogg, EXAMPLE)).json()["data"]["video_id"]
    job = sim.jobs[video_id]
    total = job.queue_seconds + job.render_seconds
    low, high = sim.config.jogg_render_seconds
    assert low * sim.config.time_scale <= total <= high * sim.config.time_scale


async def test_render_times_are_seeded() -> None:
    from reelform.sim import SimConfig, create_app

    def timings(seed: int) -> list[float]:
        app = create_app(SimConfig(seed=seed))
        sim: Simulator = app.state.sim
        return [sim.new_job("jogg_v2", str(i), (120, 300), 1).render_seconds for i in range(3)]

    assert timings(3) == timings(3) != timings(4)


async def test_audio_video_reports_audio_length(
    jogg: httpx.AsyncClient, contract: Contract
) -> None:
    audio_url = await upload(jogg, wav(3.0), "intro.wav", "audio/wav")
    body = {
        **EXAMPLE,
        "voice": {"type": "audio", "voice_id": "en-US-ChristopherNeural", "audio_url": audio_url},
    }
    answer = await create(jogg, body)
    contract.check("jogg-v2", answer)
    assert answer.json()["code"] == 0, answer.json()
    done = await wait_status(jogg, answer.json()["data"]["video_id"], "completed")
    assert done["duration"] == pytest.approx(3.0, abs=0.01)


async def test_upload_two_steps(
    jogg: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    data = png(64, 64)
    answer = await jogg.post(
        "/v2/upload/asset",
        json={"filename": "face.png", "content_type": "image/png", "file_size": len(data)},
    )
    contract.check("jogg-v2", answer)
    sign_url, asset_url = answer.json()["data"]["sign_url"], answer.json()["data"]["asset_url"]
    assert sign_url.startswith("http://sim/jogg/_upload/") and "signature=" in sign_url
    # The asset is not there before the PUT.
    assert (await jogg.get(asset_url)).status_code == 404
    wrong_type = await jogg.put(
        sign_url, content=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert wrong_type.status_code == 403 and b"SignatureDoesNotMatch" in wrong_type.content
    forged = re.sub(r"signature=[0-9a-f]+", "signature=" + "0" * 64, sign_url)
    bad_sig = await jogg.put(forged, content=data, headers={"Content-Type": "image/png"})
    assert bad_sig.status_code == 403
    good = await jogg.put(sign_url, content=data, headers={"Content-Type": "image/png"})
    assert good.status_code == 200 and good.headers["etag"]
    fetched = await jogg.get(asset_url)
    assert fetched.content == data and fetched.headers["content-type"] == "image/png"
    put_record = [r for r in sim.requests if r.method == "PUT"][-1]
    assert put_record.body == data and put_record.provider == "jogg"
    assert put_record.headers["content-type"] == "image/png" and put_record.status == 200


async def test_upload_rejects_bad_fields(jogg: httpx.AsyncClient) -> None:
    cases = [
        ({"content_type": "audio/wav"}, "filename is required"),
        ({"filename": "a.wav"}, "content_type is required"),
        ({"filename": "a.exe", "content_type": "application/x-exe"}, "content_type is invalid"),
        (
            {"filename": "a.wav", "content_type": "audio/wav", "file_size": 21 * 2**20},
            "file_size is invalid",
        ),
    ]
    for body, message in cases:
        answer = (await jogg.post("/v2/upload/asset", json=body)).json()
        assert answer["code"] == 40000 and answer["data"] is None
        assert answer["msg"].startswith(f"Parameter error: {message}"), answer


def _without(path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        **EXAMPLE,
        "avatar": dict(EXAMPLE["avatar"]),
        "voice": dict(EXAMPLE["voice"]),
    }
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    target.pop(last, None)
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = _without(path)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    target[last] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_without("avatar"), "avatar is required"),
        (_without("avatar.avatar_id"), "avatar_id is required"),
        (_without("avatar.avatar_type"), "avatar_type is required"),
        (_with("avatar.avatar_type", 2), "avatar_type is invalid"),
        (_with("avatar.avatar_id", "81"), "avatar_id is invalid"),
        (_without("voice"), "voice is required"),
        (_without("voice.type"), "type is required"),
        (_with("voice.type", "tts"), "type is invalid"),
        (_without("voice.voice_id"), "voice_id is required"),
        (_without("voice.script"), "script is required"),
        (_with("voice.type", "audio"), "audio_url is required"),  # a script instead
        (
            _with("voice.audio_url", "https://cdn.example.com/a.mp3"),
            "audio_url is invalid: give either script or audio_url",
        ),
        (
            {
                **EXAMPLE,
                "voice": {
                    "type": "audio",
                    "voice_id": "v",
                    "audio_url": "https://cdn.example.com/a.mp3",
                },
            },
            "audio_url is invalid: not an uploaded asset",
        ),
        ({**EXAMPLE, "voice": {"type": "audio", "voice_id": "v"}}, "audio_url is required"),
        (_without("aspect_ratio"), "aspect_ratio is required"),
        (_with("aspect_ratio", "wide"), "aspect_ratio is invalid"),
        (_without("screen_style"), "screen_style is required"),
        (_with("screen_style", 4), "screen_style is invalid"),
        (_with("caption", "yes"), "caption is invalid"),
    ],
)
async def test_create_names_the_bad_field(
    jogg: httpx.AsyncClient, body: dict[str, Any], message: str, sim: Simulator
) -> None:
    answer = (await create(jogg, body)).json()
    assert answer["code"] == 40000, answer
    assert answer["msg"].startswith(f"Parameter error: {message}")
    assert answer["data"] is None
    assert not sim.jobs and sim.jogg_credits == sim.config.jogg_credits


async def test_voice_id_required_even_for_audio(jogg: httpx.AsyncClient) -> None:
    audio_url = await upload(jogg, wav(1.0), "a.wav", "audio/wav")
    answer = (
        await create(jogg, {**EXAMPLE, "voice": {"type": "audio", "audio_url": audio_url}})
    ).json()
    assert answer["msg"] == "Parameter error: voice_id is required"


async def test_audio_url_needs_a_completed_upload(jogg: httpx.AsyncClient) -> None:
    answer = await jogg.post(
        "/v2/upload/asset", json={"filename": "a.wav", "content_type": "audio/wav"}
    )
    never_put = answer.json()["data"]["asset_url"]
    body = {**EXAMPLE, "voice": {"type": "audio", "voice_id": "x", "audio_url": never_put}}
    assert (await create(jogg, body)).json()["code"] == 40000


async def test_external_urls_when_allowed(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.accept_external_urls = True
    body = {
        **EXAMPLE,
        "voice": {"type": "audio", "voice_id": "x", "audio_url": "https://cdn.example.com/a.mp3"},
    }
    assert (await create(jogg, body)).json()["code"] == 0


async def test_unknown_avatar_and_video_are_10104(jogg: httpx.AsyncClient) -> None:
    answer = (await create(jogg, _with("avatar.avatar_id", 999_999))).json()
    assert answer["code"] == 10104 and answer["data"] is None
    custom = (await create(jogg, _with("avatar.avatar_type", 1))).json()  # 81 is public
    assert custom["code"] == 10104
    missing = (await jogg.get("/v2/avatar_video/nope")).json()
    assert missing["code"] == 10104


async def test_bad_key_is_10105_with_401_and_never_echoed(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.jogg_api_keys = {"the-real-key"}
    for headers in ({"x-api-key": "wrong-secret-key"}, {"x-api-key": ""}):
        answer = await jogg.post("/v2/create_video_from_avatar", json=EXAMPLE, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"code": 10105, "msg": "Invalid API key", "data": None}
        assert b"wrong-secret-key" not in answer.content
    assert all(r.headers.get("x-api-key") in ("***", None) for r in sim.requests)
    assert "wrong-secret-key" not in repr(sim.requests)
    ok = await jogg.get("/v2/voices", headers={"x-api-key": "the-real-key"})
    assert ok.json()["code"] == 0


async def test_no_permission_is_18025(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.jogg_no_permission_keys = {KEY}
    assert (await create(jogg, EXAMPLE)).json()["code"] == 18025


async def test_insufficient_credit_is_18020(
    jogg: httpx.AsyncClient, sim: Simulator, contract: Contract
) -> None:
    sim.jogg_credits = 1
    long_script = " ".join(["word"] * 400)  # 160 s of speech: 2 credits
    answer = (await create(jogg, _with("voice.script", long_script))).json()
    assert answer["code"] == 18020 and not sim.jobs
    assert (await create(jogg, EXAMPLE)).json()["code"] == 0
    assert sim.jogg_credits == 0
    quota = await jogg.get("/v2/user/remaining_quota")
    assert quota.json()["data"] == {"remaining_quota": 0.0}
    contract.check("jogg-v2", quota)


async def test_mapped_error_status(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    assert (await create(jogg, _without("avatar"))).status_code == 200
    sim.config.jogg_error_status = "mapped"
    assert (await create(jogg, _without("avatar"))).status_code == 400
    assert (await jogg.get("/v2/avatar_video/nope")).status_code == 404


async def test_photo_avatar_motion_then_video(
    jogg: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    image_url = await upload(jogg, png(), "me.png", "image/png")
    answer = await jogg.post(
        "/v2/photo_avatar/add_motion",
        json={
            "image_url": image_url,
            "name": "Me",
            "voice_id": "en-US-ChristopherNeural",
            "model": "2.0-Pro",
        },
    )
    contract.check("jogg-v2", answer)
    data = answer.json()["data"]
    assert data["status"] == "pending" and isinstance(data["avatar_id"], int)
    assert sim.jogg_credits == sim.config.jogg_credits - 3
    body = {**EXAMPLE, "avatar": {"avatar_id": data["avatar_id"], "avatar_type": 1}}
    assert (await create(jogg, body)).json()["code"] == 10104  # not completed yet
    for _ in range(400):
        status = await jogg.get("/v2/photo_avatar", params={"motion_id": data["motion_id"]})
        if status.json()["data"]["status"] == "completed":
            break
        await asyncio.sleep(0.005)
    contract.check("jogg-v2", status)
    motion = status.json()["data"]
    assert motion["avatar_id"] == data["avatar_id"] and motion["image_url"] == image_url
    assert motion["motion_preview_url"] and motion["error_msg"] is None
    listed = await jogg.get("/v2/avatars/photo_avatars")
    contract.check("jogg-v2", listed)
    assert listed.json()["data"]["avatars"][0]["status"] == 1
    assert (await create(jogg, body)).json()["code"] == 0


async def test_add_motion_validation(jogg: httpx.AsyncClient) -> None:
    image_url = await upload(jogg, png(), "me.png", "image/png")
    good = {"image_url": image_url, "name": "Me", "voice_id": "v", "model": "2.0"}
    for field in ("image_url", "name", "voice_id", "model"):
        answer = (
            await jogg.post(
                "/v2/photo_avatar/add_motion", json={k: v for k, v in good.items() if k != field}
            )
        ).json()
        assert answer["msg"] == f"Parameter error: {field} is required"
    bad_model = (
        await jogg.post("/v2/photo_avatar/add_motion", json={**good, "model": "4.0"})
    ).json()
    assert bad_model["msg"].startswith("Parameter error: model is invalid")
    missing = (await jogg.get("/v2/photo_avatar", params={"motion_id": "x"})).json()
    assert missing["code"] == 10104


async def test_catalogs_page_and_filter(jogg: httpx.AsyncClient, contract: Contract) -> None:
    first = await jogg.get("/v2/avatars/public", params={"page": 1, "page_size": 5})
    contract.check("jogg-v2", first)
    avatars = first.json()["data"]["avatars"]
    assert len(avatars) == 5 and avatars[0]["id"] == 81
    second = (await jogg.get("/v2/avatars/public", params={"page": 2, "page_size": 5})).json()[
        "data"
    ]["avatars"]
    assert not {a["id"] for a in avatars} & {a["id"] for a in second}
    filtered = await jogg.get(
        "/v2/avatars/public",
        params={"aspect_ratio": "landscape", "gender": "male", "page_size": 100},
    )
    contract.check("jogg-v2", filtered)
    items = filtered.json()["data"]["avatars"]
    assert items and all(a["aspect_ratio"] == 1 and a["gender"] == "male" for a in items)
    for params in ({"page": 0}, {"page_size": 101}, {"gender": "other"}):
        bad = (await jogg.get("/v2/avatars/public", params=params)).json()
        assert bad["code"] == 40000 and next(iter(params)) in bad["msg"]
    voices = await jogg.get("/v2/voices", params={"page_size": 3, "language": "english"})
    contract.check("jogg-v2", voices)
    assert voices.json()["data"]["has_more"] is True
    assert all(v["language"] == "english" for v in voices.json()["data"]["voices"])
    for path in ("/v2/avatars/custom", "/v2/voices/custom"):
        answer = await jogg.get(path)
        contract.check("jogg-v2", answer)
        assert answer.json()["code"] == 0


async def test_webhook_endpoint_registration(
    jogg: httpx.AsyncClient, contract: Contract, sim: Simulator
) -> None:
    events = ["generated_avatar_video_success", "generated_avatar_video_failed"]
    answer = await jogg.post(
        "/v2/endpoint",
        json={"url": "https://example.com/hook", "status": "enabled", "events": events},
    )
    contract.check("jogg-v2", answer)
    endpoint = answer.json()["data"]
    assert endpoint["secret"] == sim.config.jogg_webhook_secret
    assert endpoint["events"] == events and endpoint["endpoint_id"]
    insecure = (
        await jogg.post(
            "/v2/endpoint",
            json={"url": "http://example.com/hook", "status": "enabled", "events": events},
        )
    ).json()
    assert insecure["msg"].startswith("Parameter error: url is invalid")
    local = (
        await jogg.post(
            "/v2/endpoint",
            json={"url": "http://127.0.0.1:9/hook", "status": "enabled", "events": events},
        )
    ).json()
    assert local["code"] == 0
    listed = await jogg.get("/v2/endpoints")
    contract.check("jogg-v2", listed)
    assert len(listed.json()["data"]["endpoints"]) == 2
    deleted = await jogg.delete(f"/v2/endpoint/{endpoint['endpoint_id']}")
    contract.check("jogg-v2", deleted)
    assert (await jogg.delete(f"/v2/endpoint/{endpoint['endpoint_id']}")).json()["code"] == 10104


async def test_contract_check_can_fail(jogg: httpx.AsyncClient, contract: Contract) -> None:
    """The OpenAPI check is real: a response off the schema is rejected."""
    answer = await jogg.get("/v2/voices")
    broken = httpx.Response(
        200, json={"code": "zero", "msg": "Success", "data": {}}, request=answer.request
    )
    with pytest.raises(Exception, match=r"(?i)invalid|failed"):
        contract.check("jogg-v2", broken)
