"""Hostile answers in process: made then a gateway error, WAF 403, 503 + Retry-After.

Each test checks both sides: what the client is shown (status, content type, body,
headers) and what the provider did (job made and charged, or nothing).
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from simkit import png, wav

from reelform.sim import SimConfig
from reelform.sim.catalog import MIRAKO_VOICE_IDS
from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

V2_BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "square",
    "screen_style": 2,
    "video_name": "intro [rf-v2key]",
}
V1_BODY = {
    "script": "Hi there",
    "aspect_ratio": 0,
    "screen_style": 1,
    "avatar_id": 127,
    "avatar_type": 0,
    "voice_id": "en-US-ChristopherNeural",
    "video_name": "intro [rf-v1key]",
}
MOTION_BODY = {
    "image_url": "https://images.example/me.png",  # accept_external_urls is set below
    "name": "Me [rf-motion]",
    "voice_id": "en-US-ChristopherNeural",
    "model": "2.0",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


MIRAKO_BODY = {"image": b64(png(640, 640)), "audio": b64(wav(1.5))}
TTS_BODY = {
    "text": "Hello there",
    "voice_profile_id": sorted(MIRAKO_VOICE_IDS)[0],
    "return_type": "b64_audio_str",
}


@dataclass(frozen=True)
class Paid:
    """One paid create: where it goes, and what it makes and costs when it succeeds."""

    provider: str  # which client fixture
    path: str
    body: dict[str, Any]
    kind: str  # the Made.kind it enters in the ledger
    cost: float  # jogg credits, or mirako credits (TTS is not charged by the simulator)


PAID = [
    Paid("jogg", "/v2/create_video_from_avatar", V2_BODY, "jogg_v2", 1),
    Paid("jogg", "/v1/create_video_from_talking_avatar", V1_BODY, "jogg_v1", 1),
    Paid("jogg", "/v2/photo_avatar/add_motion", MOTION_BODY, "motion", 2),
    Paid("mirako", "/v1/video/async_generate_talking_avatar", MIRAKO_BODY, "mirako", 2),
    Paid("mirako", "/v1/speech/tts", TTS_BODY, "tts", 0),
]
IDS = [p.kind for p in PAID]


def client(paid: Paid, jogg: httpx.AsyncClient, mirako: httpx.AsyncClient) -> httpx.AsyncClient:
    return jogg if paid.provider == "jogg" else mirako


def spent(sim: Simulator, provider: str) -> float:
    cfg = sim.config
    if provider == "jogg":
        return cfg.jogg_credits - sim.jogg_credits
    return cfg.mirako_credits - sim.mirako_credits


def assert_gateway_page(answer: httpx.Response, status: int, title: str) -> None:
    """An HTML page from whatever is in front of the provider: no envelope, no problem."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<title>{status} {title}</title>" in answer.text
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(answer.content)


def assert_made_once(sim: Simulator, paid: Paid, fault: str) -> None:
    """The provider made exactly one thing for the request, charged it, and logged it."""
    record = sim.requests[-1]
    assert record.fault == fault and record.path.endswith(paid.path)
    assert len(sim.made) == 1
    made = sim.made[0]
    assert (made.kind, made.cost, made.request) == (paid.kind, paid.cost, 0)
    assert record.made == made.id
    assert spent(sim, paid.provider) == paid.cost
    if paid.kind != "tts":
        assert made.id in sim.jobs and sim.jobs[made.id].kind == paid.kind


@pytest.fixture(autouse=True)
def _settings(sim: Simulator) -> None:
    sim.config.accept_external_urls = True
    # Some tests send more creates than JoggAI's 20 a minute; a 429 makes nothing.
    sim.config.rate_limit_per_minute = 10_000


@pytest.mark.parametrize("paid", PAID, ids=IDS)
@pytest.mark.parametrize(("answer", "title"), [("502", "Bad Gateway"), ("504", "Gateway Timeout")])
async def test_made_then_gateway_page(
    jogg: httpx.AsyncClient,
    mirako: httpx.AsyncClient,
    sim: Simulator,
    paid: Paid,
    answer: str,
    title: str,
) -> None:
    sim.config.made_then_gateway_rate = 1.0
    sim.config.made_then_gateway_answers = {answer}
    got = await client(paid, jogg, mirako).post(paid.path, json=paid.body)
    assert_gateway_page(got, int(answer), title)
    assert_made_once(sim, paid, f"made_then_{answer}")
    assert sim.requests[-1].status == int(answer)  # the log says what the client saw


@pytest.mark.parametrize("paid", PAID, ids=IDS)
async def test_made_then_reset(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator, paid: Paid
) -> None:
    sim.config.made_then_gateway_rate = 1.0
    sim.config.made_then_gateway_answers = {"reset"}
    with pytest.raises(httpx.RemoteProtocolError):
        await client(paid, jogg, mirako).post(paid.path, json=paid.body)
    assert_made_once(sim, paid, "made_then_reset")
    assert sim.requests[-1].status is None


async def test_made_then_gateway_after_a_refusal_says_nothing_was_made(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    """The gateway page hides the provider's refusal as well as its success."""
    sim.config.made_then_gateway_rate = 1.0
    sim.config.made_then_gateway_answers = {"502"}
    got = await jogg.post("/v2/create_video_from_avatar", json={**V2_BODY, "avatar": None})
    assert_gateway_page(got, 502, "Bad Gateway")
    record = sim.requests[-1]
    assert record.fault == "not_made_then_502" and record.made is None
    refused = await mirako.post("/v1/video/async_generate_talking_avatar", json={})
    assert refused.status_code == 502 and sim.requests[-1].fault == "not_made_then_502"
    assert not sim.jobs and not sim.made
    assert spent(sim, "jogg") == 0 and spent(sim, "mirako") == 0


async def test_made_then_gateway_only_hits_paid_creates(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.made_then_gateway_rate = 1.0
    sim.config.made_then_gateway_answers = {"502", "504"}
    sim.config.fault_methods = set()  # it picks its own requests
    assert (await jogg.get("/v2/voices")).json()["code"] == 0
    upload = await jogg.post(
        "/v2/upload/asset", json={"filename": "a.wav", "content_type": "audio/wav"}
    )
    assert upload.json()["code"] == 0
    assert (await mirako.get("/v1/voice/profiles")).status_code == 200
    assert [r.fault for r in sim.requests] == [None, None, None]
    created = await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)
    assert created.status_code in (502, 504)
    assert sim.requests[-1].fault in ("made_then_502", "made_then_504")


async def test_made_then_gateway_answers_are_seeded_and_all_appear(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.config.made_then_gateway_rate = 1.0

    async def faults() -> list[str | None]:
        sim.reset()
        for _ in range(24):
            with contextlib.suppress(httpx.RemoteProtocolError):  # "reset"
                await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)
        return [r.fault for r in sim.requests]

    first = await faults()
    assert set(first) == {"made_then_502", "made_then_504", "made_then_reset"}
    assert len(sim.jobs) == 24 == len(sim.made)
    assert await faults() == first


async def test_made_then_gateway_rate_is_a_share(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.made_then_gateway_rate = 0.5
    sim.config.made_then_gateway_answers = {"502"}
    statuses = [
        (await jogg.post("/v2/create_video_from_avatar", json=V2_BODY)).status_code
        for _ in range(40)
    ]
    assert set(statuses) == {200, 502}
    assert len(sim.jobs) == 40  # made every time, whatever the client was told


async def test_gateway_answers_are_checked(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    with pytest.raises(ValueError, match="503"):
        SimConfig(made_then_gateway_answers={"503"})
    with pytest.raises(ValueError, match="none given"):
        SimConfig(made_then_gateway_answers=set())
    bad = await jogg.post(
        "http://sim/_sim/config",
        json={"made_then_gateway_answers": ["502", "bogus"], "made_then_gateway_rate": 1},
    )
    assert bad.status_code == 400 and "bogus" in bad.json()["error"]
    # Refused as a whole: neither change was applied.
    assert sim.config.made_then_gateway_answers == {"502", "504", "reset"}
    assert sim.config.made_then_gateway_rate == 0.0
    good = await jogg.post("http://sim/_sim/config", json={"made_then_gateway_answers": ["reset"]})
    assert good.json()["made_then_gateway_answers"] == ["reset"]
    assert sim.config.made_then_gateway_answers == {"reset"}


@pytest.mark.parametrize("paid", PAID, ids=IDS)
async def test_waf_403_is_html_and_processes_nothing(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator, paid: Paid
) -> None:
    sim.config.waf_403_rate = 1.0
    got = await client(paid, jogg, mirako).post(paid.path, json=paid.body)
    assert_gateway_page(got, 403, "Forbidden")
    assert "web application firewall" in got.text
    assert sim.requests[-1].fault == "waf_403" and sim.requests[-1].status == 403
    assert not sim.jobs and not sim.made and spent(sim, paid.provider) == 0


async def test_waf_403_on_reads_but_not_storage(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    sim.config.waf_403_rate = 1.0
    assert_gateway_page(await jogg.get("/v2/voices"), 403, "Forbidden")
    assert_gateway_page(await jogg.get("/v1/project", params={"project_id": "x"}), 403, "Forbidden")
    # The signed upload goes to storage, not through the API's firewall: its own 403.
    put = await jogg.put("/_upload/nope?signature=x", content=b"data")
    assert put.status_code == 403 and put.headers["content-type"] == "application/xml"
    assert sim.requests[-1].fault is None
    sim.config.fault_methods = {"POST"}
    assert (await jogg.get("/v2/voices")).json()["code"] == 0


@pytest.mark.parametrize("paid", PAID, ids=IDS)
async def test_unavailable_503_with_retry_after_processes_nothing(
    jogg: httpx.AsyncClient, mirako: httpx.AsyncClient, sim: Simulator, paid: Paid
) -> None:
    sim.config.unavailable_rate = 1.0
    sim.config.retry_after_seconds = 9
    got = await client(paid, jogg, mirako).post(paid.path, json=paid.body)
    assert got.status_code == 503 and got.headers["retry-after"] == "9"
    if paid.provider == "jogg":
        assert got.headers["content-type"] == "text/plain; charset=utf-8"
        assert got.text == "Service Unavailable"
    else:
        assert got.headers["content-type"] == "application/problem+json"
        problem = got.json()
        assert (problem["status"], problem["title"]) == (503, "Service Unavailable")
    assert sim.requests[-1].fault == "unavailable_503" and sim.requests[-1].status == 503
    assert not sim.jobs and not sim.made and spent(sim, paid.provider) == 0
    sim.config.unavailable_rate = 0.0
    again = await client(paid, jogg, mirako).post(paid.path, json=paid.body)
    assert again.status_code == 200 and len(sim.made) == 1


async def test_unavailable_differs_from_the_bodiless_503(
    jogg: httpx.AsyncClient, sim: Simulator
) -> None:
    """error_rate's 503 carries no Retry-After: no proof, so it must stay distinguishable."""
    sim.config.error_rate = 1.0
    seen = set()
    for _ in range(30):
        got = await jogg.get("/v2/voices")
        if got.status_code == 503:
            seen.add(got.headers.get("retry-after"))
    assert seen == {None}
