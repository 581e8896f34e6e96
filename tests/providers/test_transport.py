"""The apply HTTP clients: standard httpx, with a network backend that keeps sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reelform.providers import transport
from reelform.providers.transport import SocketKeepingBackend, async_client

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


async def serve(close_after_response: bool) -> tuple[asyncio.Server, list[int]]:
    """An HTTP/1.1 server answering `ok`; it may close each connection after answering
    without saying so (as servers do when their keep-alive timeout passes)."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if close_after_response:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


def run_requests(close_after_response: bool, pause: float) -> tuple[list[str], int, int]:
    async def main() -> tuple[list[str], int, int]:
        server, connections = await serve(close_after_response)
        port = server.sockets[0].getsockname()[1]
        made = 0
        connect = SocketKeepingBackend.connect_tcp

        async def counted(self: SocketKeepingBackend, *args: object, **kwargs: object) -> object:
            nonlocal made
            made += 1
            return await connect(self, *args, **kwargs)  # type: ignore[arg-type]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(SocketKeepingBackend, "connect_tcp", counted)
            async with server, async_client(timeout=httpx.Timeout(5.0), limits=LIMITS) as client:
                bodies = []
                for _ in range(3):
                    bodies.append((await client.get(f"http://127.0.0.1:{port}/")).text)
                    await asyncio.sleep(pause)
        return bodies, len(connections), made

    return asyncio.run(main())


def test_connections_are_kept_alive_and_made_by_the_socket_keeping_backend() -> None:
    bodies, connections, made = run_requests(close_after_response=False, pause=0.0)
    assert bodies == ["ok"] * 3
    assert connections == made == 1  # one connection, reused


def test_a_connection_the_server_closed_is_not_reused() -> None:
    # httpcore asks the stream whether its idle socket is readable (the server's
    # close); answered wrongly, the next request would go out on a dead connection
    # and fail with "Server disconnected without sending a response".
    bodies, connections, made = run_requests(close_after_response=True, pause=0.05)
    assert bodies == ["ok"] * 3
    assert connections == made == 3


def test_readability_of_a_missing_socket_is_true() -> None:
    assert transport._readable(None) is True
