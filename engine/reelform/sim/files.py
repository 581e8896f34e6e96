"""Real media for the simulators: result videos, covers, TTS audio, and input probing.

Clients download and check what a provider returns (size, sha256, playable container),
so the simulator serves genuine files: one tiny H.264 MP4 (and a VP9 WebM for JoggAI's
transparent v1 style) encoded once with PyAV per process and cached. Probing decides
Mirako's input checks (image format and size, audio format and length) and the
duration a JoggAI audio video reports.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import wave
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from PIL import Image

VIDEO_SIZE = (64, 64)
VIDEO_FPS = 25
VIDEO_SECONDS = 1


def _encode(
    container_format: str, codec: str, pix_fmt: str, size: tuple[int, int] = VIDEO_SIZE
) -> bytes:
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream: Any = container.add_stream(codec, rate=VIDEO_FPS)
        stream.width, stream.height = width, height
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        for index in range(VIDEO_FPS * VIDEO_SECONDS):
            shade = (index * 8) % 256
            pixels = np.full((height, width, 3), shade, dtype=np.uint8)
            pixels[:, :, 1] = 128
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.time_base = Fraction(1, VIDEO_FPS)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@functools.cache
def sample_mp4(width: int = VIDEO_SIZE[0], height: int = VIDEO_SIZE[1]) -> bytes:
    """A one-second H.264 MP4 (the format both providers document), 25 fps.

    Mirako documents its output at the input image's dimensions, so its results are
    encoded at that size (rounded down to even numbers, as yuv420p needs); one file per
    size, cached for the life of the process.
    """
    return _encode("mp4", "libx264", "yuv420p", (width - width % 2, height - height % 2))


@functools.cache
def sample_webm() -> bytes:
    """A one-second VP9 WebM, for JoggAI v1 screen_style 3 (transparent background)."""
    return _encode("webm", "libvpx-vp9", "yuv420p")


@functools.cache
def sample_cover() -> bytes:
    """A small JPEG cover image."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


# TTS audio: mirako.yaml documents b64_audio_str as "PCM s16" and gives as its example
# a base64 RIFF/WAVE header declaring mono, 16-bit, 16000 Hz. The simulator follows that
# example: a complete WAV file (header + s16 samples), mono, 16 kHz.
TTS_SAMPLE_RATE = 16_000


def tts_wav(text: str) -> tuple[bytes, float]:
    """A WAV of a quiet tone whose length follows the text (about 150 words a minute)."""
    seconds = script_seconds(text)
    count = int(seconds * TTS_SAMPLE_RATE)
    t = np.arange(count) / TTS_SAMPLE_RATE
    samples = (np.sin(2 * math.pi * 220 * t) * 3000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(TTS_SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue(), count / TTS_SAMPLE_RATE


def script_seconds(text: str) -> float:
    """Spoken length of a script: 2.5 words per second, at least one second."""
    return max(1.0, round(len(text.split()) / 2.5, 2))


@dataclass(frozen=True)
class AudioInfo:
    format: str  # "wav" | "mp3" | other container name
    seconds: float


def probe_audio(data: bytes) -> AudioInfo | None:
    """Format and duration of an audio file, or None when it is not audio."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as reader:
                return AudioInfo("wav", reader.getnframes() / reader.getframerate())
        except (wave.Error, EOFError, ZeroDivisionError):
            pass
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                return None
            name = container.format.name.split(",")[0]
            if container.duration is not None:
                seconds = container.duration / 1_000_000
            else:
                stream = container.streams.audio[0]
                seconds = float((stream.duration or 0) * (stream.time_base or 0))
            return AudioInfo(name, seconds)
    except (av.FFmpegError, ValueError):
        return None


def probe_image(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of an image, or None when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return str(image.format), image.width, image.height
    except Exception:  # Pillow raises many unrelated types for garbage input
        return None


def decode_base64(text: str) -> bytes | None:
    """Strict plain base64 (Mirako rejects data: URLs and stray characters)."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None
