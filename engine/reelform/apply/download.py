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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import httpx

from reelform.atomic import fsync_dir
from reelform.batched import Batched
from reelform.errors import ProviderError, RetryableError
from reelform.speclang.assets import sniff

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


class DownloadFiles:
    """The blocking file work of downloads, batched: one thread hop for many downloads.

    Creating a file took half a millisecond here, too long for the event loop. A
    finished file is fsynced before it is renamed into place (so it is whole or
    absent, even after a power cut), and its folder after (so the rename lasts);
    each batch fsyncs each of its folders once.
    """

    def __init__(self) -> None:
        self.create: Batched[Path, BinaryIO] = Batched(_create_all, discard=_discard_created)
        self.place: Batched[tuple[BinaryIO, Path, Path], int] = Batched(_place_all)


def _create_all(paths: Sequence[Path]) -> list[BinaryIO | Exception]:
    results: list[BinaryIO | Exception] = []
    for path in paths:
        try:
            results.append(path.open("wb"))
        except OSError as exc:
            results.append(exc)
    return results


def _discard_created(path: Path, handle: BinaryIO) -> None:
    handle.close()
    path.unlink(missing_ok=True)


def _place_all(moves: Sequence[tuple[BinaryIO, Path, Path]]) -> list[int | Exception]:
    """Close, fsync and rename each (handle, partial, final); their mtimes in ns."""
    results: list[int | Exception] = []
    folders: dict[Path, list[int]] = {}
    for handle, partial, final in moves:
        try:
            with handle:
                os.fsync(handle.fileno())
            os.replace(partial, final)
            results.append(final.stat().st_mtime_ns)
            folders.setdefault(final.parent, []).append(len(results) - 1)
        except OSError as exc:
            results.append(exc)
    for folder, indexes in folders.items():
        try:
            fsync_dir(folder)
        except OSError as exc:
            for index in indexes:
                results[index] = exc
    return results


async def download(
    url: str,
    folder: Path,
    stem: str,
    http: httpx.AsyncClient,
    *,
    max_bytes: int = MAX_BYTES,
    time_scale: float = 1.0,
    files: DownloadFiles | None = None,
) -> Downloaded:
    """Fetch ``url`` into ``folder/stem.mp4`` (or .webm); retry network errors."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{PARTIAL_PREFIX}{stem}.{os.getpid()}{PARTIAL_SUFFIX}"
    files = files or DownloadFiles()
    handle: BinaryIO | None = None
    try:
        for attempt in range(1, ATTEMPTS + 1):
            handle = await files.create(partial)
            try:
                digest, size, head = await _fetch(url, handle, http, max_bytes)
                break
            except (httpx.TransportError, RetryableError) as exc:
                handle.close()
                if attempt == ATTEMPTS:
                    raise RetryableError(
                        "download", f"{_safe(url)}: {type(exc).__name__}"
                    ) from None
                await asyncio.sleep(min(30.0, 2.0**attempt) * random.random() * time_scale)
        final = folder / f"{stem}{output_suffix(head, url)}"
        assert handle is not None  # the loop only ends by a break, with the file written
        written, handle = handle, None  # placing closes it, whatever happens to us
        mtime_ns = await files.place((written, partial, final))
    except BaseException:
        if handle is not None:
            handle.close()
        partial.unlink(missing_ok=True)
        raise
    return Downloaded(final, digest, size, mtime_ns)


async def _fetch(
    url: str, handle: BinaryIO, http: httpx.AsyncClient, max_bytes: int
) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        await asyncio.to_thread(_copy_file, source, handle, max_bytes)
        # hash what was copied (cheap, local)
        handle.flush()
        with open(handle.name, "rb") as copied:
            head = copied.read(64)
            digest.update(head)
            size = len(head)
            while chunk := copied.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size, head
    async with http.stream("GET", url) as response:
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError("download", f"{_safe(url)}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ProviderError("download", f"{_safe(url)}: HTTP {response.status_code}")
        async for chunk in response.aiter_bytes(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise ProviderError(
                    "download", f"{_safe(url)}: larger than {max_bytes // 1024**2} MiB; stopped"
                )
            if len(head) < 64:
                head += chunk[: 64 - len(head)]
            digest.update(chunk)
            handle.write(chunk)
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
