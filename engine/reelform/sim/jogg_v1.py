"""The JoggAI v1 API: upload, talking-avatar videos (flat body), projects, catalogs.

v1 differs from v2 in shape, not in behaviour: envelopes carry a 32-hex ``rid``, the
create body is flat with numeric ``aspect_ratio`` (0 = 9:16, 1 = 16:9, 2 = 1:1), ids
are 32-hex ``project_id`` strings (jogg-v1.yaml types them as integers: a known slip),
and the project's ``status_code`` runs 1 start, 2 waiting, 3 processing, 4 success,
5 failed. ``screen_style`` 3 renders WebM and needs ``caption`` false.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from reelform.sim.answers import jogg_error, jogg_ok, param_error
from reelform.sim.core import Job, Simulator
from reelform.sim.jogg import avatar_exists, check_voice, is_int, nonempty_str
from reelform.sim.jogg_catalog import V1_CATALOG_ROUTES
from reelform.sim.jogg_common import (
    OCTET,
    asset_digests,
    base_url,
    charge,
    file_urls,
    guard,
    json_body,
    new_upload,
    sim_of,
    video_credits,
)
from reelform.sim.signing import signed

STATUS_DESC = {1: "start", 2: "waiting", 3: "processing", 4: "success", 5: "failed"}


async def upload_asset(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request, v1=True)) is not None:
        return denied
    body = await json_body(request)
    if body is None or not nonempty_str(body.get("filename")):
        return param_error(sim, "filename", v1=True)
    sign_url, asset_url = new_upload(request, body["filename"], OCTET, "v1")
    # v1 calls the hosted URL asset_id.
    return jogg_ok(sim, {"sign_url": sign_url, "asset_id": asset_url}, v1=True)


def _validate(request: Request, body: dict[str, Any]) -> Response | None:
    sim = sim_of(request)
    for field, allowed in (
        ("avatar_id", None),
        ("avatar_type", (0, 1)),
        ("screen_style", (1, 2, 3)),
        ("aspect_ratio", (0, 1, 2)),
    ):
        value = body.get(field)
        if value is None:
            if field == "aspect_ratio":  # optional in jogg-v1.yaml; 0 (9:16) then
                continue
            return param_error(sim, field, v1=True)
        if not is_int(value) or (allowed is not None and value not in allowed):
            return param_error(sim, field, "is invalid", v1=True)
    if not nonempty_str(body.get("voice_id")):
        return param_error(sim, "voice_id", v1=True)
    caption = body.get("caption", False)
    if not isinstance(caption, bool):
        return param_error(sim, "caption", "is invalid", v1=True)
    if body["screen_style"] == 3 and caption:
        return param_error(
            sim, "caption", "is invalid: screen_style 3 (WebM) needs caption false", v1=True
        )
    if "video_name" in body and not isinstance(body["video_name"], str):
        return param_error(sim, "video_name", "is invalid", v1=True)
    return None


async def create_video(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request, v1=True)) is not None:
        return denied
    body = await json_body(request)
    if body is None:
        return param_error(sim, "body", "is invalid: expected a JSON object", v1=True)
    if (error := _validate(request, body)) is not None:
        return error
    voice = {k: body[k] for k in ("script", "audio_url") if k in body}
    error, seconds = check_voice(sim, voice, v1=True)
    if error is not None:
        return error
    if not avatar_exists(sim, body["avatar_id"], body["avatar_type"]):
        return jogg_error(sim, 10104, f"Record not found: avatar {body['avatar_id']}", v1=True)
    cost = video_credits(seconds)
    if not charge(request, cost):
        return jogg_error(sim, 18020, v1=True)
    title = body.get("video_name") or " ".join(str(body.get("script", "video")).split()[:6])
    job = sim.new_job(
        "jogg_v1",
        sim.hex_id(),
        sim.config.jogg_render_seconds,
        seconds,
        base=base_url(request),
        title=title,
    )
    job.webm = body["screen_style"] == 3
    sim.record_made(
        request.scope,
        "jogg",
        job.kind,
        job.id,
        cost,
        name=title,
        sha256=asset_digests(sim, audio_url=body.get("audio_url")),
    )
    return jogg_ok(sim, {"project_id": job.id}, v1=True)


def status_code(job: Job) -> int:
    phase = job.phase()
    if phase == "queued":
        return 1 if time.monotonic() - job.started < job.queue_seconds / 2 else 2
    return {"rendering": 3, "completed": 4, "failed": 5}[phase]


def project_view(sim: Simulator, job: Job) -> dict[str, Any]:
    code = status_code(job)
    video_url, cover_url = (signed(sim, u) for u in file_urls(job)) if code == 4 else ("", "")
    return {
        "id": job.id,
        "title": job.info["title"],
        "video_duration": round(job.duration) if code == 4 else 0,
        "video_url": video_url,
        "cover_url": cover_url,
        "status_code": code,
        "status_desc": STATUS_DESC[code],
        "created_at": int(job.created),
    }


async def get_project(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request, v1=True)) is not None:
        return denied
    project_id = request.query_params.get("project_id")
    if not project_id:
        return param_error(sim, "project_id", v1=True)
    job = sim.find_job(request.scope, project_id, "jogg_v1")
    if job is None:
        return jogg_error(sim, 10104, v1=True)
    return jogg_ok(sim, project_view(sim, job), v1=True)


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/upload/asset", upload_asset, methods=["POST"]),
        Route("/v1/create_video_from_talking_avatar", create_video, methods=["POST"]),
        Route("/v1/project", get_project, methods=["GET"]),
        *V1_CATALOG_ROUTES,
    ]
