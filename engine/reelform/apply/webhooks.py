"""Receiving provider webhooks during `apply --webhook-url URL --listen HOST:PORT`.

A small ASGI app served by uvicorn inside apply's event loop. Deliveries go to
``URL/<provider>``; each one is verified by that provider (JoggAI: HMAC-SHA256
signature of the raw body; Mirako: the run's bearer token) and anything else is
answered 401 and ignored. A verified delivery wakes the task waiting for that
job. Deliveries can be lost, so the executor keeps a slow safety poll.

With the state in PostgreSQL (``share``), the receiver also records each verified
delivery in the database, and every runner's waits read the deliveries recorded
there (state/pg/deliveries.py), handed to the same code as a local one. A runner
given `--webhook-url` without `--listen` (``RemoteWebhooks``) submits its jobs with
the URL of another runner's receiver and learns of them only from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from reelform.errors import ConfigError, WebhookRejected
from reelform.providers.base import WebhookEvent
from reelform.registry import provider_traits
from reelform.secrets import redact

if TYPE_CHECKING:
    from reelform.apply.run import ProviderPool
    from reelform.state.pg.deliveries import SharedDeliveries

log = logging.getLogger("reelform.apply")
Key = tuple[str, str]  # (provider, job id)


class Deliveries:
    """The deliveries a run waits on: this receiver's own, and (``share``) those any
    runner's receiver recorded in the state database."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.pool: ProviderPool | None = None
        self.received: dict[Key, WebhookEvent] = {}
        self.waiters: dict[Key, asyncio.Event] = {}
        self.shared: SharedDeliveries | None = None
        #: False while the database cannot be read: waits go back to polling's pace.
        self.shared_ok = True
        self.shared_errors = 0
        self._pause = 2.0
        self._handed: dict[Key, str] = {}  # the recorded deliveries already handed over
        self._watcher: asyncio.Task[None] | None = None

    def url_for(self, provider: str) -> str | None:
        return f"{self.public_url}/{provider}"

    def pushes(self, provider: str) -> bool:
        """Whether deliveries for this provider's jobs are expected to reach this run
        (then polls keep to the slow safety pace)."""
        return True

    def bind(self, pool: ProviderPool) -> None:
        self.pool = pool

    def share(self, shared: SharedDeliveries, pause: float) -> None:
        """Record and read deliveries in the state database, reading every ``pause`` s."""
        self.shared, self._pause = shared, pause

    def _arrived(self, key: Key, event: WebhookEvent) -> None:
        self.received[key] = event
        waiter = self.waiters.get(key)
        if waiter is not None:
            waiter.set()

    def _env(self) -> Any:
        return self.pool.env if self.pool is not None else {}

    async def _record(self, provider: str, event: WebhookEvent) -> None:
        """Best effort: the local waiter has it anyway, the others poll."""
        if self.shared is None:
            return
        from reelform.state.pg.db import StateDatabaseError

        try:
            await asyncio.to_thread(self.shared.record, provider, event)
        except StateDatabaseError as exc:
            self.shared_errors += 1
            log.warning("%s", redact(f"webhook delivery not recorded: {exc}", self._env()))

    async def _watch(self) -> None:
        """One query a round for every job waited on that has no delivery here yet."""
        from reelform.state.pg.db import StateDatabaseError

        assert self.shared is not None
        while True:
            await asyncio.sleep(self._pause)
            keys = [k for k in self.waiters if k not in self.received]
            if not keys:
                continue
            try:
                found = await asyncio.to_thread(self.shared.read, keys)
            except StateDatabaseError as exc:
                if self.shared_ok:
                    log.warning(
                        "%s",
                        redact(
                            f"webhook deliveries unreadable, polling instead: {exc}", self._env()
                        ),
                    )
                self.shared_ok = False
                self.shared_errors += 1
                continue
            self.shared_ok = True
            for key, (at, event) in found.items():
                if self._handed.get(key) != at and key in self.waiters:
                    self._handed[key] = at
                    self._arrived(key, event)

    async def wait(self, provider: str, job_id: str, timeout: float) -> WebhookEvent | None:
        """The delivery for a job, or None after ``timeout`` (then the caller polls)."""
        key = (provider, job_id)
        if key not in self.received:
            waiter = self.waiters.setdefault(key, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout)
        # Not waited on while the caller polls: the watcher asks only for waiting jobs.
        self.waiters.pop(key, None)
        return self.received.pop(key, None)

    async def start(self) -> None:
        if self.shared is not None:
            self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(BaseException):
                await self._watcher


class RemoteWebhooks(Deliveries):
    """`--webhook-url` without `--listen`, with the state in PostgreSQL: another
    runner's receiver gets the deliveries and records them; this one reads them.

    A provider whose deliveries carry a token made for each run (Mirako) could not be
    verified by that receiver: its jobs are sent without the URL and polled."""

    def url_for(self, provider: str) -> str | None:
        if provider_traits(provider).webhook_token:
            return None
        return super().url_for(provider)

    def pushes(self, provider: str) -> bool:
        return self.url_for(provider) is not None and self.shared_ok


class WebhookReceiver(Deliveries):
    def __init__(self, public_url: str, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8787")
        super().__init__(public_url)
        self.host, self.port = host, int(port)
        self.accepted = 0
        self.rejected = 0
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

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
        self._arrived((provider_name, event.job_id), event)
        # Recorded after the answer: the provider's delivery never waits on the database.
        record = BackgroundTask(self._record, provider_name, event)
        return PlainTextResponse("ok", background=record)

    def _provider(self, name: str) -> Any:
        if self.pool is None:
            return None
        return next((p for p in self.pool.all() if p.name == name), None)

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
        await super().start()

    async def _serve(self) -> None:
        # uvicorn reports a bind error by logging it and calling sys.exit(3), which
        # asyncio would carry out of the whole run: a person's mistake (a port in use)
        # must end as an error message, not as reelform's "bug" exit code.
        with contextlib.suppress(SystemExit):
            await self._server.serve()

    async def stop(self) -> None:
        await super().stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task
