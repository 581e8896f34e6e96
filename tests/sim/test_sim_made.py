"""The provider's ledger (``sim.made``): what was made and charged, per request and key.

Tests of "never pay twice" count this, not the request log: a request that was cut,
timed out or answered by a gateway may or may not have made something.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

import httpx
import pytest
from simkit import png, wav

from reelform.sim.catalog import MIRAKO_VOICE_IDS
from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

GENERATE = "/v1/video/async_generate_talking_avatar"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def v2_body(name: str, audio_url: str | None = None) -> dict[str, object]:
    voice: dict[str, str] = {"type": "script", "voice_id": "en-US-ChristopherNeural"}
    voice.update({"type": "audio", "audio_url": audio_url} if audio_url else {"script": "Hi"})
    return {
        "avatar": {"avatar_id": 81, "avatar_type": 0},
        "voice": voice,
        "aspect_ratio": "square",
        "screen_style": 2,
        "video_name": name,
    }


async def upload(jogg: httpx.AsyncClient, data: bytes) -> str:
    slot = (
        await jogg.post("/v2/upload/asset", json={"filename": "a.wav", "content_type": "audio/wav"})
    ).json()["data"]
    put = await jogg.put(slot["sign_url"], content=data, headers={"Content-Type": "audio/wav"})
    assert put.status_code == 200
    url: str = slot["asset_url"]
    return url


async def test_made_per_key_counts_what_the_provider_took(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    await jogg.post("/v2/create_video_from_avatar", json=v2_body("One [rf-aaa]"))
    sim.config.drop_rate = 1.0  # made, but the client hears nothing
    with pytest.raises(httpx.RemoteProtocolError):
        await jogg.post("/v2/create_video_from_avatar", json=v2_body("One [rf-aaa]"))
    sim.config.drop_rate = 0.0
    sim.config.error_rate = 1.0  # refused before the provider: nothing made
    assert (await jogg.post("/v2/create_video_from_avatar", json=v2_body("Two [rf-bbb]"))).is_error
    sim.config.error_rate = 0.0
    await jogg.post("/v2/create_video_from_avatar", json=v2_body("Two [rf-bbb]"))
    assert len(sim.made_for("[rf-aaa]")) == 2 and len(sim.made_for("[rf-bbb]")) == 1
    assert Counter(m.name for m in sim.made) == {"One [rf-aaa]": 2, "Two [rf-bbb]": 1}
    # Each entry points at the request that made it, and that request back at it.
    for made in sim.made:
        assert made.request is not None
        record = sim.requests[made.request]
        assert record.made == made.id and record.json["video_name"] == made.name
    assert [r.made is not None for r in sim.requests] == [True, True, False, True]
    # The same, over the control endpoint (for a simulator in another process).
    listed = (await jogg.get("http://sim/_sim/made", params={"ref": "[rf-aaa]"})).json()
    assert [m["id"] for m in listed] == [m.id for m in sim.made_for("[rf-aaa]")]
    assert listed[0]["kind"] == "jogg_v2" and listed[0]["cost"] == 1
    log = (await jogg.get("http://sim/_sim/requests")).json()
    assert [r["made"] for r in log] == [r.made for r in sim.requests]


async def test_uploaded_audio_is_hashed_into_the_jogg_entry(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    audio = wav(1.0)
    url = await upload(jogg, audio)
    created = await jogg.post("/v2/create_video_from_avatar", json=v2_body("x", url))
    assert created.json()["code"] == 0
    (made,) = sim.made_for(sha(audio))
    assert made.sha256 == {"audio_url": sha(audio)} and made.kind == "jogg_v2"


async def test_mirako_tasks_are_attributed_by_their_files(
    mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    """Mirako tasks carry no name: the sha256 of the image and audio ties them to a video."""
    face, intro, outro = png(640, 640), wav(1.0), wav(2.0)
    for audio in (intro, outro, intro):
        answer = await mirako.post(GENERATE, json={"image": b64(face), "audio": b64(audio)})
        assert answer.status_code == 200
    assert len(sim.made_for(sha(intro))) == 2 and len(sim.made_for(sha(outro))) == 1
    assert len(sim.made_for(sha(face), kind="mirako")) == 3
    task = sim.made_for(sha(outro))[0]
    assert task.sha256 == {"image": sha(face), "audio": sha(outro)} and task.name == ""
    assert sim.jobs[task.id].info["audio_sha256"] == sha(outro)
    assert task.cost == 2  # 1 credit per started second
    assert sum(m.cost for m in sim.made) == 4
    assert sim.mirako_credits == sim.config.mirako_credits - 4
    listed = (await mirako.get("http://sim/_sim/made", params={"ref": sha(intro)})).json()
    assert len(listed) == 2 and {m["kind"] for m in listed} == {"mirako"}
    assert len((await mirako.get("http://sim/_sim/made", params={"kind": "mirako"})).json()) == 3


async def test_tts_is_in_the_ledger_and_can_be_followed_into_a_task(
    mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    text = "Hello from the ledger"
    spoken = await mirako.post(
        "/v1/speech/tts",
        json={
            "text": text,
            "voice_profile_id": sorted(MIRAKO_VOICE_IDS)[0],
            "return_type": "b64_audio_str",
        },
    )
    audio = base64.b64decode(spoken.json()["data"]["b64_audio_str"])
    (tts,) = sim.made_for(sha(text.encode()))
    assert tts.kind == "tts" and tts.id == spoken.json()["data"]["id"]
    assert tts.output_sha256 == sha(audio)
    await mirako.post(GENERATE, json={"image": b64(png(640, 640)), "audio": b64(audio)})
    assert [m.kind for m in sim.made_for(tts.output_sha256)] == ["mirako"]


async def test_refused_creates_are_not_in_the_ledger(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.jogg_credits = 0
    sim.reset()
    assert (await jogg.post("/v2/create_video_from_avatar", json=v2_body("x"))).json()[
        "code"
    ] == 18020
    assert (await mirako.post(GENERATE, json={"image": "x"})).status_code == 422
    assert not sim.made and all(r.made is None for r in sim.requests)
    sim.reset()
    assert not sim.made
