"""The Mirako API: async talking avatars, TTS, voice profiles; RFC 7807 errors.

The talking-avatar body takes ``image``, ``audio`` (plain base64) and an optional
``webhook`` and nothing else (mirako.yaml: ``additionalProperties: false``); every
problem found is listed in one 422 with ``location``/``message``/``value``, the way
the real API's validator reports. Inputs are checked on their content: the image must
decode as JPEG or PNG between 512x512 and 1920x1080 (read orientation-free: the short
side 512..1080, the long side 512..1920, so portrait 1080x1920 passes), the audio as
WAV or MP3 of at most 60 s. Face and mouth checks are not simulated.
"""

from __future__ import annotations

import base64
import math
import uuid
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reelform.sim import catalog, files, webhooks
from reelform.sim.answers import mirako_unauthorized, problem
from reelform.sim.core import Job, Simulator, sha256
from reelform.sim.signing import refusal, signed

MAX_AUDIO_SECONDS = 60.0
ALLOWED_FIELDS = {"image", "audio", "webhook"}
STATUS = {
    "queued": "IN_QUEUE",
    "rendering": "IN_PROGRESS",
    "completed": "COMPLETED",
    "failed": "FAILED",
}


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def _key(request: Request) -> str:
    """The bearer token of the request ("" when there is none)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _guard(request: Request) -> Response | None:
    cfg = _sim(request).config
    key = _key(request)
    if not key or (cfg.mirako_api_keys is not None and key not in cfg.mirako_api_keys):
        return mirako_unauthorized()
    if key in cfg.mirako_forbidden_keys:
        return problem(403, "this API token may not call this endpoint")
    return None


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return problem(400, f"request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return problem(
            422,
            "validation failed",
            errors=[{"location": "body", "message": "expected object", "value": body}],
        )
    return body


def _err(location: str, message: str, value: Any = None) -> dict[str, Any]:
    # Echoing multi-megabyte base64 back would be useless: show its length instead.
    if isinstance(value, str) and len(value) > 64:
        value = f"<{len(value)} characters>"
    return {"location": location, "message": message, "value": value}


def _check_image(value: Any, errors: list[dict[str, Any]]) -> tuple[int, int]:
    """Validate the image; its (width, height), which the output video takes."""
    if not isinstance(value, str) or not value:
        errors.append(_err("body.image", "expected non-empty base64 string", value))
        return 0, 0
    data = files.decode_base64(value)
    if data is None:
        errors.append(_err("body.image", "expected plain base64 (no data: prefix)", value))
        return 0, 0
    probed = files.probe_image(data)
    if probed is None or probed[0] not in ("JPEG", "PNG"):
        errors.append(_err("body.image", "image must be JPG or PNG", value))
        return 0, 0
    _, width, height = probed
    short, long = sorted((width, height))
    if short < 512 or short > 1080 or long > 1920:
        errors.append(
            _err(
                "body.image",
                f"image is {width}x{height}; must be at least 512x512 and at most 1920x1080",
                value,
            )
        )
    return width, height


def _check_audio(value: Any, errors: list[dict[str, Any]]) -> float:
    if not isinstance(value, str) or not value:
        errors.append(_err("body.audio", "expected non-empty base64 string", value))
        return 0.0
    data = files.decode_base64(value)
    if data is None:
        errors.append(_err("body.audio", "expected plain base64 (no data: prefix)", value))
        return 0.0
    info = files.probe_audio(data)
    if info is None or info.format not in ("wav", "mp3"):
        errors.append(_err("body.audio", "audio must be WAV or MP3", value))
        return 0.0
    if info.seconds > MAX_AUDIO_SECONDS:
        errors.append(_err("body.audio", f"audio is {info.seconds:.1f} s; at most 60 s", value))
    return info.seconds


def _check_webhook(value: Any, errors: list[dict[str, Any]]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append(_err("body.webhook", "expected object", value))
        return
    if not isinstance(value.get("url"), str) or not value["url"]:
        errors.append(
            _err(
                "body.webhook.url", "expected required property url to be present", value.get("url")
            )
        )
    for key in value:
        if key not in ("url", "auth_token"):
            errors.append(_err(f"body.webhook.{key}", "unexpected property", value[key]))
    if "auth_token" in value and not isinstance(value["auth_token"], str):
        errors.append(_err("body.webhook.auth_token", "expected string", value["auth_token"]))


async def generate(request: Request) -> Response:
    sim = _sim(request)
    if (denied := _guard(request)) is not None:
        return denied
    body = await _body(request)
    if isinstance(body, Response):
        return body
    errors: list[dict[str, Any]] = []
    for key in body:
        if key not in ALLOWED_FIELDS:
            errors.append(_err(f"body.{key}", "unexpected property", body[key]))
    for key in ("image", "audio"):
        if key not in body:
            errors.append(_err("body", f"expected required property {key} to be present", None))
    size = _check_image(body["image"], errors) if "image" in body else (0, 0)
    seconds = _check_audio(body["audio"], errors) if "audio" in body else 0.0
    _check_webhook(body.get("webhook"), errors)
    if errors:
        return problem(422, "validation failed", errors=errors)
    cost = max(1, math.ceil(seconds))
    if not sim.charge("mirako", _key(request), cost):
        return problem(402, "insufficient credits")
    base = sim.public_base(request.url.scheme, request.url.netloc)
    job = sim.new_job(
        "mirako",
        sim.task_id(),
        sim.config.mirako_render_seconds,
        round(seconds, 3),
        base=base,
        webhook=body.get("webhook"),
        size=size,
        fail_status=sim.config.mirako_fail_status,
    )
    # The task has no name: the sha256 of its image and audio is what ties it to a
    # video (see core.Made). Decoding again is cheap beside the validation above.
    digests = {k: sha256(files.decode_base64(body[k]) or b"") for k in ("image", "audio")}
    job.info.update(image_sha256=digests["image"], audio_sha256=digests["audio"])
    sim.record_made(request.scope, "mirako", "mirako", job.id, cost, sha256=digests)
    if job.info["webhook"]:

        async def fire() -> None:
            await webhooks.deliver_mirako(sim, job.info["webhook"], webhook_body(sim, job))

        webhooks.schedule(sim, job, fire)
    return JSONResponse({"data": {"task_id": job.id, "status": "IN_QUEUE"}})


def status_view(sim: Simulator, job: Job) -> dict[str, Any]:
    status = STATUS[job.phase()]
    data: dict[str, Any] = {"task_id": job.id, "status": status}
    if status == "COMPLETED":
        data["file_url"] = signed(sim, f"{job.info['base']}/mirako/_files/{job.id}.mp4")
        data["output_duration"] = job.duration
    elif status == "FAILED":
        failed_as = job.info.get("fail_status", "FAILED")
        data["status"] = failed_as if failed_as in ("CANCELED", "TIMED_OUT") else "FAILED"
        data["error"] = job.fail_reason
    return data


def webhook_body(sim: Simulator, job: Job) -> dict[str, Any]:
    """mirako.yaml's webhook shape (id, status, delayTime, executionTime, output) plus
    ``task_id`` and the status fields, so either reading of the docs finds its keys."""
    view = status_view(sim, job)
    body: dict[str, Any] = {
        "id": job.id,
        **view,
        "delayTime": int(job.queue_seconds * 1000),
        "executionTime": int(job.render_seconds * 1000),
    }
    if view["status"] == "COMPLETED":
        body["output"] = {
            "id": job.id,
            "infer_time": round(job.render_seconds, 3),
            "output_duration": job.duration,
        }
    return body


async def get_status(request: Request) -> Response:
    sim = _sim(request)
    if (denied := _guard(request)) is not None:
        return denied
    job = sim.find_job(request.scope, request.path_params["task_id"], "mirako")
    if job is None:
        return problem(404, "task not found")
    return JSONResponse({"data": status_view(sim, job)})


async def get_file(request: Request) -> Response:
    sim = _sim(request)
    name: str = request.path_params["name"]
    if (refused := refusal(sim, request)) is not None and name.endswith(".mp4"):
        return Response(refused, status_code=403, media_type="text/plain")
    stored = sim.files.get(name)
    if stored is not None:
        return Response(stored[0], media_type=stored[1])
    job = sim.jobs.get(name.removesuffix(".mp4"))
    if job is None or not name.endswith(".mp4") or job.phase() != "completed":
        return Response("Not Found", status_code=404, media_type="text/plain")
    # Encoding a new size takes a moment: keep it off the event loop.
    video = await run_in_threadpool(files.sample_mp4, *job.info["size"])
    return Response(video, media_type="video/mp4")


async def tts(request: Request) -> Response:
    sim = _sim(request)
    if (denied := _guard(request)) is not None:
        return denied
    body = await _body(request)
    if isinstance(body, Response):
        return body
    errors: list[dict[str, Any]] = []
    allowed = {"text", "voice_profile_id", "return_type", "chinese_language", "opts"}
    errors += [_err(f"body.{k}", "unexpected property", body[k]) for k in body if k not in allowed]
    for key in ("text", "voice_profile_id", "return_type"):
        if not isinstance(body.get(key), str) or not body[key]:
            errors.append(_err(f"body.{key}", "expected non-empty string", body.get(key)))
    if isinstance(body.get("text"), str) and len(body["text"]) > 10_000:
        errors.append(_err("body.text", "expected length <= 10000", body["text"]))
    if body.get("return_type") not in (None, "b64_audio_str", "file_url"):
        errors.append(
            _err("body.return_type", "expected b64_audio_str or file_url", body["return_type"])
        )
    if errors:
        return problem(422, "validation failed", errors=errors)
    if body["voice_profile_id"] not in catalog.MIRAKO_VOICE_IDS:
        return problem(404, f"voice profile {body['voice_profile_id']} not found")
    # Its price is undocumented and nothing is charged here, but an account with no
    # credit left is refused speech as it is refused videos.
    if sim.balance("mirako", _key(request)) <= 0:
        return problem(402, "insufficient credits")
    audio, seconds = files.tts_wav(body["text"])
    request_id = str(uuid.UUID(int=sim.rng.getrandbits(128), version=4))
    data: dict[str, Any] = {
        "id": request_id,
        "voice_profile_id": body["voice_profile_id"],
        "output_duration": seconds,
    }
    if body["return_type"] == "b64_audio_str":
        data["b64_audio_str"] = base64.b64encode(audio).decode()
    else:
        sim.files[f"{request_id}.wav"] = (audio, "audio/wav")
        base = sim.public_base(request.url.scheme, request.url.netloc)
        data["file_url"] = f"{base}/mirako/_files/{request_id}.wav"
    # Billed by Mirako (the simulator charges nothing): still a thing paid for.
    sim.record_made(
        request.scope,
        "mirako",
        "tts",
        request_id,
        0.0,
        sha256={"text": sha256(body["text"].encode())},
        output_sha256=sha256(audio),
    )
    return JSONResponse({"data": data})


async def premade_profiles(request: Request) -> Response:
    if (denied := _guard(request)) is not None:
        return denied
    return JSONResponse({"data": catalog.MIRAKO_PREMADE})


async def user_profiles(request: Request) -> Response:
    if (denied := _guard(request)) is not None:
        return denied
    return JSONResponse({"data": catalog.MIRAKO_CUSTOM})


async def avatar_list(request: Request) -> Response:
    if (denied := _guard(request)) is not None:
        return denied
    return JSONResponse({"data": catalog.MIRAKO_AVATARS})


def routes() -> list[BaseRoute]:
    path = "/v1/video/async_generate_talking_avatar"
    return [
        Route(path, generate, methods=["POST"]),
        Route(path + "/{task_id}/status", get_status, methods=["GET"]),
        Route("/v1/speech/tts", tts, methods=["POST"]),
        Route("/v1/voice/premade_profiles", premade_profiles, methods=["GET"]),
        Route("/v1/voice/profiles", user_profiles, methods=["GET"]),
        Route("/v1/avatar/list", avatar_list, methods=["GET"]),
        Route("/_files/{name}", get_file, methods=["GET"]),
    ]
