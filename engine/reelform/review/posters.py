"""Poster frames: one small JPEG per video, cached by the video file's sha256.

The cache (``.reelform/posters/<sha256>.jpg`` beside the spec) is content-addressed:
a re-rendered video has a new sha256 and so a new poster, an unchanged one is never
decoded again, and two specs sharing a folder share the cache. A poster is written
atomically, so a build interrupted half-way leaves no half JPEG to be served later.

Decoding runs in worker processes when there are many (PyAV releases the GIL only
in parts; a process per core makes a cold build of 1,000 videos twice as fast on two
cores).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

from reelform.atomic import atomic_write

POSTER_WIDTH = 320  # CSS pixels of a card; 2x would double the bytes of a 1,000-card page
JPEG_QUALITY = 78
CACHE_FOLDER = Path(".reelform") / "posters"
#: Below this many posters to make, a process pool costs more than it saves.
POOL_THRESHOLD = 8


class PosterError(Exception):
    """No frame could be read from the file (corrupt, not a video, unreadable)."""


def cache_dir(spec_directory: Path) -> Path:
    return spec_directory / CACHE_FOLDER


def poster_path(cache: Path, sha256: str) -> Path:
    return cache / f"{sha256}.jpg"


def extract_poster(video: Path) -> bytes:
    """The JPEG of the video's first frame, POSTER_WIDTH wide (PosterError if none)."""
    import av
    from PIL import Image

    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                raise PosterError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                image = cast(Any, frame).to_image()
                break
            else:
                raise PosterError("no video frame")
    except PosterError:
        raise
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise PosterError(_first_line(exc)) from None
    height = max(1, round(image.height * POSTER_WIDTH / image.width))
    image = image.convert("RGB").resize((POSTER_WIDTH, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def make_poster(video: Path, target: Path) -> str | None:
    """Write ``target`` from ``video``; the error's text instead when there is no frame."""
    try:
        data = extract_poster(video)
    except PosterError as exc:
        return str(exc)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, data)
    return None


def make_posters(jobs: Mapping[Path, Path], workers: int | None = None) -> dict[Path, str]:
    """Make every missing poster (``target -> video``); the errors by target."""
    todo = {target: video for target, video in jobs.items() if not target.is_file()}
    if len(todo) < POOL_THRESHOLD:
        return _collect((target, make_poster(video, target)) for target, video in todo.items())
    count = workers or min(len(todo) // POOL_THRESHOLD, os.cpu_count() or 1, 8)
    with ProcessPoolExecutor(max_workers=max(1, count)) as pool:
        targets = list(todo)
        results = pool.map(make_poster, [todo[t] for t in targets], targets, chunksize=16)
        return _collect(zip(targets, results, strict=True))


def _collect(results: Iterable[tuple[Path, str | None]]) -> dict[Path, str]:
    return {target: error for target, error in results if error is not None}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
