"""H.264 + AAC MP4 through PyAV, fed with yuv420p planes.

Frames are composed directly in yuv420p: static layers and patches are converted
from RGB once (by FFmpeg's swscale, so colours match a normal RGB pipeline), and
each frame is a memcpy of the canvas into an ``av.VideoFrame``. This leaves the
x264 encoder as the only real per-frame cost.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt

from reelform.providers.local.avatars import Pixels

FPS = 25
AUDIO_RATE = 44100  # for audio files; eSpeak speech keeps its own 22050 Hz
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 23


@dataclass(frozen=True)
class YuvPatch:
    """An RGB region converted to yuv420p planes, to paste at (x, y) (even)."""

    x: int
    y: int
    planes: tuple[Pixels, Pixels, Pixels]

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[0])


def _split(buf: Pixels, w: int, h: int) -> tuple[Pixels, Pixels, Pixels]:
    """Views of the Y, U and V planes of a packed (h * 3/2, w) yuv420p buffer (the
    planes follow each other without padding, so split the flat bytes)."""
    flat = buf.reshape(-1)
    q = (h // 2) * (w // 2)
    y = flat[: h * w].reshape(h, w)
    u = flat[h * w : h * w + q].reshape(h // 2, w // 2)
    v = flat[h * w + q : h * w + 2 * q].reshape(h // 2, w // 2)
    return y, u, v


def to_yuv(rgb: Pixels, x: int = 0, y: int = 0) -> YuvPatch:
    h, w = rgb.shape[:2]
    if w % 2 or h % 2 or x % 2 or y % 2:
        raise ValueError(f"patch {w}x{h} at ({x}, {y}) is not on even pixels")
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    buf: Pixels = np.asarray(frame.reformat(format="yuv420p").to_ndarray(), dtype=np.uint8)
    ys, us, vs = _split(buf, w, h)
    return YuvPatch(x, y, (ys.copy(), us.copy(), vs.copy()))


class Canvas:
    """The frame being composed, as one packed yuv420p buffer."""

    def __init__(self, background: YuvPatch) -> None:
        self.width, self.height = background.width, background.height
        self.buffer: Pixels = np.empty((self.height * 3 // 2, self.width), dtype=np.uint8)
        self.planes = _split(self.buffer, self.width, self.height)
        self.paste(background)

    def paste(self, patch: YuvPatch) -> None:
        x, y, w, h = patch.x, patch.y, patch.width, patch.height
        self.planes[0][y : y + h, x : x + w] = patch.planes[0]
        cx, cy = x // 2, y // 2
        self.planes[1][cy : cy + h // 2, cx : cx + w // 2] = patch.planes[1]
        self.planes[2][cy : cy + h // 2, cx : cx + w // 2] = patch.planes[2]


class Encoder:
    """One MP4 file: libx264 yuv420p video at 25 fps and mono AAC audio."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        preset: str = DEFAULT_PRESET,
        crf: int = DEFAULT_CRF,
        threads: int = 0,
        audio_rate: int = AUDIO_RATE,
    ) -> None:
        # faststart: the index goes first, so a browser can play while downloading.
        self.container: Any = av.open(
            str(path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        self.video: Any = self.container.add_stream(
            "libx264", rate=FPS, options={"preset": preset, "crf": str(crf)}
        )
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.video.thread_count = threads
        # The "fast" AAC coder: the default "twoloop" search costs as much as the
        # video on speech, for a difference nobody hears in a talking-head video.
        self.audio: Any = self.container.add_stream(
            "aac", rate=audio_rate, options={"aac_coder": "fast"}
        )
        self.audio.layout = "mono"
        self.audio.bit_rate = 64000  # plenty for mono speech; FFmpeg's default is 128k
        self.frames = 0
        self.samples = 0

    def write_video(self, planes: tuple[Pixels, Pixels, Pixels]) -> None:
        # Copy the planes into a fresh frame through numpy views of its buffers:
        # an order of magnitude faster than VideoFrame.from_ndarray, which loops
        # over rows (1 ms per 720p frame, a tenth of the encoding budget).
        frame = av.VideoFrame(self.video.width, self.video.height, "yuv420p")
        for plane, src in zip(frame.planes, planes, strict=True):
            rows = np.frombuffer(cast(Any, plane), dtype=np.uint8).reshape(-1, plane.line_size)
            rows[: src.shape[0], : src.shape[1]] = src
        frame.pts = self.frames
        self.frames += 1
        self.container.mux(self.video.encode(frame))

    def write_audio(self, samples: npt.NDArray[np.float32]) -> None:
        if samples.size == 0:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = self.audio.rate
        frame.pts = self.samples
        self.samples += samples.size
        self.container.mux(self.audio.encode(frame))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        self.container.mux(self.audio.encode(None))
        self.container.close()

    def abort(self) -> None:
        # Already failing: the close error is noise, and the temp file is removed anyway.
        with contextlib.suppress(Exception):
            self.container.close()
