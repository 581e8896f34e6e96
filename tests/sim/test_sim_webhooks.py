"""Webhook deliveries to a real receiver: signatures, retries, bearer tokens, losses."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from reelform.sim import DEFAULT_WEBHOOK_SECRET
from reelform.sim.core import Simulator

pytestmark = pytest.mark.anyio

BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "landscape",
    "screen_style": 3,
}


@dataclass
class Receiver:
    """A tiny HTTP server that records deliveries; the first ``fail_first`` get 500."""

    url: str = ""
    fail_first: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append({"path": self.path, "headers": dict(self.headers), "raw": raw})
            failing = len(state.calls) <= state.fail_first
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


async def until(predicate: Any, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


def verify(call: dict[str, Any], secret: str = DEFAULT_WEBHOOK_SECRET) -> dict[str, Any]:
    expected = hmac.new(secret.encode(), call["raw"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Webhook-Signature"] == expected
    payload: dict[str, Any] = json.loads(call["raw"])
    assert call["headers"]["X-Webhook-Event"] == payload["event"]
    assert set(payload) == {"event_id", "event", "timestamp", "data"}
    return payload


async def test_per_request_webhook_is_signed(
    jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    answer = await jogg.post(
        "/v2/create_video_from_avatar", json={**BODY, "webhook_url": receiver.url}
    )
    video_id = answer.json()["data"]["video_id"]
    await until(lambda: receiver.calls)
    payload = verify(receiver.calls[0])
    assert payload["event"] == "generated_avatar_video_success"
    data = payload["data"]
    assert data["video_id"] == video_id and data["status"] == "completed"
    assert data["video_url"].endswith(".mp4") and data["cover_url"] and data["duration"]
    polled = (await jogg.get(f"/v2/avatar_video/{video_id}")).json()["data"]
    assert polled["video_url"] == data["video_url"]


async def test_failure_event_and_account_endpoint(
    jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    sim.config.render_fail_rate = 1.0
    sim.config.jogg_webhook_secret = "whsec_other"
    registered = await jogg.post(
        "/v2/endpoint",
        json={
            "url": receiver.url,
            "status": "enabled",
            "events": ["generated_avatar_video_failed"],
        },
    )
    assert registered.json()["data"]["secret"] == "whsec_other"
    await jogg.post("/v2/create_video_from_avatar", json=BODY)
    await until(lambda: receiver.calls)
    payload = verify(receiver.calls[0], "whsec_other")
    assert payload["event"] == "generated_avatar_video_failed"
    assert payload["data"]["status"] == "failed"
    assert payload["data"]["error"]["message"]


async def test_unsubscribed_and_disabled_endpoints_get_nothing(
    jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    await jogg.post(
        "/v2/endpoint",
        json={"url": receiver.url, "status": "enabled", "events": ["generated_motion_success"]},
    )
    await jogg.post(
        "/v2/endpoint",
        json={
            "url": receiver.url,
            "status": "disabled",
            "events": ["generated_avatar_video_success"],
        },
    )
    video_id = (await jogg.post("/v2/create_video_from_avatar", json=BODY)).json()["data"][
        "video_id"
    ]
    await asyncio.sleep(sim.jobs[video_id].seconds_left() + 0.1)
    assert receiver.calls == [] and not sim.tasks


async def test_retries_three_times(
    jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    receiver.fail_first = 3
    await jogg.post("/v2/create_video_from_avatar", json={**BODY, "webhook_url": receiver.url})
    await until(lambda: len(sim.webhook_log) == 4)
    assert [a["outcome"] for a in sim.webhook_log] == ["500", "500", "500", "200"]
    # Every attempt carries the same event (same id, same signature).
    assert len({c["raw"] for c in receiver.calls}) == 1


async def test_gives_up_after_three_retries(
    jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    receiver.fail_first = 99
    await jogg.post("/v2/create_video_from_avatar", json={**BODY, "webhook_url": receiver.url})
    await until(lambda: len(sim.webhook_log) == 4)
    await asyncio.sleep(0.1)
    assert len(receiver.calls) == 4


async def test_lost_webhooks(jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver) -> None:
    sim.config.webhook_loss_rate = 1.0
    video_id = (
        await jogg.post("/v2/create_video_from_avatar", json={**BODY, "webhook_url": receiver.url})
    ).json()["data"]["video_id"]
    await until(lambda: sim.webhook_log)
    assert sim.webhook_log[0]["outcome"] == "lost" and receiver.calls == []
    # Polling (the safety net) still sees the result.
    assert (await jogg.get(f"/v2/avatar_video/{video_id}")).json()["data"]["status"] == "completed"


async def test_motion_events(jogg: httpx.AsyncClient, sim: Simulator, receiver: Receiver) -> None:
    sim.config.accept_external_urls = True
    await jogg.post(
        "/v2/endpoint",
        json={"url": receiver.url, "status": "enabled", "events": ["generated_motion_success"]},
    )
    motion = (
        await jogg.post(
            "/v2/photo_avatar/add_motion",
            json={
                "image_url": "https://cdn.example.com/me.jpg",
                "name": "Me",
                "voice_id": "v",
                "model": "1.0",
            },
        )
    ).json()["data"]
    await until(lambda: receiver.calls)
    payload = verify(receiver.calls[0])
    assert payload["event"] == "generated_motion_success"
    assert payload["data"]["motion_id"] == motion["motion_id"]


async def test_mirako_webhook_bearer(
    mirako: httpx.AsyncClient, sim: Simulator, receiver: Receiver
) -> None:
    from test_sim_mirako import body

    answer = await mirako.post(
        "/v1/video/async_generate_talking_avatar",
        json=body(webhook={"url": receiver.url, "auth_token": "hook-token"}),
    )
    task_id = answer.json()["data"]["task_id"]
    await until(lambda: receiver.calls)
    call = receiver.calls[0]
    assert call["headers"]["Authorization"] == "Bearer hook-token"
    payload = json.loads(call["raw"])
    assert payload["task_id"] == payload["id"] == task_id
    assert payload["status"] == "COMPLETED" and payload["file_url"].endswith(".mp4")
    assert isinstance(payload["delayTime"], int) and payload["output"]["infer_time"] >= 0
    logged = next(r for r in sim.requests if r.method == "POST")
    assert logged.json["webhook"] == {"url": receiver.url, "auth_token": "***"}
    assert "hook-token" not in repr(sim.requests)


async def test_in_process_webhook_transport(jogg: httpx.AsyncClient, sim: Simulator) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    sim.config.webhook_transport = httpx.MockTransport(handler)
    await jogg.post(
        "/v2/create_video_from_avatar", json={**BODY, "webhook_url": "https://hooks.example.com/x"}
    )
    await until(lambda: seen)
    assert str(seen[0].url) == "https://hooks.example.com/x"
    assert seen[0].headers["x-webhook-event"] == "generated_avatar_video_success"
