"""The renderer end to end: decode the MP4s it writes and look at the pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelform.errors import RenderError
from reelform.providers.local.avatars import sprites
from reelform.providers.local.layout import frame_size, layout
from reelform.providers.local.render import RenderRequest, RenderResult, render

SCRIPT = "Hello there. My name is Ava, and this video was made offline."
BASE = RenderRequest(key="rf-test", title="Test video", script=SCRIPT, preview=True)
Region = tuple[int, int, int, int]
Rendered = tuple[RenderResult, Any]


def crop(frame: np.ndarray, box: Region) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def video(
    tmp_path_factory: pytest.TempPathFactory, probe_mp4: Callable[[Path], Any]
) -> Callable[[RenderRequest], Rendered]:
    """Render each distinct request once per module and decode it."""
    folder = tmp_path_factory.mktemp("renders")
    cache: dict[RenderRequest, Rendered] = {}

    def get(request: RenderRequest) -> Rendered:
        if request not in cache:
            out = folder / f"{len(cache)}.mp4"
            cache[request] = (render(request, out), probe_mp4(out))
        return cache[request]

    return get


def mouth_and_eyes(request: RenderRequest) -> tuple[Region, Region]:
    """Where the mouth and eyes are in a full-screen (style 1) frame."""
    w, h = frame_size(request.aspect, request.preview)
    look = sprites(request.avatar_id, w, h)
    return look.mouth_box, look.eye_box


def test_script_video_is_h264_aac_25fps_with_speech_duration(video: Any) -> None:
    result, p = video(BASE)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    assert p.fps == 25
    assert (p.width, p.height) == (360, 640)
    assert 1.5 < result.duration < 6
    assert p.duration == pytest.approx(result.duration, rel=0.1)
    assert len(p.frames) == result.frames


@pytest.mark.parametrize(
    ("aspect", "preview", "size"),
    [
        ("portrait", False, (720, 1280)),
        ("landscape", False, (1280, 720)),
        ("square", False, (1080, 1080)),
        ("landscape", True, (640, 360)),
        ("square", True, (540, 540)),
    ],
)
def test_dimensions_per_aspect(
    video: Any, aspect: str, preview: bool, size: tuple[int, int]
) -> None:
    _, p = video(replace(BASE, script="Hi.", aspect=aspect, preview=preview))
    assert (p.width, p.height) == size


def test_mouth_moves_while_speaking_and_little_else_changes(video: Any) -> None:
    _, p = video(BASE)
    mouth, eyes = mouth_and_eyes(BASE)
    first, rest = p.frames[0], crop(p.frames[-1], mouth)  # the tail: mouth at rest
    mouth_change = max(diff(crop(f, mouth), rest) for f in p.frames)
    assert mouth_change > 8
    shapes = {crop(f, mouth).tobytes() for f in p.frames}
    assert len(shapes) >= 4  # several mouth shapes, not one flapping hinge
    # Outside the mouth and eyes the picture is still (up to encoder noise).
    still = np.ones(first.shape[:2], dtype=bool)
    for x, y, w, h in (mouth, eyes):
        still[max(0, y - 4) : y + h + 4, max(0, x - 4) : x + w + 4] = False
    worst = max(float(np.abs(f.astype(np.int16) - first)[still].mean()) for f in p.frames)
    assert worst < 1.0


def test_captions_appear_in_the_caption_box(video: Any) -> None:
    _, plain = video(BASE)
    _, captioned = video(replace(BASE, captions=True))
    box = layout("portrait", 1, True, "", "").caption_box
    pairs = zip(plain.frames, captioned.frames, strict=True)
    shown = [diff(crop(a, box), crop(b, box)) for a, b in pairs]
    speaking = len(plain.frames) // 2
    assert shown[speaking] > 10
    assert sum(d > 10 for d in shown) > 0.7 * len(shown)
    # the caption changes over time (two sentences, at least two cues)
    assert diff(crop(captioned.frames[5], box), crop(captioned.frames[-5], box)) > 5
    # and leaves the face alone
    mouth, _ = mouth_and_eyes(BASE)
    assert diff(crop(plain.frames[speaking], mouth), crop(captioned.frames[speaking], mouth)) < 2


def test_screen_styles_look_different(video: Any) -> None:
    frames = [video(replace(BASE, script="Hi.", screen_style=s))[1].frames[0] for s in (1, 2, 3)]
    assert diff(frames[0], frames[1]) > 20
    assert diff(frames[1], frames[2]) > 20
    assert diff(frames[0], frames[2]) > 20


def test_avatars_look_different(video: Any) -> None:
    frames = [video(replace(BASE, script="Hi.", avatar_id=i))[1].frames[0] for i in (1, 2, 3, 4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert diff(frames[i], frames[j]) > 10


def test_audio_voice_moves_the_mouth_with_loudness(video: Any, wav_file: Path) -> None:
    request = replace(BASE, script=None, audio_path=wav_file, captions=True)
    result, p = video(request)
    assert p.duration == pytest.approx(2.0, rel=0.1)
    assert result.duration == pytest.approx(2.0, rel=0.1)
    mouth, _ = mouth_and_eyes(request)
    rest = crop(p.frames[-1], mouth)
    # 0.4 s of tone, 0.4 s of silence: the mouth opens in the loud frames only.
    loud = [diff(crop(p.frames[i], mouth), rest) for i in (2, 4, 7, 22, 25)]
    quiet = [diff(crop(p.frames[i], mouth), rest) for i in (12, 15, 17, 32, 35)]
    assert min(loud) > 5
    assert max(quiet) < 3
    # Captions of an audio voice: the title, spread over the audio.
    _, plain = video(replace(request, captions=False))
    box = layout("portrait", 1, True, "", "").caption_box
    assert diff(crop(p.frames[10], box), crop(plain.frames[10], box)) > 10


def test_image_job_shows_the_photo_and_pulses(video: Any, png_file: Path) -> None:
    request = replace(BASE, script=None, audio_path=None, image_path=png_file, voice_id=None)
    request = replace(request, script="Hello, I am a photo.")
    _, p = video(request)
    corner = p.frames[0][:40, :40].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 150 and corner[1] < 90  # the photo's red background
    changes = [diff(f, p.frames[0]) for f in p.frames]
    assert max(changes) > 2  # zoom/bob/shading with loudness


def test_unknown_voice_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="unknown eSpeak voice 'zz'"):
        render(replace(BASE, voice_id="zz"), tmp_path / "x.mp4")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_bad_audio_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(RenderError, match=r"bad\.mp3"):
        render(replace(BASE, script=None, audio_path=bad), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_german_script_renders(video: Any) -> None:
    result, p = video(replace(BASE, script="Guten Tag, wie geht es Ihnen?", voice_id="de"))
    assert result.duration > 1.0
    mouth, _ = mouth_and_eyes(BASE)
    assert max(diff(crop(f, mouth), crop(p.frames[-1], mouth)) for f in p.frames) > 8
