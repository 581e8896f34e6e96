"""The gallery's server: loopback by default, and nothing but the gallery.

What it answers (everything else is 404):

    GET  /                      the page (approvals re-read from disk)
    GET  /assets/<name>         gallery.css, gallery.js (package data)
    GET  /posters/<sha256>.jpg  a poster the gallery made
    GET  /media/<key>           an output or preview a card shows
    POST /api/approvals         approve / reject cards (JSON)
    GET  /events                server-sent events: cards that changed

Files are looked up by key in what the gallery knows, never by joining a request's
path to a folder, so ``..``, ``%2e%2e`` or an absolute path names nothing and gets
404. A known file is resolved again when it is served and must still lie inside its
spec's output (or preview) folder: a symlink swapped in since gets 403. Requests
whose Host is not the server's own are refused (DNS rebinding), and approvals are
taken only as same-origin JSON (no form from another site can post one).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelform.errors import UserError
from reelform.review.build import Gallery, SpecCards, inside
from reelform.review.model import Card
from reelform.review.page import ASSETS, Links, asset_bytes, render_cards, render_page, served_links
from reelform.state.approvals import Approvals, read_approvals, record_approvals

DEFAULT_HOST = "127.0.0.1"
_POSTER_RE = re.compile(r"^([0-9a-f]{64})\.jpg$")
_TYPES = {"gallery.css": "text/css; charset=utf-8", "gallery.js": "text/javascript; charset=utf-8"}
#: Defence in depth behind autoescape: no inline script, nothing from elsewhere.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HEARTBEAT_SECONDS = 15.0


def parse_address(text: str) -> tuple[str, int]:
    """``PORT``, ``:PORT``, ``HOST:PORT`` or ``[V6]:PORT``; the host defaults to loopback."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--serve {text!r}: expected [HOST:]PORT, e.g. 127.0.0.1:8765")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Hub:
    """Server-sent event subscribers; each gets every event from its connection on."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()

    def publish(self, event: str, data: Mapping[str, Any]) -> None:
        message = f"event: {event}\ndata: {orjson.dumps(data).decode()}\n\n"
        for queue in self._queues:
            queue.put_nowait(message)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": heartbeat\n\n"  # proxies and browsers keep the stream open
                    continue
                if message is None:
                    return
                yield message
        finally:
            self._queues.discard(queue)


class GalleryServer:
    """The current gallery, its page, and what changed since the last one."""

    def __init__(self, gallery: Gallery | None = None) -> None:
        self.hub = Hub()
        self.gallery = gallery or Gallery()
        self.links = served_links(self.gallery)
        self.fragments = render_cards(self.gallery.cards, self.links)
        self.media = self.gallery.media()
        self.by_id = _index(self.gallery)
        self.host, self.port = DEFAULT_HOST, 0
        self.served_hosts: frozenset[str] | None = None  # None: any Host header
        self.notice: str | None = None  # shown at the top of the page (a failed update)

    # --- state --------------------------------------------------------------------------

    def publish(self, gallery: Gallery) -> None:
        """Take a new gallery; tell the open pages which cards changed."""
        self._take(gallery)

    def _take(self, gallery: Gallery, *, quiet: bool = False) -> dict[str, str]:
        before = self.fragments
        self.gallery = gallery
        self.links = served_links(gallery)
        self.fragments = render_cards(gallery.cards, self.links)
        self.media = gallery.media()
        self.by_id = _index(gallery)
        changed = {k: v for k, v in self.fragments.items() if before.get(k) != v}
        if not quiet:
            if list(before) != list(self.fragments):
                self.hub.publish("layout", {})
            elif changed:
                self.hub.publish("cards", {"cards": changed})
        return changed

    # State changes happen on the event loop only (the hub's queues are asyncio's);
    # the file reads and writes they need run in a thread, between the steps.

    def approvals_files(self) -> list[Path]:
        return [spec.prepared.spec.path for spec in self.gallery.specs]

    def take_approvals(self, states: Mapping[Path, Approvals]) -> dict[str, str]:
        """Show these approvals on the current cards of their specs; the changed cards."""
        specs = []
        changed = False
        for spec in self.gallery.specs:
            state = states.get(spec.prepared.spec.path)
            fresh = spec if state is None else _with_approvals(spec, state)
            changed |= any(
                (a.approved, a.void) != (b.approved, b.void)
                for a, b in zip(spec.cards, fresh.cards, strict=True)
            )
            specs.append(fresh)
        return self._take(Gallery(specs, self.gallery.posters)) if changed else {}

    def check_request(
        self, approve: Mapping[str, str], reject: Iterable[str]
    ) -> tuple[int, dict[str, Any]] | dict[Path, tuple[dict[str, str], list[str]]]:
        """What to record, by spec; or the refusal (status, answer) of a bad request."""
        found: dict[str, tuple[SpecCards, Card]] = {}
        unknown = []
        for card_id in [*approve, *reject]:
            hit = self.by_id.get(card_id)
            if hit is None:
                unknown.append(card_id)
            else:
                found[card_id] = hit
        if unknown:
            return 404, {"error": f"no such card: {', '.join(sorted(unknown)[:5])}"}
        stale = [i for i, identity in approve.items() if found[i][1].identity != identity]
        if stale:
            names = ", ".join(found[i][1].name for i in stale[:5])
            return 409, {
                "error": f"changed since the page showed it, not approved: {names}; look again",
                "cards": {i: self.fragments[i] for i in stale},
            }
        by_spec: dict[Path, tuple[dict[str, str], list[str]]] = {}
        for card_id, (spec, card) in found.items():
            wanted = by_spec.setdefault(spec.prepared.spec.path, ({}, []))
            if card_id in approve:
                wanted[0][card.name] = card.identity
            else:
                wanted[1].append(card.name)
        return by_spec

    # --- the ASGI app -------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self._page),
                Route("/assets/{name}", self._asset),
                Route("/posters/{name}", self._poster),
                Route("/media/{key:path}", self._media),
                Route("/api/approvals", self._approvals, methods=["POST"]),
                Route("/events", self._events),
            ],
            middleware=[Middleware(_HostCheck, server=self)],
        )

    async def _page(self, request: Request) -> Response:
        # Approvals made elsewhere (another server, `reelform approve`) show on reload.
        notice = self.notice
        try:
            states = await asyncio.to_thread(_read_all, self.approvals_files())
        except UserError as exc:  # a bad approvals file: said on the page, never a 500
            notice = "; ".join(exc.lines())
        else:
            self.take_approvals(states)
        html = render_page(self.gallery, self.links, notice)
        return Response(html, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return _not_found()
        return Response(
            asset_bytes(name), media_type=_TYPES[name], headers={"Cache-Control": "no-cache"}
        )

    async def _poster(self, request: Request) -> Response:
        match = _POSTER_RE.match(request.path_params["name"])
        path = self.gallery.posters.get(match.group(1)) if match else None
        if path is None:
            return _not_found()
        return FileResponse(
            path, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400, immutable"}
        )

    async def _media(self, request: Request) -> Response:
        known = self.media.get(request.path_params["key"])
        if known is None:
            return _not_found()
        path, root = known
        if not inside(path, root) or not path.is_file():
            return Response(
                "Forbidden: outside the gallery's folders\n", 403, media_type="text/plain"
            )
        return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "no-cache"})

    async def _approvals(self, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "expected application/json"}, 415)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            return JSONResponse({"error": "cross-origin approvals are refused"}, 403)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSONResponse({"error": "the body is not JSON"}, 400)
        try:
            approve, reject = _parse_request(body)
            checked = self.check_request(approve, reject)
            if isinstance(checked, tuple):
                return JSONResponse(checked[1], checked[0])
            states = await asyncio.to_thread(_record_all, checked)
        except UserError as exc:  # a bad request, or an approvals file that does not parse
            return JSONResponse({"error": "; ".join(exc.lines())}, 400)
        except OSError as exc:  # the approvals file cannot be read or written: said, not a 500
            where = exc.filename or "the approvals file"
            return JSONResponse({"error": f"{where}: {exc.strerror or exc}; nothing recorded"}, 507)
        changed = self.take_approvals(states)
        mine = {i: self.fragments[i] for i in [*approve, *reject] if i in self.fragments}
        return JSONResponse({"cards": {**changed, **mine}})

    async def _events(self, request: Request) -> Response:
        return StreamingResponse(
            self.hub.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # --- running ------------------------------------------------------------------------

    async def serve(
        self, host: str, port: int, *, ready: Callable[[str], None] | None = None
    ) -> None:
        """Serve until cancelled; ``ready`` gets the URL once the socket listens.

        The socket is bound here, not by uvicorn: a port in use is a UserError with
        the reason, rather than uvicorn's log line and exit."""
        import uvicorn

        sock = listen(host, port)
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = _server_without_signals(config)
        bound = sock.getsockname()[1]
        self.host, self.port = host, bound
        self.served_hosts = _own_hosts(host, bound)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                if task.done():
                    await task
                    raise UserError(f"--serve {host}:{port}: the server did not start")
                await asyncio.sleep(0.02)
            if ready is not None:
                ready(f"http://{_url_host(host)}:{bound}/")
            await asyncio.shield(task)
        finally:
            self.hub.close()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task
            sock.close()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (UserError when it cannot be had)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"--serve {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise UserError(f"--serve {host}:{port}: {reason or exc}") from None
    sock.set_inheritable(True)
    return sock


def _server_without_signals(config: Any) -> Any:
    """A uvicorn server that leaves SIGINT to the command (Ctrl-C stops the watcher
    and the server together, as KeyboardInterrupt), instead of taking it over."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


async def serve_while(
    server: GalleryServer,
    host: str,
    port: int,
    work: Callable[[], Awaitable[None]],
    ready: Callable[[str], None],
) -> None:
    """Serve the gallery while ``work`` runs (the watcher); stop both when one ends."""
    started = asyncio.Event()

    def on_ready(url: str) -> None:
        ready(url)
        started.set()

    serving = asyncio.create_task(server.serve(host, port, ready=on_ready))
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        await serving  # failed to start: say why
        return
    try:
        await work()
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _index(gallery: Gallery) -> dict[str, tuple[SpecCards, Card]]:
    return {card.id: (spec, card) for spec in gallery.specs for card in spec.cards}


def _read_all(specs: Iterable[Path]) -> dict[Path, Approvals]:
    return {spec: read_approvals(spec) for spec in specs}


def _record_all(wanted: Mapping[Path, tuple[dict[str, str], list[str]]]) -> dict[Path, Approvals]:
    return {
        spec: record_approvals(spec, approve, reject) for spec, (approve, reject) in wanted.items()
    }


def _with_approvals(spec: SpecCards, approvals: Approvals) -> SpecCards:
    cards = [
        dataclasses.replace(
            c,
            approved=approvals.approved(c.name, c.identity),
            void=approvals.void(c.name, c.identity),
        )
        for c in spec.cards
    ]
    return SpecCards(spec.prepared, spec.plan, cards)


def _parse_request(body: Any) -> tuple[dict[str, str], list[str]]:
    """``{"approve": [{"id", "identity"}...], "reject": [id...]}`` (UserError if not)."""
    if not isinstance(body, dict):
        raise UserError("expected an object with `approve` and `reject`")
    approve_raw, reject_raw = body.get("approve", []), body.get("reject", [])
    if not isinstance(approve_raw, list) or not isinstance(reject_raw, list):
        raise UserError("`approve` and `reject` must be lists")
    approve: dict[str, str] = {}
    for entry in approve_raw:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), str)
            or not isinstance(entry.get("identity"), str)
        ):
            raise UserError("each approval is {id, identity}: the card and what was seen")
        approve[entry["id"]] = entry["identity"]
    if not all(isinstance(i, str) for i in reject_raw):
        raise UserError("`reject` lists card ids")
    reject = [i for i in reject_raw if i not in approve]
    return approve, reject


def _own_hosts(host: str, port: int) -> frozenset[str] | None:
    """The Host headers a request to this server may carry; None (any) when it listens
    on every interface, where the reviewer chose to be reached by any name."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = {_url_host(host)}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1", "[::1]"}
    return frozenset({f"{n}:{port}" for n in names} | ({*names} if port == 80 else set()))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _not_found() -> Response:
    return Response("Not found\n", 404, media_type="text/plain")


class _HostCheck:
    """Refuse a request whose Host is not this server's (a DNS-rebinding page)."""

    def __init__(self, app: ASGIApp, server: GalleryServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = self.server.served_hosts
        if scope["type"] == "http" and allowed is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host not in allowed:
                await Response("Unknown host\n", 421, media_type="text/plain")(scope, receive, send)
                return
        await self.app(scope, receive, send)


# For type checkers: Links is part of what the server hands the page.
__all__ = ["GalleryServer", "Links", "parse_address", "serve_while"]
