"""What the asset files are: content hash, format, size, dimensions, duration.

Like git's index, a file is hashed again only when its size or mtime differ from
what the lockfile remembers (``FileFacts``), so a no-op plan reads no asset bytes.
Formats come from the content (magic bytes), not from the file name.
"""

from __future__ import annotations

import hashlib
import wave
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not at run time: probing assets needs no expansion (plan/memo)
    from reelform.speclang.expand import AssetDecl

CHUNK = 1 << 20

CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}
KINDS = {
    "png": "image",
    "jpeg": "image",
    "gif": "image",
    "webp": "image",
    "wav": "audio",
    "mp3": "audio",
    "m4a": "audio",
    "mp4": "video",
    "mov": "video",
    "webm": "video",
}


@dataclass(frozen=True)
class FileFacts:
    """What we know of one file; cached in the lockfile keyed by its path."""

    sha256: str
    size: int
    mtime_ns: int
    format: str | None = None  # png, jpeg, wav, mp3, ... (None: unknown)
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds, audio and video

    @property
    def kind(self) -> str | None:
        return KINDS.get(self.format or "")

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format or "", "application/octet-stream")

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileFacts:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class AssetInfo:
    decl: AssetDecl
    facts: FileFacts | None  # None for url assets and missing files

    @property
    def name(self) -> str:
        return self.decl.name


def probe(path: Path, cached: FileFacts | None = None) -> FileFacts:
    """Facts of ``path``, reusing ``cached`` when size and mtime are unchanged."""
    stat = path.stat()
    if cached is not None and cached.size == stat.st_size and cached.mtime_ns == stat.st_mtime_ns:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(64)
        digest.update(head)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    fmt = sniff(head)
    width = height = None
    duration = None
    if KINDS.get(fmt or "") == "image":
        width, height = _image_size(path)
    elif fmt == "wav":
        duration = _wav_duration(path)
    elif fmt is not None:
        duration = _media_duration(path)
    return FileFacts(
        digest.hexdigest(), stat.st_size, stat.st_mtime_ns, fmt, width, height, duration
    )


def sniff(head: bytes) -> str | None:
    """The file format from its first bytes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        if brand == b"qt  ":
            return "mov"
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return None


def _image_size(path: Path) -> tuple[int | None, int | None]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            return image.size
    except (UnidentifiedImageError, OSError):
        return None, None


def _wav_duration(path: Path) -> float | None:
    try:
        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
            return handle.getnframes() / rate if rate else None
    except (wave.Error, EOFError, OSError):
        return _media_duration(path)  # e.g. float WAV, which `wave` does not read


def _media_duration(path: Path) -> float | None:
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = next(iter(container.streams), None)
            if stream is not None and stream.duration is not None and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:  # PyAV raises many kinds for broken files; unknown is the answer
        return None
    return None
