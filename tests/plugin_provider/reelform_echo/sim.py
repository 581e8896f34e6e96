"""The echo "provider": an ASGI app that makes a job per submit and, a moment later,
answers with a real MP4. `reelform sim` serves it at /echo (the traits' ``simulator``).

Every request but the ledger's own is kept in ``GET /_requests``, so a test can
prove that a second `apply` asked nothing.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RENDER_SECONDS = 0.3
VOICES = [{"voice_id": "echo-flat", "name": "Flat", "language": "en"}]


@dataclass
class Echo:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def create_app() -> Starlette:
    echo = Echo()

    def keyed(request: Request) -> JSONResponse | None:
        echo.requests.append({"method": request.method, "path": request.url.path})
        if not request.headers.get("x-api-key"):
            return JSONResponse({"error": "no API key"}, status_code=401)
        return None

    async def submit(request: Request) -> Response:
        if (refused := keyed(request)) is not None:
            return refused
        body = await request.json()
        if not isinstance(body.get("script"), str) or not body["script"]:
            return JSONResponse({"error": "script is required"}, status_code=400)
        job_id = f"echo-{next(echo.ids)}"
        echo.jobs[job_id] = {**body, "id": job_id, "made": time.monotonic()}
        return JSONResponse({"id": job_id})

    async def status(request: Request) -> Response:
        if (refused := keyed(request)) is not None:
            return refused
        job = echo.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        if time.monotonic() - job["made"] < RENDER_SECONDS:
            return JSONResponse({"id": job["id"], "status": "running"})
        url = str(request.url_for("file", job_id=job["id"]))
        return JSONResponse({"id": job["id"], "status": "completed", "url": url, "duration": 1.0})

    async def find(request: Request) -> Response:
        if (refused := keyed(request)) is not None:
            return refused
        key = request.query_params.get("key")
        return JSONResponse([{"id": j["id"]} for j in echo.jobs.values() if j["key"] == key])

    async def voices(request: Request) -> Response:
        return keyed(request) or JSONResponse(VOICES)

    async def file(request: Request) -> Response:
        from reelform.sim.files import sample_mp4  # a real one-second H.264 MP4

        echo.requests.append({"method": request.method, "path": request.url.path})
        if request.path_params["job_id"] not in echo.jobs:
            return Response(status_code=404)
        return Response(sample_mp4(), media_type="video/mp4")

    async def ledger(request: Request) -> Response:
        return JSONResponse(echo.requests)

    app = Starlette(
        routes=[
            Route("/videos", submit, methods=["POST"]),
            Route("/videos", find, methods=["GET"]),
            Route("/videos/{job_id}", status, methods=["GET"]),
            Route("/voices", voices, methods=["GET"]),
            Route("/files/{job_id}.mp4", file, methods=["GET"], name="file"),
            Route("/_requests", ledger, methods=["GET"]),
        ]
    )
    app.state.echo = echo
    return app
