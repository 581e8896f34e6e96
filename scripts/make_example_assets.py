"""Make the example specs' assets: a portrait photo and a short spoken WAV.

The examples must run as they are, so their assets are committed; this script
is how they were made (offline: Pillow draws the portrait, eSpeak NG speaks).

    .venv/bin/python scripts/make_example_assets.py
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from reelform.providers.local.speech import synthesize

ASSETS = Path(__file__).resolve().parents[1] / "specs" / "assets"


def portrait(path: Path, size: tuple[int, int] = (640, 640)) -> None:
    """A frontal, mouth-closed face on a plain background (what Mirako asks for)."""
    w, h = size
    image = Image.new("RGB", size, (214, 226, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((w * 0.2, h * 0.78, w * 0.8, h), fill=(52, 84, 122))  # shoulders
    draw.rectangle((w * 0.43, h * 0.64, w * 0.57, h * 0.8), fill=(224, 182, 150))  # neck
    draw.ellipse((w * 0.3, h * 0.18, w * 0.7, h * 0.72), fill=(232, 190, 158))  # face
    draw.chord((w * 0.28, h * 0.12, w * 0.72, h * 0.5), 180, 360, fill=(70, 48, 36))  # hair
    for x in (0.42, 0.58):
        draw.ellipse((w * (x - 0.03), h * 0.40, w * (x + 0.03), h * 0.44), fill=(40, 40, 48))
    draw.line((w * 0.44, h * 0.59, w * 0.56, h * 0.59), fill=(150, 70, 70), width=4)  # mouth
    image.save(path, optimize=True)


def spoken(path: Path, text: str, voice: str = "en") -> None:
    speech = synthesize(text, voice)
    samples = np.clip(speech.samples * 32767, -32768, 32767).astype("<i2")  # float -> s16
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(speech.rate)
        handle.writeframes(samples.tobytes())


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    portrait(ASSETS / "portrait.png")
    spoken(
        ASSETS / "founder-update.wav",
        "Hi everyone. A quick update from me: the new release ships on Friday.",
    )
    for path in sorted(ASSETS.iterdir()):
        print(f"{path.relative_to(ASSETS.parents[1])}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
