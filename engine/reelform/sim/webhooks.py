"""Webhook deliveries: JoggAI's signed events and Mirako's bearer-token callbacks.

A job that has someone to notify gets one background task that sleeps until the job
ends and then delivers. JoggAI signs the raw body with HMAC-SHA256 (hex, header
``X-Webhook-Signature``) using the endpoint secret, which the simulator takes from
``SimConfig.jogg_webhook_secret`` for account endpoints and per-request URLs alike.
A delivery that does not get a 2xx within the timeout is retried up to
``webhook_retries`` times, ``webhook_retry_seconds`` apart (scaled). Every attempt is
appended to ``sim.webhook_log`` so tests can see lost and retried deliveries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from typing import Any

import httpx
import orjson

from reelform.sim.core import Job, Simulator


def sign(body: bytes, secret: str) -> str:
    """The JoggAI signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _post(sim: Simulator, url: str, body: bytes, headers: dict[str, str]) -> None:
    cfg = sim.config
    if cfg.webhook_loss_rate > 0 and sim.fault_rng.random() < cfg.webhook_loss_rate:
        sim.webhook_log.append({"url": url, "attempt": 0, "outcome": "lost"})
        return
    client = _client(sim)
    for attempt in range(1, cfg.webhook_retries + 2):
        try:
            response = await client.post(
                url, content=body, headers=headers, timeout=cfg.webhook_timeout_seconds
            )
            outcome = str(response.status_code)
            ok = response.is_success
        except httpx.HTTPError as exc:
            outcome, ok = type(exc).__name__, False
        sim.webhook_log.append(
            {"url": url, "attempt": attempt, "outcome": outcome, "time": time.time()}
        )
        if ok:
            return
        if attempt <= cfg.webhook_retries:
            await asyncio.sleep(cfg.scaled(cfg.webhook_retry_seconds))


def _client(sim: Simulator) -> httpx.AsyncClient:
    """A client shared by the deliveries of one simulator in one event loop.

    Making an ``httpx.AsyncClient`` costs some 30 ms (its TLS context); one per
    delivery stalled the simulator's loop when many renders ended together, and
    with it every answer it owed (webhooks arrived up to 0.7 s late in a benchmark).
    """
    transport = sim.config.webhook_transport
    loop = asyncio.get_running_loop()
    # The entry keeps the transport and loop alive, so their ids cannot be reused.
    key = (id(transport), id(loop))
    cached = sim.webhook_clients.get(key)
    if cached is None:
        client = (
            httpx.AsyncClient(transport=transport) if transport is not None else httpx.AsyncClient()
        )
        cached = sim.webhook_clients[key] = (transport, loop, client)
    result: httpx.AsyncClient = cached[2]
    return result


def jogg_targets(sim: Simulator, event: str, job: Job) -> list[str]:
    """Per-request URL plus every enabled account endpoint subscribed to the event."""
    urls = [str(job.info["webhook_url"])] if job.info.get("webhook_url") else []
    for endpoint in sim.endpoints.values():
        if endpoint["status"] == "enabled" and event in endpoint["events"]:
            urls.append(endpoint["url"])
    return urls


async def deliver_jogg(sim: Simulator, event: str, data: dict[str, Any], urls: list[str]) -> None:
    payload = {
        "event_id": uuid.uuid4().hex,
        "event": event,
        "timestamp": int(time.time()),
        "data": data,
    }
    body = orjson.dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Event": event,
        "X-Webhook-Signature": sign(body, sim.config.jogg_webhook_secret),
    }
    await asyncio.gather(*(_post(sim, url, body, headers) for url in urls))


async def deliver_mirako(sim: Simulator, webhook: dict[str, Any], data: dict[str, Any]) -> None:
    """Mirako's body is not documented; mirako.yaml's GenerateTalkingAvatarWebhookRequest
    Body has ``id`` and ``status``; the simulator also sends ``task_id`` and the result."""
    headers = {"Content-Type": "application/json"}
    if webhook.get("auth_token"):
        headers["Authorization"] = f"Bearer {webhook['auth_token']}"
    await _post(sim, str(webhook["url"]), orjson.dumps(data), headers)


def schedule(sim: Simulator, job: Job, fire: Any) -> None:
    """Call ``fire()`` (a coroutine function) when ``job`` ends."""

    async def wait_then_fire() -> None:
        await asyncio.sleep(job.seconds_left())
        await fire()

    sim.spawn(wait_then_fire())
