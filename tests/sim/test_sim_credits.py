"""The simulators' credit balances: one per API key, charged per create by the plan's
rule, refused with JoggAI 18020 / a Mirako 402 problem when short, and reflected by
JoggAI's remaining_quota (checked against jogg-v2.yaml)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from simkit import FAST, KEY, Contract, png, wav

from reelform.plan.diff import credits_for
from reelform.sim import SimConfig, serve_in_thread
from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

CREATE = "/v2/create_video_from_avatar"
GENERATE = "/v1/video/async_generate_talking_avatar"
OTHER = "another-key"


def video(words: int = 1) -> dict[str, Any]:
    return {
        "avatar": {"avatar_id": 81, "avatar_type": 0},
        "voice": {
            "type": "script",
            "voice_id": "en-US-ChristopherNeural",
            "script": " ".join(["word"] * words),
        },
        "aspect_ratio": "portrait",
        "screen_style": 1,
    }


def talking(seconds: float = 2.5) -> dict[str, Any]:
    return {
        "image": base64.b64encode(png(640, 800)).decode(),
        "audio": base64.b64encode(wav(seconds)).decode(),
    }


async def quota(jogg: httpx.AsyncClient, contract: Contract, key: str = KEY) -> float:
    answer = await jogg.get("/v2/user/remaining_quota", headers={"x-api-key": key})
    contract.check("jogg-v2", answer)
    body = answer.json()
    assert body["code"] == 0 and set(body["data"]) == {"remaining_quota"}
    value: float = body["data"]["remaining_quota"]
    return value


@pytest.mark.parametrize("words", [1, 300, 301, 600, 601])
async def test_a_create_costs_what_the_plan_estimates(
    jogg: httpx.AsyncClient, sim: Simulator, contract: Contract, words: int
) -> None:
    """The simulator charges by the rule of the plan's estimate (2.5 words a second,
    1 credit per started 2 minutes), so "a balance for 3 videos" means what it says."""
    before = await quota(jogg, contract)
    assert (await jogg.post(CREATE, json=video(words))).json()["code"] == 0
    charged = before - await quota(jogg, contract)
    assert charged == credits_for("jogg", words / 2.5)
    assert sim.made[-1].cost == charged


async def test_each_key_has_its_own_balance(
    jogg: httpx.AsyncClient, sim: Simulator, contract: Contract
) -> None:
    sim.key_credits["jogg"][KEY] = 2.0
    shared = sim.jogg_credits
    for _ in range(2):
        assert (await jogg.post(CREATE, json=video())).json()["code"] == 0
    refused = await jogg.post(CREATE, json=video())
    # (Not contract-checked: jogg-v2.yaml types `data` as an object even for errors,
    # whose `data` its own BaseResponse documents as null.)
    assert refused.json() == {"code": 18020, "msg": "Insufficient credit", "data": None}
    assert len(sim.made) == 2 and len(sim.jobs) == 2  # nothing made, nothing charged
    assert await quota(jogg, contract) == 0.0
    # Another key draws on the shared balance, untouched by the first key's spending.
    assert await quota(jogg, contract, OTHER) == shared
    other = await jogg.post(CREATE, json=video(), headers={"x-api-key": OTHER})
    assert other.json()["code"] == 0
    assert sim.jogg_credits == shared - 1 and await quota(jogg, contract) == 0.0


async def test_a_photo_avatar_motion_is_charged_to_the_key(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.key_credits["jogg"][KEY] = 1.0  # a motion costs 2
    upload = (
        await jogg.post("/v2/upload/asset", json={"filename": "f.png", "content_type": "image/png"})
    ).json()["data"]
    put = await jogg.put(upload["sign_url"], content=png(), headers={"Content-Type": "image/png"})
    assert put.status_code == 200
    motion = {"image_url": upload["asset_url"], "name": "a", "voice_id": "v", "model": "1.0"}
    answer = await jogg.post("/v2/photo_avatar/add_motion", json=motion)
    assert answer.json()["code"] == 18020 and not sim.made
    sim.key_credits["jogg"][KEY] = 2.0
    assert (await jogg.post("/v2/photo_avatar/add_motion", json=motion)).json()["code"] == 0
    assert sim.key_credits["jogg"][KEY] == 0.0


async def test_mirako_per_key_402_problem(
    mirako: httpx.AsyncClient, sim: Simulator, contract: Contract
) -> None:
    sim.key_credits["mirako"][KEY] = 5.0  # a 2.5 s clip costs 3 (1 per started second)
    assert (await mirako.post(GENERATE, json=talking())).status_code == 200
    refused = await mirako.post(GENERATE, json=talking())
    contract.check("mirako", refused)
    assert refused.status_code == 402
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 402 and len(sim.made) == 1
    assert sim.key_credits["mirako"][KEY] == 2.0
    other = await mirako.post(
        GENERATE, json=talking(), headers={"Authorization": f"Bearer {OTHER}"}
    )
    assert other.status_code == 200  # the shared balance


def test_the_control_endpoint_sets_and_tops_up_balances() -> None:
    config = SimConfig(time_scale=FAST, jogg_key_credits={"k": 1.0})
    with (
        serve_in_thread(config) as base,
        httpx.Client(base_url=base, headers={"x-api-key": "k"}) as client,
    ):
        assert client.get("/_sim/credits").json()["keys"] == {"jogg": {"k": 1.0}, "mirako": {}}
        assert client.post("/jogg" + CREATE, json=video()).json()["code"] == 0
        assert client.post("/jogg" + CREATE, json=video()).json()["code"] == 18020
        topped = client.post("/_sim/credits", json={"provider": "jogg", "key": "k", "add": 2})
        assert topped.status_code == 200 and topped.json()["keys"]["jogg"] == {"k": 2.0}
        quota = client.get("/jogg/v2/user/remaining_quota").json()
        assert quota["data"] == {"remaining_quota": 2.0}
        shared = client.post("/_sim/credits", json={"provider": "mirako", "set": 7}).json()
        assert shared["mirako"] == 7.0
        # Through /_sim/config too, as the other knobs.
        changed = client.post("/_sim/config", json={"jogg_key_credits": {"k": 0}})
        assert changed.status_code == 200
        assert client.get("/_sim/credits").json()["keys"]["jogg"] == {"k": 0.0}
        for bad, why in [
            ({"provider": "heygen", "set": 1}, "provider"),
            ({"provider": "jogg"}, "exactly one"),
            ({"provider": "jogg", "set": 1, "add": 1}, "exactly one"),
            ({"provider": "jogg", "set": "lots"}, "a number"),
            ({"provider": "jogg", "set": True}, "a number"),
            ({"provider": "jogg", "key": "", "set": 1}, "key"),
            ({"provider": "jogg", "set": 1, "keys": "k"}, "unknown fields: keys"),
            ([1], "JSON object"),
        ]:
            answer = client.post("/_sim/credits", json=bad)
            assert answer.status_code == 400 and why in answer.json()["error"], (bad, answer.text)
        wrong = client.post("/_sim/config", json={"jogg_key_credits": {"k": "many"}})
        assert wrong.status_code == 400 and "jogg_key_credits" in wrong.json()["error"]
        assert client.get("/_sim/credits").json()["keys"]["jogg"] == {"k": 0.0}  # unchanged
