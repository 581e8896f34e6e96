"""Request logging and fault injection, as one raw ASGI middleware around both APIs.

Faults are decided before the routes run, from ``SimConfig`` and a seeded RNG, and each
request's ``RequestRecord.fault`` names the one it got. Not processed (nothing made,
nothing charged; ``fault_methods`` limits which methods get them):

* ``drop_before``: cut the connection without processing (``drop_before_rate``).
* ``waf_403``: a web application firewall's HTML 403 page (``waf_403_rate``; API routes,
  not the storage PUT).
* ``unavailable_503``: 503 with ``Retry-After`` (``unavailable_rate``; API routes): the
  one 5xx that proves the request was not taken.
* ``500``/``502``/``503``: a 5xx with a provider-shaped body, an HTML page or nothing
  (``error_rate``).
* ``system_error``: JoggAI's 50000 envelope (HTTP 200 unless ``jogg_error_status`` is
  "mapped"), Mirako's 500 problem (``system_error_rate``).
* ``burst_429``: after every ``burst_429_every`` API POSTs the next ``burst_429_length``
  POSTs are refused with ``Retry-After``.
* ``unauthorized``: a rotated key; provider API GETs answer 401 (JoggAI 10105 envelope,
  Mirako problem) inside the window ``unauthorized_reads_after``/``_count`` (counted in
  API GETs since start or reset, ``sim.api_reads``) or at ``unauthorized_reads_rate``.

Processed (for a create: the job exists and is charged) but the client cannot tell:

* ``made_then_502``/``made_then_504``/``made_then_reset``: a paid create
  (``PAID_CREATES``) is processed, then a gateway answers an HTML 502 or 504 page or
  resets the connection (``made_then_gateway_rate``, ``made_then_gateway_answers``).
  ``not_made_then_...`` when the route refused the request (say, a 40000).
* ``drop (would have answered N)``: processed, then the connection is cut
  (``drop_rate``).
* ``made_then_slow``/``slow_after``: processed, then answered ``slow_seconds`` late
  (``slow_after_rate``); `` (client gone)`` is appended, and nothing is sent, when the
  client hung up meanwhile (``status`` stays None).
* ``slow``: sleep ``slow_seconds``, then process (``slow_rate``).
* ``not_found_yet`` (set by the status routes, see ``Simulator.find_job``): a job read
  within ``not_found_seconds`` of its create is not found.

What each request made is on ``RequestRecord.made`` and in ``Simulator.made``.

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
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelform.sim import gateway
from reelform.sim.core import (
    INDEX_KEY,
    RECORD_KEY,
    REDACTED,
    RequestRecord,
    Simulator,
    redact_headers,
)

# The requests that cost money: what "made, then a gateway error" targets.
PAID_CREATES = frozenset(
    {
        "/jogg/v2/create_video_from_avatar",
        "/jogg/v1/create_video_from_talking_avatar",
        "/jogg/v2/photo_avatar/add_motion",
        "/mirako/v1/video/async_generate_talking_avatar",
        "/mirako/v1/speech/tts",
    }
)


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


def is_provider_api(path: str) -> bool:
    """The providers' API hosts only: what a WAF or a key guards, unlike storage."""
    return path.startswith(("/jogg/v1/", "/jogg/v2/", "/mirako/v1/"))


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
        # The routes find their record through the scope, to mark what they made.
        scope[RECORD_KEY], scope[INDEX_KEY] = record, len(self.sim.requests)
        self.sim.requests.append(record)
        fault = self._choose_fault(record)
        record.fault = fault

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        refusal = self._refusal(fault, record)
        if refusal is not None:
            await refusal(scope, replay, recording_send)
        elif fault == "drop_before":
            await _cut(send)
        elif fault == "drop":
            status = await self._run_unheard(scope, replay)
            record.fault = f"drop (would have answered {status})"
            await _cut(send)
        elif fault is not None and fault.startswith("made_then_"):
            answer = fault.removeprefix("made_then_")
            await self._run_unheard(scope, replay)
            record.fault = f"{'made' if record.made else 'not_made'}_then_{answer}"
            if answer == "reset":
                await _cut(send)
            # Answered at once: a gateway's real 504 comes after its own timeout, but
            # a client that waits less than that is slow_after's case, not this one.
            page = gateway.bad_gateway() if answer == "502" else gateway.gateway_timeout()
            await page(scope, replay, recording_send)
        elif fault == "slow_after":
            await self._answer_late(scope, replay, receive, recording_send, record)
        else:
            if fault == "slow":
                await asyncio.sleep(self.sim.config.slow_seconds)
            await self.app(scope, replay, recording_send)

    def _refusal(self, fault: str | None, record: RequestRecord) -> Response | None:
        """The answer of a fault that processes nothing, or None for the others."""
        if fault in ("500", "502", "503"):
            return gateway.server_error(int(fault), record)
        if fault == "system_error":
            return gateway.system_error(self.sim, record)
        if fault == "burst_429":
            return gateway.too_many(self.sim, record)
        if fault == "waf_403":
            return gateway.waf_forbidden()
        if fault == "unavailable_503":
            return gateway.unavailable(self.sim, record)
        if fault == "unauthorized":
            return gateway.unauthorized(self.sim, record)
        return None

    async def _run_unheard(self, scope: Scope, replay: Receive) -> int | None:
        """Process the request, keeping its answer from the client; the status it had."""
        status: int | None = None

        async def swallow(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, replay, swallow)
        return status

    async def _answer_late(
        self,
        scope: Scope,
        replay: Receive,
        receive: Receive,
        send: Send,
        record: RequestRecord,
    ) -> None:
        """Process now, answer after ``slow_seconds``, unless the client hung up.

        Sending to a client that left is pointless (uvicorn drops it; another server
        might raise), so the answer is only kept and sent if the client stayed.
        """
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, replay, keep)
        gone = await _client_leaves_within(receive, self.sim.config.slow_seconds)
        record.fault = ("made_then_slow" if record.made else "slow_after") + (
            " (client gone)" if gone else ""
        )
        if not gone:
            for message in messages:
                await send(message)

    def _choose_fault(self, record: RequestRecord) -> str | None:
        cfg = self.sim.config
        if not is_api(record.path):
            return None
        rng = self.sim.fault_rng

        def hit(rate: float) -> bool:
            # No draw at rate 0: a fault left off shifts no other fault's sequence.
            return rate > 0 and rng.random() < rate

        read = record.method == "GET" and is_provider_api(record.path)
        if read:
            self.sim.api_reads += 1
            first = cfg.unauthorized_reads_after
            if first < self.sim.api_reads <= first + cfg.unauthorized_reads_count:
                return "unauthorized"
        generic = record.method in cfg.fault_methods
        if generic and (refused := self._refused_before(record, hit)) is not None:
            return refused
        if read and hit(cfg.unauthorized_reads_rate):
            return "unauthorized"
        paid = record.method == "POST" and record.path in PAID_CREATES
        if paid and hit(cfg.made_then_gateway_rate):
            return "made_then_" + rng.choice(sorted(cfg.made_then_gateway_answers))
        if not generic:
            return None
        if hit(cfg.drop_rate):
            return "drop"
        if hit(cfg.slow_after_rate):
            return "slow_after"
        if hit(cfg.slow_rate):
            return "slow"
        return None

    def _refused_before(self, record: RequestRecord, hit: Callable[[float], bool]) -> str | None:
        """The faults that stop a request before the provider does anything with it."""
        cfg = self.sim.config
        rng = self.sim.fault_rng
        if hit(cfg.drop_before_rate):
            return "drop_before"
        edge = is_provider_api(record.path)
        if edge and hit(cfg.waf_403_rate):
            return "waf_403"
        if edge and hit(cfg.unavailable_rate):
            return "unavailable_503"
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
        return None


async def _client_leaves_within(receive: Receive, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as the client disconnects.

    The body was read already, so the next message is ``http.disconnect``: uvicorn
    sends it when the socket closes, httpx.ASGITransport only after the response.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            return False
        if message["type"] == "http.disconnect":
            return True
    return False


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
