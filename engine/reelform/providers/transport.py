"""httpx clients for long runs of many small requests (apply).

httpcore's pool checks every pooled connection before each request is assigned
and again when each response closes: "has the server closed it?". The check asks
the network stream for its socket, and anyio answers that by building a dict of
every attribute of the socket (and calling ``getpeername``) each time. At 30,000
requests over a dozen connections that was a fifth of apply's time.
``SocketKeepingBackend`` wraps the standard backend and remembers each stream's
socket instead; everything else (timeouts, TLS, errors) is the standard one.
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import typing

import httpcore
import httpx


def async_client(
    *, timeout: httpx.Timeout, limits: httpx.Limits, follow_redirects: bool = False
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose direct connections use ``SocketKeepingBackend``.

    The client is built as usual (so proxies from the environment still apply, to
    their own transports); only the pool of the default transport is replaced. When
    an httpx release lays its transport out differently, the client is left as built.
    """
    client = httpx.AsyncClient(
        timeout=timeout, limits=limits, verify=ssl_context(), follow_redirects=follow_redirects
    )
    transport = client._transport  # no public way to choose httpcore's network backend
    if (
        isinstance(transport, httpx.AsyncHTTPTransport)
        and type(getattr(transport, "_pool", None)) is httpcore.AsyncConnectionPool
    ):
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=SocketKeepingBackend(),
        )
    return client


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once:
    loading the certificates takes ~25 ms, and each client would otherwise load them
    twice (its own transport's and the replaced pool's)."""
    return httpx.create_ssl_context()


#: httpcore's socket option type (a socket.setsockopt argument tuple).
Option = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class SocketKeepingBackend(httpcore.AsyncNetworkBackend):
    """The standard (anyio) backend, with streams that remember their socket."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Option] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return SocketKeepingStream(
            await self._backend.connect_tcp(
                host,
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[Option] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return SocketKeepingStream(
            await self._backend.connect_unix_socket(
                path, timeout=timeout, socket_options=socket_options
            )
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class SocketKeepingStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return SocketKeepingStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":  # asked of every idle connection, many times a request
            return _readable(self._socket)
        return self._stream.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: data, or the peer's close. A closed socket counts
    as readable (its next read reports the end), as httpcore's own check does."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
