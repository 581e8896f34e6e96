"""Request logging and fault injection, as one raw ASGI middleware around both APIs.

Faults are decided before the routes run, from ``SimConfig`` and a seeded RNG:

* 5xx: answer 500/502/503 (with a provider-shaped body or without one) and do nothing.
* system error: JoggAI's 50000 envelope (HTTP 200 unless ``jogg_error_status`` is
  "mapped"), Mirako's 500 problem; nothing is processed.
* 429 bursts: after every ``burst_429_every`` API POSTs the next ``burst_429_length``
  POSTs are refused with ``Retry-After``.
* drop before: cut the connection without processing.
* drop (after): run the request (the job exists and is charged), then cut the
  connection, so the client cannot know the outcome: the case DESIGN.md section 6 is
  about.
* slow: sleep ``slow_seconds`` first.

A cut connection must look like a network failure to the client in both settings:

* over a real server the middleware sends the response head and then stops; the
  real-server wrapper (``real_server_app``) swallows ``SimulatedDisconnect`` and
  returns, and uvicorn closes the socket mid-response, so the client sees
  ``RemoteProtocolError``/``ReadError``;
* in process, ``httpx.ASGITransport`` re-raises whatever the app raises (its default
  ``raise_app_exceptions=True``), so ``SimulatedDisconnect`` subclasses
  ``httpx.RemoteProtocolError`` and the client sees a transport error, not a status.
  The head is sent first so Starlette's error middleware re-raises instead of
  answering 500. (With ``ASGITransport(raise_app_exceptions=False)`` the client would
  get that empty 200 head instead: keep the default.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelform.sim.answers import jogg_error, problem
from reelform.sim.core import REDACTED, RequestRecord, Simulator, redact_headers


class SimulatedDisconnect(httpx.RemoteProtocolError):
    """Raised by the app to cut a connection (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a complete response (simulated)")


def provider_of(path: str) -> str:
    for name in ("jogg", "mirako"):
        if path == f"/{name}" or path.startswith(f"/{name}/"):
            return name
    return "sim"


def is_api(path: str) -> bool:
    """Provider API routes, plus the upload PUT (storage can fail too); not downloads."""
    return path.startswith(("/jogg/v1/", "/jogg/v2/", "/mirako/v1/", "/jogg/_upload/"))


class RecordAndFault:
    """Logs every request (but /_sim) into ``sim.requests`` and injects faults."""

    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        record = _record(scope, body)
        self.sim.requests.append(record)
        fault = self._choose_fault(record)
        record.fault = fault

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if fault == "slow":
            await asyncio.sleep(self.sim.config.slow_seconds)
        elif fault == "drop_before":
            await _cut(send)
        elif fault in ("500", "502", "503"):
            await self._server_error(int(fault), record)(scope, replay, recording_send)
            return
        elif fault == "system_error":
            answer = self._system_error(record)
            await answer(scope, replay, recording_send)
            return
        elif fault == "burst_429":
            await self._too_many(record.provider)(scope, replay, recording_send)
            return
        elif fault == "drop":

            async def swallow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    record.fault = f"drop (would have answered {message['status']})"

            await self.app(scope, replay, swallow)
            await _cut(send)
        await self.app(scope, replay, recording_send)

    def _choose_fault(self, record: RequestRecord) -> str | None:
        cfg = self.sim.config
        if not is_api(record.path) or record.method not in cfg.fault_methods:
            return None
        rng = self.sim.fault_rng

        def hit(rate: float) -> bool:
            return rate > 0 and rng.random() < rate

        if hit(cfg.drop_before_rate):
            return "drop_before"
        if hit(cfg.error_rate):
            return rng.choice(("500", "502", "503"))
        if hit(cfg.system_error_rate):
            return "system_error"
        if record.method == "POST" and cfg.burst_429_every > 0:
            if self.sim.burst_left > 0:
                self.sim.burst_left -= 1
                return "burst_429"
            self.sim.api_posts += 1
            if self.sim.api_posts % cfg.burst_429_every == 0:
                self.sim.burst_left = cfg.burst_429_length
        if hit(cfg.drop_rate):
            return "drop"
        if hit(cfg.slow_rate):
            return "slow"
        return None

    def _server_error(self, status: int, record: RequestRecord) -> Response:
        """A 5xx as gateways and providers give them: sometimes with a body, often not."""
        provider = "storage" if record.path.startswith("/jogg/_upload/") else record.provider
        if status == 500 and provider == "jogg":
            return JSONResponse(
                {"code": 50000, "msg": "System error", "data": None}, status_code=500
            )
        if status == 500 and provider == "mirako":
            return problem(500, "internal error (simulated)")
        if status == 502:
            return Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                status_code=502,
                media_type="text/html",
            )
        return Response(b"", status_code=status)

    def _system_error(self, record: RequestRecord) -> Response:
        if record.provider == "mirako":
            return problem(500, "internal error (simulated)")
        if record.path.startswith("/jogg/_upload/"):  # storage, not the API
            return Response(b"", status_code=500)
        return jogg_error(self.sim, 50000, v1=record.path.startswith("/jogg/v1/"))

    def _too_many(self, provider: str) -> Response:
        headers = {"Retry-After": str(self.sim.config.retry_after_seconds)}
        if provider == "mirako":
            return problem(429, "rate limit exceeded (simulated burst)", headers=headers)
        return Response(
            "Too Many Requests", status_code=429, headers=headers, media_type="text/plain"
        )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _record(scope: Scope, body: bytes) -> RequestRecord:
    path: str = scope["path"]
    raw_headers = list(scope.get("headers", []))
    headers = redact_headers(raw_headers)
    parsed: Any = None
    if body and "json" in headers.get("content-type", ""):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
    hook = parsed.get("webhook") if isinstance(parsed, dict) else None
    if isinstance(hook, dict) and "auth_token" in hook:
        # Mirako's webhook token is a credential too: keep it out of the log.
        parsed["webhook"] = {**hook, "auth_token": REDACTED}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    return RequestRecord(
        provider=provider_of(path),
        method=scope["method"],
        path=path,
        query=query,
        headers=headers,
        json=parsed,
        body_size=len(body),
        time=time.time(),
        body=b"" if parsed is not None else body,
    )


async def _cut(send: Send) -> None:
    """Start a response that will never finish, then abort (see the module docstring)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    raise SimulatedDisconnect()


def real_server_app(app: ASGIApp) -> ASGIApp:
    """Wrap the app for uvicorn: a simulated cut returns mid-response, closing the socket."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except SimulatedDisconnect:
            return

    return wrapped
