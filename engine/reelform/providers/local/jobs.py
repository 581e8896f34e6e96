"""From a provider-neutral VideoJob to a RenderRequest, and the files kept per job.

Work folder layout (``<work_dir>/local/``):

    <key>.mp4             the finished video (moved in atomically by the renderer)
    <key>.job.json        written at submit: the job and its resolved RenderRequest,
                          so a render lost in a crash can be started again
    <key>.result.json     duration and frame count, written when the render succeeds
    <key>.error.json      the reason, when the render failed
    photo-avatars/<id>.json  a local photo avatar: its image and request
    photos/<sha256><ext>  a copy of each photo avatar's image
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from reelform.atomic import atomic_write
from reelform.errors import RenderError
from reelform.providers.base import Asset, VideoJob
from reelform.providers.local.encode import DEFAULT_CRF, DEFAULT_PRESET
from reelform.providers.local.layout import FRAME_SIZES, SCREEN_STYLES
from reelform.providers.local.render import RenderRequest


def write_json(path: Path, data: object) -> None:
    """Atomically: a reader sees the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, default=str).encode())


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def local_path(asset: Asset, asset_urls: dict[str, str] | None = None) -> Path:
    """The file behind an asset: its path, or the file:// URI upload_asset gave."""
    if asset.path is not None:
        return Path(asset.path)
    uri = (asset_urls or {}).get(asset.sha256) or asset.url or ""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    raise RenderError(f"asset {asset.name!r} is not a local file (the local provider needs one)")


def render_request(
    job: VideoJob,
    settings: dict[str, str],
    photo_image: Path | None,
) -> RenderRequest:
    """Resolve a job into plain render parameters; raises RenderError when it cannot
    be rendered (checked here so the reason is known before a worker starts)."""
    if job.aspect not in FRAME_SIZES:
        raise RenderError(f"unknown aspect {job.aspect!r}")
    if job.screen_style not in SCREEN_STYLES:
        raise RenderError(f"unknown screen_style {job.screen_style} (known: 1, 2, 3)")
    urls = dict(job.asset_urls)
    audio = local_path(job.voice.audio, urls) if job.voice.audio is not None else None
    if audio is None and not (job.voice.script or "").strip():
        raise RenderError("the video has neither a script nor an audio file")
    image = local_path(job.image, urls) if job.image is not None else photo_image
    # The job carries the spec's `providers: {local: ...}` settings too; they win.
    merged = {**settings, **job.settings}
    try:
        crf = int(merged.get("crf", DEFAULT_CRF))
    except ValueError:
        raise RenderError(f"local: crf must be an integer, not {merged['crf']!r}") from None
    return RenderRequest(
        key=job.key,
        title=job.title or job.name,
        script=job.voice.script,
        voice_id=job.voice.voice_id,
        audio_path=audio,
        avatar_id=job.avatar.id if job.avatar is not None else 1,
        image_path=image,
        aspect=job.aspect,
        screen_style=job.screen_style,
        captions=job.captions,
        preview=str(merged.get("preview", "")).lower() in ("true", "1", "yes"),
        preset=str(merged.get("preset", DEFAULT_PRESET)),
        crf=crf,
    )


def request_to_json(request: RenderRequest) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(request).items()}


def request_from_json(data: dict[str, Any]) -> RenderRequest:
    known = {f.name for f in fields(RenderRequest)}
    values = {k: v for k, v in data.items() if k in known}
    for name in ("audio_path", "image_path"):
        if values.get(name) is not None:
            values[name] = Path(values[name])
    return RenderRequest(**values)


def job_to_json(job: VideoJob) -> dict[str, Any]:
    """The job's parameters, for people reading the work folder (restarts use the
    resolved request next to it)."""
    plain = replace(job, settings=dict(job.settings), asset_urls=dict(job.asset_urls))
    return asdict(plain)
