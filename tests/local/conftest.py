"""Fixtures for the local provider: small media files and an MP4 probe."""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Probe:
    video_codec: str
    audio_codec: str | None
    fps: float
    width: int
    height: int
    duration: float
    frames: list[npt.NDArray[np.uint8]]


def probe(path: Path) -> Probe:
    """Decode an MP4 completely (test videos are a few seconds long)."""
    with av.open(str(path)) as container:
        v = container.streams.video[0]
        a = container.streams.audio[0] if container.streams.audio else None
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        duration = float(container.duration or 0) / av.time_base
        return Probe(
            video_codec=v.codec_context.name,
            audio_codec=a.codec_context.name if a is not None else None,
            fps=float(v.average_rate or 0),
            width=v.codec_context.width,
            height=v.codec_context.height,
            duration=duration,
            frames=frames,
        )


def write_wav(path: Path, seconds: float = 2.0, rate: int = 16000) -> Path:
    """Bursts of a voiced tone with silences between them, like speech with pauses."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 180 * t) + 0.2 * np.sin(2 * np.pi * 540 * t)
    gate = (np.floor(t * 2.5) % 2 == 0).astype(np.float64)  # 0.2 s on, 0.2 s off
    pcm = (tone * gate * 0.8 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def write_png(path: Path, size: tuple[int, int] = (400, 500)) -> Path:
    """A red-dominated 'photo' with a face-like oval, easy to recognise in frames."""
    img = Image.new("RGB", size, (200, 40, 40))
    d = ImageDraw.Draw(img)
    w, h = size
    d.ellipse((w * 0.3, h * 0.25, w * 0.7, h * 0.75), fill=(240, 200, 170))
    img.save(path)
    return path


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "voice.wav")


@pytest.fixture
def make_wav() -> Callable[..., Path]:
    return write_wav


@pytest.fixture(scope="session")
def probe_mp4() -> Callable[[Path], Probe]:
    return probe


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    return write_png(tmp_path / "photo.png")
