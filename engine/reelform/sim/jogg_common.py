"""What JoggAI v1 and v2 share: the key check, the rate limit, uploads, credits, files.

Uploads follow the documented two steps. ``/upload/asset`` reserves a slot and returns
a ``sign_url`` that points back at this simulator (``/jogg/_upload/<token>?signature=``);
the PUT to it behaves like S3: a wrong signature or a Content-Type other than the one
signed (the ``content_type`` given for v2, ``application/octet-stream`` for v1) is
refused with 403 ``SignatureDoesNotMatch``. Only a URL whose PUT succeeded is accepted
later as ``audio_url``/``image_url`` (unless ``accept_external_urls``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelform.sim import files
from reelform.sim.answers import jogg_error
from reelform.sim.core import Job, Simulator, Upload, sha256
from reelform.sim.signing import refusal

MB = 1024 * 1024
# MIME type -> (kind, byte limit). Kinds: image, audio, video (limits: docs/providers.md).
CONTENT_TYPES = {
    "image/jpeg": ("image", 10 * MB),
    "image/jpg": ("image", 10 * MB),
    "image/png": ("image", 10 * MB),
    "image/webp": ("image", 10 * MB),
    "image/gif": ("image", 10 * MB),
    "audio/mpeg": ("audio", 20 * MB),
    "audio/mp3": ("audio", 20 * MB),
    "audio/wav": ("audio", 20 * MB),
    "audio/x-wav": ("audio", 20 * MB),
    "audio/wave": ("audio", 20 * MB),
    "audio/mp4": ("audio", 20 * MB),
    "audio/x-m4a": ("audio", 20 * MB),
    "audio/m4a": ("audio", 20 * MB),
    "video/mp4": ("video", 100 * MB),
    "video/webm": ("video", 100 * MB),
    "video/quicktime": ("video", 100 * MB),
}
MAX_AUDIO_SECONDS = 600.0
OCTET = "application/octet-stream"


def sim_of(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def guard(request: Request, *, v1: bool = False) -> Response | None:
    """None when the key may call the API now; else the error to answer.

    The rate limit counts POSTs per key only (GETs are not limited) and answers a
    gateway-style HTTP 429 with ``Retry-After`` and no envelope.
    """
    sim = sim_of(request)
    cfg = sim.config
    key = request.headers.get("x-api-key", "")
    if not key or (cfg.jogg_api_keys is not None and key not in cfg.jogg_api_keys):
        return jogg_error(sim, 10105, v1=v1)
    if key in cfg.jogg_no_permission_keys:
        return jogg_error(sim, 18025, v1=v1)
    if request.method == "POST":
        wait = sim.rate_limited(key)
        if wait is not None:
            return Response(
                "Too Many Requests",
                status_code=429,
                media_type="text/plain",
                headers={"Retry-After": str(math.ceil(wait))},
            )
    return None


async def json_body(request: Request) -> dict[str, Any] | None:
    """The JSON object body, or None when it is missing or not an object."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def base_url(request: Request) -> str:
    return sim_of(request).public_base(request.url.scheme, request.url.netloc)


def _signature(sim: Simulator, token: str) -> str:
    return hmac.new(sim.sign_key, token.encode(), hashlib.sha256).hexdigest()


def new_upload(request: Request, filename: str, content_type: str, version: str) -> tuple[str, str]:
    """Reserve an upload slot; (sign_url, asset_url)."""
    sim = sim_of(request)
    token = sim.token()
    sim.uploads[token] = Upload(
        token=token, filename=filename, content_type=content_type, version=version
    )
    base = base_url(request)
    sign_url = f"{base}/jogg/_upload/{token}?signature={_signature(sim, token)}&X-Amz-Expires=3600"
    asset_url = f"{base}/jogg/_assets/{token}/{quote(filename)}"
    return sign_url, asset_url


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    )
    return Response(xml, status_code=status, media_type="application/xml")


async def put_upload(request: Request) -> Response:
    sim = sim_of(request)
    token = request.path_params["token"]
    upload = sim.uploads.get(token)
    signature = request.query_params.get("signature", "")
    if upload is None or not hmac.compare_digest(signature, _signature(sim, token)):
        return _s3_error(
            403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
        )
    sent_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    expected = OCTET if upload.version == "v1" else upload.content_type.lower()
    if sent_type != expected:
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            f"Content-Type {sent_type or '(none)'} was not the signed one",
        )
    data = await request.body()
    limit = CONTENT_TYPES.get(upload.content_type, ("", 100 * MB))[1]
    if len(data) > limit:
        return _s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the limit")
    upload.data = data
    etag = hashlib.md5(data).hexdigest()  # S3 ETag: MD5 of the body
    if upload.version == "v1":
        # The v1 docs show the PUT answering a JoggAI envelope.
        return Response(
            orjson.dumps({"rid": sim.hex_id(), "code": 0, "msg": "success"}),
            media_type="application/json",
            headers={"ETag": f'"{etag}"'},
        )
    return Response(b"", headers={"ETag": f'"{etag}"'})


async def get_asset(request: Request) -> Response:
    upload = sim_of(request).uploads.get(request.path_params["token"])
    if upload is None or upload.data is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Response(upload.data, media_type=upload.content_type)


def resolve_asset(sim: Simulator, url: Any, kind: str) -> tuple[bool, bytes | None]:
    """(accepted, bytes if hosted here) for an ``audio_url``/``image_url`` value."""
    if not isinstance(url, str) or not url:
        return False, None
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) >= 4 and segments[1:3] == ["jogg", "_assets"]:
        upload = sim.uploads.get(segments[3])
        if upload is None or upload.data is None:
            return False, None
        mime_kind = CONTENT_TYPES.get(upload.content_type, ("", 0))[0]
        if upload.version == "v2" and mime_kind != kind:
            return False, None
        return True, upload.data
    accepted = sim.config.accept_external_urls and parts.scheme in ("http", "https")
    return accepted, None


def asset_digests(sim: Simulator, **urls: Any) -> dict[str, str]:
    """sha256 of each hosted asset among ``urls`` (name -> URL), for the ledger."""
    out: dict[str, str] = {}
    for name, url in urls.items():
        accepted, data = resolve_asset(sim, url, "audio" if name == "audio_url" else "image")
        if accepted and data is not None:
            out[name] = sha256(data)
    return out


def audio_seconds(data: bytes | None) -> float | None:
    """Length of uploaded audio; None when it cannot be read (external or not audio)."""
    if data is None:
        return None
    info = files.probe_audio(data)
    return None if info is None else info.seconds


def charge(request: Request, cost: float) -> bool:
    """Charge the asking key's balance (``guard`` has let the key in)."""
    return sim_of(request).charge("jogg", request.headers.get("x-api-key", ""), cost)


def video_credits(seconds: float) -> int:
    """1 credit per started 2 minutes of video."""
    return max(1, math.ceil(seconds / 120))


def file_urls(job: Job) -> tuple[str, str]:
    """(video_url, cover_url) of a finished job, served by ``get_file``."""
    base = job.info["base"]
    ext = "webm" if job.webm else "mp4"
    return f"{base}/jogg/_files/{job.id}.{ext}", f"{base}/jogg/_files/{job.id}.jpg"


async def get_file(request: Request) -> Response:
    """A finished job's video or cover: real bytes, with Content-Length."""
    sim = sim_of(request)
    name: str = request.path_params["name"]
    if (refused := refusal(sim, request)) is not None:
        return _s3_error(403, refused, "Request has expired or its signature is wrong")
    job_id, _, ext = name.rpartition(".")
    job = sim.jobs.get(job_id)
    if job is None or job.phase() != "completed":
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if ext == "jpg":
        return Response(files.sample_cover(), media_type="image/jpeg")
    if ext == "webm" and job.webm:
        return Response(files.sample_webm(), media_type="video/webm")
    if ext == "mp4" and not job.webm:
        return Response(files.sample_mp4(), media_type="video/mp4")
    return _s3_error(404, "NoSuchKey", "The specified key does not exist.")


STORAGE_ROUTES = [
    Route("/_upload/{token}", put_upload, methods=["PUT"]),
    Route("/_assets/{token}/{filename:path}", get_asset, methods=["GET"]),
    Route("/_files/{name}", get_file, methods=["GET"]),
]
