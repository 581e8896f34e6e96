"""Receiving provider webhooks during `apply --webhook-url URL --listen HOST:PORT`.

A small ASGI app served by uvicorn inside apply's event loop. Deliveries go to
``URL/<provider>``; each one is verified by that provider (JoggAI: HMAC-SHA256
signature of the raw body; Mirako: the run's bearer token) and anything else is
answered 401 and ignored. A verified delivery wakes the task waiting for that
job. Deliveries can be lost, so the executor keeps a slow safety poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from reelform.errors import ConfigError, WebhookRejected
from reelform.providers.base import WebhookEvent

if TYPE_CHECKING:
    from reelform.apply.run import ProviderPool


class WebhookReceiver:
    def __init__(self, public_url: str, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8787")
        self.public_url = public_url.rstrip("/")
        self.host, self.port = host, int(port)
        self.pool: ProviderPool | None = None
        self.received: dict[tuple[str, str], WebhookEvent] = {}
        self.waiters: dict[tuple[str, str], asyncio.Event] = {}
        self.accepted = 0
        self.rejected = 0
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    def url_for(self, provider: str) -> str:
        return f"{self.public_url}/{provider}"

    def bind(self, pool: ProviderPool) -> None:
        self.pool = pool

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{provider}", self._deliver, methods=["POST"])])

    async def _deliver(self, request: Request) -> PlainTextResponse:
        provider_name = request.path_params["provider"]
        body = await request.body()
        provider = self._provider(provider_name)
        if provider is None:
            self.rejected += 1
            return PlainTextResponse("unknown provider", status_code=404)
        try:
            event = provider.verify_webhook(dict(request.headers), body)
        except WebhookRejected:
            self.rejected += 1
            return PlainTextResponse("rejected", status_code=401)
        self.accepted += 1
        key = (provider_name, event.job_id)
        self.received[key] = event
        waiter = self.waiters.get(key)
        if waiter is not None:
            waiter.set()
        return PlainTextResponse("ok")

    def _provider(self, name: str) -> Any:
        if self.pool is None:
            return None
        return next((p for p in self.pool.all() if p.name == name), None)

    async def wait(self, provider: str, job_id: str, timeout: float) -> WebhookEvent | None:
        """The delivery for a job, or None after ``timeout`` (then the caller polls)."""
        key = (provider, job_id)
        if key not in self.received:
            waiter = self.waiters.setdefault(key, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout)
        return self.received.pop(key, None)

    async def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app(), host=self.host, port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._serve())
        while not self._server.started:
            if self._task.done():
                raise ConfigError(
                    f"--listen {self.host}:{self.port}: cannot listen there "
                    "(is the port in use, or the address not this machine's?)"
                )
            await asyncio.sleep(0.01)

    async def _serve(self) -> None:
        # uvicorn reports a bind error by logging it and calling sys.exit(3), which
        # asyncio would carry out of the whole run: a person's mistake (a port in use)
        # must end as an error message, not as reelform's "bug" exit code.
        with contextlib.suppress(SystemExit):
            await self._server.serve()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task
