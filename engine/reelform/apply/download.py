"""Downloading finished videos: streamed, size-capped, hashed, moved in atomically.

The bytes go to a hidden partial file beside the destination, are fsynced, and
the file is renamed into place only when complete, so an output file is either
whole or absent, whatever kills the process. Leftover partial files of a killed
run are removed by ``clean_partials`` at the next apply.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import httpx

from reelform.atomic import fsync_dir
from reelform.errors import ProviderError, RetryableError
from reelform.spec.assets import sniff

MAX_BYTES = 2 * 1024**3  # 2 GiB: far above any avatar video, below a runaway stream
PARTIAL_PREFIX = ".reelform-"
PARTIAL_SUFFIX = ".partial"
ATTEMPTS = 5


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    bytes: int
    mtime_ns: int


def output_suffix(head: bytes, url: str) -> str:
    if sniff(head) == "webm" or urlparse(url).path.lower().endswith(".webm"):
        return ".webm"
    return ".mp4"


def clean_partials(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}"):
        path.unlink(missing_ok=True)


async def download(url: str, folder: Path, stem: str, http: httpx.AsyncClient, *,
                   max_bytes: int = MAX_BYTES, time_scale: float = 1.0) -> Downloaded:
    """Fetch ``url`` into ``folder/stem.mp4`` (or .webm); retry network errors."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{PARTIAL_PREFIX}{stem}.{os.getpid()}{PARTIAL_SUFFIX}"
    for attempt in range(1, ATTEMPTS + 1):
        try:
            digest, size, head = await _fetch(url, partial, http, max_bytes)
            break
        except (httpx.TransportError, RetryableError) as exc:
            partial.unlink(missing_ok=True)
            if attempt == ATTEMPTS:
                raise RetryableError("download", f"{_safe(url)}: {type(exc).__name__}"
                                                 ) from None
            await asyncio.sleep(min(30.0, 2.0 ** attempt) * random.random() * time_scale)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    final = folder / f"{stem}{output_suffix(head, url)}"
    # fsyncs block: in a thread, so other downloads and polls go on meanwhile.
    try:
        mtime_ns = await asyncio.to_thread(_move_into_place, partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Downloaded(final, digest, size, mtime_ns)


def _move_into_place(partial: Path, final: Path) -> int:
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, final)
    fsync_dir(final.parent)
    return final.stat().st_mtime_ns


async def _fetch(url: str, partial: Path, http: httpx.AsyncClient, max_bytes: int
                 ) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    parsed = urlparse(url)
    # Creating a file can take a millisecond: not on the event loop, 10,000 times over.
    handle = await asyncio.to_thread(partial.open, "wb")
    with handle:
        if parsed.scheme == "file":
            source = Path(unquote(parsed.path))
            await asyncio.to_thread(_copy_file, source, handle, max_bytes)
        else:
            async with http.stream("GET", url) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise RetryableError("download", f"{_safe(url)}: HTTP {response.status_code}")
                if response.status_code != 200:
                    raise ProviderError("download", f"{_safe(url)}: HTTP {response.status_code}")
                async for chunk in response.aiter_bytes(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ProviderError("download", f"{_safe(url)}: larger than "
                                                        f"{max_bytes // 1024**2} MiB; stopped")
                    if len(head) < 64:
                        head += chunk[: 64 - len(head)]
                    digest.update(chunk)
                    handle.write(chunk)
            return digest.hexdigest(), size, head
    # file:// path: hash what was copied (cheap, local)
    with partial.open("rb") as copied:
        head = copied.read(64)
        digest.update(head)
        size = len(head)
        while chunk := copied.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


def _copy_file(source: Path, handle: BinaryIO, max_bytes: int) -> None:
    try:
        if source.stat().st_size > max_bytes:
            raise ProviderError("download", f"{source.name}: larger than the size cap")
        with source.open("rb") as src:
            shutil.copyfileobj(src, handle)
    except FileNotFoundError:
        raise ProviderError("download", f"{source.name}: the rendered file is gone") from None


def _safe(url: str) -> str:
    """A URL for messages: no query string (signed URLs carry credentials there)."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
