"""The JoggAI v2 API: uploads, avatar videos, photo avatars, catalogs, webhook endpoints.

Validation follows docs/providers.md and jogg-v2.yaml: a bad field answers code 40000 with
"Parameter error: <field> is required" (or "is invalid ..."), naming the field; an
avatar that exists in neither catalog answers 10104. Videos move pending ->
processing -> completed|failed as the clock advances (see ``core.Job``).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from reelform.sim import catalog, files, webhooks
from reelform.sim.answers import jogg_error, jogg_ok, param_error
from reelform.sim.core import Job, Simulator
from reelform.sim.jogg_catalog import V2_CATALOG_ROUTES
from reelform.sim.jogg_common import (
    CONTENT_TYPES,
    MAX_AUDIO_SECONDS,
    asset_digests,
    audio_seconds,
    base_url,
    charge,
    file_urls,
    guard,
    json_body,
    new_upload,
    resolve_asset,
    sim_of,
    video_credits,
)
from reelform.sim.signing import signed

ASPECTS = ("portrait", "landscape", "square")
MOTION_MODELS = {"1.0": 2, "2.0": 2, "2.0-Pro": 3, "3.0": 2}  # model -> credits
V2_STATUS = {
    "queued": "pending",
    "rendering": "processing",
    "completed": "completed",
    "failed": "failed",
}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


async def upload_asset(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    body = await json_body(request)
    if body is None:
        return param_error(sim, "body", "is invalid: expected a JSON object")
    if not nonempty_str(body.get("filename")):
        return param_error(sim, "filename")
    content_type = body.get("content_type")
    if not nonempty_str(content_type):
        return param_error(sim, "content_type")
    if content_type not in CONTENT_TYPES:
        return param_error(sim, "content_type", f"is invalid: {content_type} not supported")
    size = body.get("file_size")
    if size is not None and (not is_int(size) or size < 1 or size > CONTENT_TYPES[content_type][1]):
        return param_error(sim, "file_size", "is invalid")
    sign_url, asset_url = new_upload(request, body["filename"], content_type, "v2")
    return jogg_ok(sim, {"sign_url": sign_url, "asset_url": asset_url})


def check_voice(sim: Simulator, voice: Any, v1: bool = False) -> tuple[Response | None, float]:
    """Validate script/audio (shared by v1's flat body); (error, spoken seconds)."""
    script, audio_url = voice.get("script"), voice.get("audio_url")
    kind = voice.get("type") or ("audio" if audio_url is not None else "script")
    if script is not None and audio_url is not None:
        return param_error(
            sim, "audio_url", "is invalid: give either script or audio_url, not both", v1=v1
        ), 0.0
    if kind == "script":
        if not nonempty_str(script):
            return param_error(sim, "script", v1=v1), 0.0
        return None, files.script_seconds(script)
    if audio_url is None or audio_url == "":
        return param_error(sim, "audio_url", v1=v1), 0.0
    accepted, data = resolve_asset(sim, audio_url, "audio")
    if not accepted:
        return param_error(sim, "audio_url", "is invalid: not an uploaded asset", v1=v1), 0.0
    seconds = audio_seconds(data)
    if data is not None and seconds is None:
        return param_error(sim, "audio_url", "is invalid: not readable audio", v1=v1), 0.0
    if seconds is not None and seconds > MAX_AUDIO_SECONDS:
        return param_error(sim, "audio_url", "is invalid: longer than 10 minutes", v1=v1), 0.0
    return None, seconds if seconds is not None else 30.0


def avatar_exists(sim: Simulator, avatar_id: int, avatar_type: int) -> bool:
    if avatar_type == 0:
        return avatar_id in catalog.PUBLIC_AVATAR_IDS
    if avatar_id in catalog.USABLE_CUSTOM_AVATAR_IDS:
        return True
    return any(
        job.kind == "motion" and job.info["avatar_id"] == avatar_id and job.phase() == "completed"
        for job in sim.jobs.values()
    )


def validate_create(sim: Simulator, body: dict[str, Any]) -> tuple[Response | None, float]:
    avatar = body.get("avatar")
    if avatar is None:
        return param_error(sim, "avatar"), 0.0
    if not isinstance(avatar, dict):
        return param_error(sim, "avatar", "is invalid"), 0.0
    for field, allowed in (("avatar_id", None), ("avatar_type", (0, 1))):
        value = avatar.get(field)
        if value is None:
            return param_error(sim, field), 0.0
        if not is_int(value) or (allowed is not None and value not in allowed):
            return param_error(sim, field, "is invalid"), 0.0
    voice = body.get("voice")
    if voice is None:
        return param_error(sim, "voice"), 0.0
    if not isinstance(voice, dict):
        return param_error(sim, "voice", "is invalid"), 0.0
    if voice.get("type") is None:
        return param_error(sim, "type"), 0.0
    if voice["type"] not in ("script", "audio"):
        return param_error(sim, "type", "is invalid: must be script or audio"), 0.0
    if not nonempty_str(voice.get("voice_id")):
        return param_error(sim, "voice_id"), 0.0
    if body.get("aspect_ratio") is None:
        return param_error(sim, "aspect_ratio"), 0.0
    if body["aspect_ratio"] not in ASPECTS:
        return param_error(sim, "aspect_ratio", "is invalid: portrait|landscape|square"), 0.0
    if body.get("screen_style") is None:
        return param_error(sim, "screen_style"), 0.0
    if not is_int(body["screen_style"]) or body["screen_style"] not in (1, 2, 3):
        return param_error(sim, "screen_style", "is invalid: 1, 2 or 3"), 0.0
    if "caption" in body and not isinstance(body["caption"], bool):
        return param_error(sim, "caption", "is invalid"), 0.0
    if "video_name" in body and not isinstance(body["video_name"], str):
        return param_error(sim, "video_name", "is invalid"), 0.0
    hook = body.get("webhook_url")
    if hook is not None and (
        not isinstance(hook, str) or urlsplit(hook).scheme not in ("http", "https")
    ):
        return param_error(sim, "webhook_url", "is invalid"), 0.0
    return check_voice(sim, voice)


async def create_video(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    body = await json_body(request)
    if body is None:
        return param_error(sim, "body", "is invalid: expected a JSON object")
    error, seconds = validate_create(sim, body)
    if error is not None:
        return error
    avatar = body["avatar"]
    if not avatar_exists(sim, avatar["avatar_id"], avatar["avatar_type"]):
        return jogg_error(sim, 10104, f"Record not found: avatar {avatar['avatar_id']}")
    cost = video_credits(seconds)
    if not charge(request, cost):
        return jogg_error(sim, 18020)
    job = sim.new_job(
        "jogg_v2",
        sim.hex_id(),
        sim.config.jogg_render_seconds,
        seconds,
        base=base_url(request),
        webhook_url=body.get("webhook_url"),
        name=body.get("video_name", ""),
    )
    sim.record_made(
        request.scope,
        "jogg",
        job.kind,
        job.id,
        cost,
        name=job.info["name"],
        sha256=asset_digests(sim, audio_url=body["voice"].get("audio_url")),
    )
    _notify_when_done(sim, job)
    return jogg_ok(sim, {"video_id": job.id})


def video_view(sim: Simulator, job: Job) -> dict[str, Any]:
    status = V2_STATUS[job.phase()]
    data: dict[str, Any] = {"video_id": job.id, "status": status, "created_at": int(job.created)}
    if status == "completed":
        data["video_url"], data["cover_url"] = (signed(sim, u) for u in file_urls(job))
        data["duration"] = job.duration
    elif status == "failed":
        data["error"] = {"code": 50000, "message": job.fail_reason}
    return data


def _notify_when_done(sim: Simulator, job: Job) -> None:
    events = ("generated_avatar_video_success", "generated_avatar_video_failed")
    if not any(webhooks.jogg_targets(sim, e, job) for e in events):
        return

    async def fire() -> None:
        view = video_view(sim, job)
        event = events[0] if view["status"] == "completed" else events[1]
        data: dict[str, Any] = {
            k: view[k]
            for k in ("video_id", "status", "video_url", "cover_url", "duration", "error")
            if k in view
        }
        await webhooks.deliver_jogg(sim, event, data, webhooks.jogg_targets(sim, event, job))

    webhooks.schedule(sim, job, fire)


async def get_video(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    job = sim.find_job(request.scope, request.path_params["video_id"], "jogg_v2")
    if job is None:
        return jogg_error(sim, 10104)
    return jogg_ok(sim, video_view(sim, job))


async def add_motion(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    body = await json_body(request)
    if body is None:
        return param_error(sim, "body", "is invalid: expected a JSON object")
    for field in ("image_url", "name", "voice_id", "model"):
        if not nonempty_str(body.get(field)):
            return param_error(sim, field)
    if body["model"] not in MOTION_MODELS:
        return param_error(sim, "model", "is invalid: 1.0, 2.0, 2.0-Pro or 3.0")
    accepted, _ = resolve_asset(sim, body["image_url"], "image")
    if not accepted:
        return param_error(sim, "image_url", "is invalid: not an uploaded image")
    cost = MOTION_MODELS[body["model"]]
    if not charge(request, cost):
        return jogg_error(sim, 18020)
    avatar_id = sim.next_avatar_id
    sim.next_avatar_id += 1
    job = sim.new_job(
        "motion",
        sim.hex_id(),
        sim.config.jogg_motion_seconds,
        5.0,
        base=base_url(request),
        avatar_id=avatar_id,
        name=body["name"],
        image_url=body["image_url"],
        voice_id=body["voice_id"],
    )
    sim.record_made(
        request.scope,
        "jogg",
        "motion",
        job.id,
        cost,
        name=body["name"],
        sha256=asset_digests(sim, image_url=body["image_url"]),
    )
    events = ("generated_motion_success", "generated_motion_failed")
    if any(webhooks.jogg_targets(sim, e, job) for e in events):

        async def fire() -> None:
            view = motion_view(sim, job)
            event = events[0] if view["status"] == "completed" else events[1]
            await webhooks.deliver_jogg(sim, event, view, webhooks.jogg_targets(sim, event, job))

        webhooks.schedule(sim, job, fire)
    return jogg_ok(sim, {"avatar_id": avatar_id, "motion_id": job.id, "status": "pending"})


def motion_view(sim: Simulator, job: Job) -> dict[str, Any]:
    status = V2_STATUS[job.phase()]
    data: dict[str, Any] = {
        "motion_id": job.id,
        "avatar_id": job.info["avatar_id"],
        "image_url": job.info["image_url"],
        "name": job.info["name"],
        "status": status,
        "voice_id": job.info["voice_id"],
        "error_msg": job.fail_reason or None,
    }
    if status == "completed":
        data["motion_preview_url"] = signed(sim, file_urls(job)[0])
    return data


async def get_motion(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    motion_id = request.query_params.get("motion_id")
    if not motion_id:
        return param_error(sim, "motion_id")
    job = sim.find_job(request.scope, motion_id, "motion")
    if job is None:
        return jogg_error(sim, 10104)
    return jogg_ok(sim, motion_view(sim, job))


async def add_endpoint(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    body = await json_body(request)
    if body is None:
        return param_error(sim, "body", "is invalid: expected a JSON object")
    url = body.get("url")
    if not nonempty_str(url):
        return param_error(sim, "url")
    parts = urlsplit(str(url))
    # The docs demand HTTPS. Plain http is allowed for loopback receivers only, so that
    # local tests (which cannot present a certificate) can register an endpoint.
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        return param_error(sim, "url", "is invalid: must be an HTTPS URL")
    if body.get("status") not in ("enabled", "disabled"):
        return param_error(
            sim,
            "status",
            "is required" if "status" not in body else "is invalid: enabled or disabled",
        )
    events = body.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        return param_error(sim, "events", "is required" if events is None else "is invalid")
    endpoint = {
        "endpoint_id": f"wh_{sim.hex_id(16)}",
        "url": url,
        "secret": sim.config.jogg_webhook_secret,
        "status": body["status"],
        "events": events,
        "username": "sim",
        "created_at": int(time.time()),
    }
    sim.endpoints[endpoint["endpoint_id"]] = endpoint
    return jogg_ok(sim, endpoint)


async def list_endpoints(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    return jogg_ok(sim, {"endpoints": list(sim.endpoints.values())})


async def delete_endpoint(request: Request) -> Response:
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    if sim.endpoints.pop(request.path_params["endpoint_id"], None) is None:
        return jogg_error(sim, 10104)
    return jogg_ok(sim, {"message": "webhook deleted"})


async def remaining_quota(request: Request) -> Response:
    """The asking key's credit balance (what 18020 is decided on), as jogg-v2.yaml
    documents it: ``data: {remaining_quota: number}``."""
    sim = sim_of(request)
    if (denied := guard(request)) is not None:
        return denied
    key = request.headers.get("x-api-key", "")
    return jogg_ok(sim, {"remaining_quota": float(sim.balance("jogg", key))})


def routes() -> list[BaseRoute]:
    return [
        Route("/v2/upload/asset", upload_asset, methods=["POST"]),
        Route("/v2/create_video_from_avatar", create_video, methods=["POST"]),
        Route("/v2/avatar_video/{video_id}", get_video, methods=["GET"]),
        Route("/v2/photo_avatar/add_motion", add_motion, methods=["POST"]),
        Route("/v2/photo_avatar", get_motion, methods=["GET"]),
        Route("/v2/user/remaining_quota", remaining_quota, methods=["GET"]),
        Route("/v2/endpoint", add_endpoint, methods=["POST"]),
        Route("/v2/endpoints", list_endpoints, methods=["GET"]),
        Route("/v2/endpoint/{endpoint_id}", delete_endpoint, methods=["DELETE"]),
        *V2_CATALOG_ROUTES,
    ]
