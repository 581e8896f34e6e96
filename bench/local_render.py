"""Benchmark of the local renderer: real-time factor against a PyAV encoding anchor.

    .venv/bin/python bench/local_render.py [--seconds 30] [--repeat 1]

Real-time factor (RTF) = seconds of video made per wall-clock second. The anchor is
PyAV encoding the same number of blank frames with the same codec settings (the
floor no renderer on top of it can beat); the renderer should reach at least half
of the anchor's speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from reelform.providers.local.encode import DEFAULT_CRF, DEFAULT_PRESET, FPS
from reelform.providers.local.layout import frame_size
from reelform.providers.local.render import RenderRequest, render
from reelform.providers.local.speech import synthesize

SENTENCES = (
    "Welcome to reelform, where every video is written down as code.",
    "You describe the avatar, the voice and the layout in a small YAML file.",
    "Then plan shows what will change, and apply makes it so, one job at a time.",
    "The local provider renders everything on your own machine, for free.",
    "Speech comes from eSpeak, the mouth follows the phonemes, and captions follow the words.",
    "When you are happy with the result, switch the provider and render it for real.",
)


def script_of(seconds: float) -> str:
    """Repeat the sentences until eSpeak speaks for about ``seconds``."""
    words: list[str] = []
    i = 0
    while True:
        words.append(SENTENCES[i % len(SENTENCES)])
        i += 1
        if synthesize(" ".join(words), "en").duration >= seconds:
            return " ".join(words)


def _photo(path: Path) -> None:
    """A stand-in portrait photo: textured, so the encoder has real detail to code."""
    from PIL import Image, ImageDraw, ImageFilter

    noise = np.random.default_rng(1).integers(0, 255, (960, 720, 3), dtype=np.uint8)
    img = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(3))
    ImageDraw.Draw(img).ellipse((200, 250, 520, 700), fill=(225, 190, 160))
    img.save(path)


def anchor(width: int, height: int, frames: int, out: Path) -> float:
    """Wall seconds for PyAV to encode ``frames`` blank frames, same codec settings."""
    blank = np.zeros((height * 3 // 2, width), dtype=np.uint8)
    blank[height:] = 128
    start = time.perf_counter()
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=FPS, options={"preset": DEFAULT_PRESET, "crf": str(DEFAULT_CRF)}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.thread_count = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(blank, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best counts")
    args = parser.parse_args()
    script = script_of(args.seconds)
    synthesize("warm up", "en")  # eSpeak's one-off start is not per video
    print(f"script: {len(script.split())} words; preset {DEFAULT_PRESET}, crf {DEFAULT_CRF}")
    print(f"{'case':<34}{'video s':>8}{'wall s':>8}{'RTF':>7}{'anchor RTF':>12}{'vs anchor':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = folder / "photo.png"
        _photo(photo)
        for preview in (False, True):
            for style, captions, image in (
                (1, True, None),
                (2, True, None),
                (3, True, None),
                (1, False, None),
                (1, True, photo),
            ):
                request = RenderRequest(
                    key="rf-bench",
                    title="Benchmark",
                    script=script,
                    screen_style=style,
                    captions=captions,
                    preview=preview,
                    image_path=image,
                )
                best = float("inf")
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    result = render(request, folder / "out.mp4")
                    best = min(best, time.perf_counter() - start)
                w, h = frame_size("portrait", preview)
                base = min(
                    anchor(w, h, result.frames, folder / "anchor.mp4") for _ in range(args.repeat)
                )
                rtf, anchor_rtf = result.duration / best, result.duration / base
                name = f"{w}x{h} style {style}{' +captions' if captions else ''}"
                name += " photo" if image else ""
                print(
                    f"{name:<34}{result.duration:>8.1f}{best:>8.2f}{rtf:>6.1f}x"
                    f"{anchor_rtf:>11.1f}x{rtf / anchor_rtf:>10.0%}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
