"""The pure renderer: a RenderRequest in, an MP4 file out.

``render`` has no knowledge of providers, jobs or event loops, so it runs the same
in a worker process, in a test, or in the benchmark. Everything a frame needs is
prepared first (speech, per-frame mouth/eye/caption states, yuv patches); the frame
loop then only pastes patches and hands the canvas to the encoder.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelform.errors import RenderError
from reelform.providers.local import captions as cap
from reelform.providers.local.avatars import Pixels, sprites
from reelform.providers.local.encode import (
    AUDIO_RATE,
    DEFAULT_CRF,
    DEFAULT_PRESET,
    FPS,
    Canvas,
    Encoder,
    YuvPatch,
    to_yuv,
)
from reelform.providers.local.layout import Layout, layout
from reelform.providers.local.photo import level_per_frame, photo_levels
from reelform.providers.local.speech import Speech, decode_audio, synthesize
from reelform.providers.local.visemes import (
    blink_frames,
    frames_from_loudness,
    frames_from_phonemes,
    loudness,
)

TAIL = 0.08  # seconds of stillness after the last word, so the ending is not abrupt


@dataclass(frozen=True)
class RenderRequest:
    """Everything needed to render one video; plain values, so it pickles."""

    key: str
    title: str = ""
    script: str | None = None
    voice_id: str | None = None
    audio_path: Path | None = None
    avatar_id: int = 1
    image_path: Path | None = None  # a photo shown instead of a drawn avatar
    aspect: str = "portrait"
    screen_style: int = 1
    captions: bool = False
    preview: bool = False
    preset: str = DEFAULT_PRESET
    crf: int = DEFAULT_CRF
    threads: int = 0  # x264 threads; 0 lets x264 choose


@dataclass(frozen=True)
class RenderResult:
    duration: float  # seconds of video
    frames: int


def speech_for(request: RenderRequest) -> Speech:
    """The soundtrack, with word/phoneme events for a script.

    Synthetic speech stays at eSpeak's 22050 Hz (resampling it adds nothing, and AAC
    at half the rate costs half as much); audio files are decoded at AUDIO_RATE."""
    if request.audio_path is not None:
        return decode_audio(request.audio_path, AUDIO_RATE)
    if request.script is None:
        raise RenderError("the video has neither a script nor an audio file")
    return synthesize(request.script, request.voice_id)


def render(request: RenderRequest, out_path: Path) -> RenderResult:
    """Render ``request`` to ``out_path`` (written atomically: temp file, then rename)."""
    speech = speech_for(request)
    frame_count = max(1, math.ceil((speech.duration + TAIL) * FPS))
    rate = speech.rate
    samples = np.zeros(round(frame_count * rate / FPS), dtype=np.float32)
    n = min(len(samples), len(speech.samples))
    samples[:n] = speech.samples[:n]

    text = request.script or ""
    lay = layout(
        request.aspect,
        request.screen_style,
        request.preview,
        request.title or request.key,
        text or request.title,
    )
    ax, ay, aw, ah = lay.avatar_box
    frame_rgb = lay.background.copy()
    level = loudness(samples, rate, frame_count, FPS)
    dynamic: list[tuple[np.ndarray, list[YuvPatch]]] = []  # (state per frame, patch per state)
    if request.image_path is not None:
        levels = photo_levels(request.image_path, aw, ah)
        frame_rgb[ay : ay + ah, ax : ax + aw] = levels[0]
        dynamic.append((level_per_frame(level), [to_yuv(p, ax, ay) for p in levels]))
    else:
        look = sprites(request.avatar_id, aw, ah)
        frame_rgb[ay : ay + ah, ax : ax + aw] = look.base
        if request.script is not None and speech.phonemes:
            shapes = frames_from_phonemes(speech.phonemes, frame_count, FPS, speech.duration)
        else:
            shapes = frames_from_loudness(level)
        mx, my, _, _ = look.mouth_box
        ex, ey, _, _ = look.eye_box
        dynamic.append((shapes, [to_yuv(m, ax + mx, ay + my) for m in look.mouths]))
        blinks = blink_frames(frame_count, FPS, request.key)
        dynamic.append((blinks, [to_yuv(e, ax + ex, ay + ey) for e in look.eyes]))
    if request.captions:
        dynamic.append(_caption_track(request, speech, lay, frame_rgb, frame_count))

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    encoder = Encoder(
        tmp,
        lay.width,
        lay.height,
        preset=request.preset,
        crf=request.crf,
        threads=request.threads,
        audio_rate=rate,
    )
    try:
        canvas = Canvas(to_yuv(frame_rgb))
        shown = [-1] * len(dynamic)
        per_frame = rate / FPS
        for i in range(frame_count):
            for d, (states, patches) in enumerate(dynamic):
                s = int(states[i])
                if s != shown[d]:  # later tracks sit on top of earlier ones: repaint them
                    canvas.paste(patches[s])
                    shown[d] = s
                    for later in range(d + 1, len(dynamic)):
                        shown[later] = -1
            encoder.write_video(canvas.planes)
            encoder.write_audio(samples[round(i * per_frame) : round((i + 1) * per_frame)])
        encoder.close()
        os.replace(tmp, out_path)
    except BaseException:
        encoder.abort()
        tmp.unlink(missing_ok=True)
        raise
    return RenderResult(frame_count / FPS, frame_count)


def _caption_track(
    request: RenderRequest, speech: Speech, lay: Layout, frame_rgb: Pixels, frame_count: int
) -> tuple[np.ndarray, list[YuvPatch]]:
    """Per-frame cue states and their patches; state 0 is "no caption" (the bare region).

    An audio voice has no word timings: its caption text is the job title, spread
    evenly over the audio (or the script, when a spec gives both)."""
    x, y, w, h = lay.caption_box
    size, family = lay.caption_font_size, lay.font_family
    region = frame_rgb[y : y + h, x : x + w]
    words = speech.words or cap.spread_words(request.script or request.title, speech.duration)
    cue_list = cap.cues(words, speech.duration, size, int(w * 0.92), family)
    patches = [to_yuv(region, x, y)]
    drawn: dict[tuple[str, ...], YuvPatch] = {}  # one drawing per distinct cue text
    for cue in cue_list:
        if cue.lines not in drawn:
            drawn[cue.lines] = to_yuv(cap.draw_cue(region, cue.lines, size, family), x, y)
        patches.append(drawn[cue.lines])
    return cap.cue_index(cue_list, frame_count, FPS) + 1, patches
