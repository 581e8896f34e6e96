"""Run the simulator as a real HTTP server (uvicorn) on loopback.

``serve_in_thread`` is for tests that need real sockets (timeouts, dropped
connections, a client configured only by base URL); it picks a free port unless one
is given, waits until the server answers, and stops it on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette

from reelform.sim.app import create_app
from reelform.sim.config import SimConfig
from reelform.sim.faults import real_server_app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def make_server(app: Starlette, host: str, port: int, log_level: str = "warning") -> Any:
    """A uvicorn server for ``app`` whose simulated cuts close the socket."""
    config = uvicorn.Config(
        real_server_app(app),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        access_log=False,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(
    config: SimConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    app: Starlette | None = None,
) -> Iterator[str]:
    """Serve a simulator in a daemon thread; yields its base URL (``http://host:port``).

    The app is reachable as ``app.state.sim`` if you pass your own ``app``; otherwise
    use the ``/_sim`` control endpoints.
    """
    app = app or create_app(config)
    port = port or free_port(host)
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.run, name=f"reelform-sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"simulator did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
