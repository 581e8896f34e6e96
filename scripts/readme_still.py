"""Render the README's demo still: a portrait video with captions, one frame as PNG.

    .venv/bin/python scripts/readme_still.py [--out docs/demo-still.png]

The frame is taken mid-sentence, so the mouth is open and a caption is on screen.
The PNG is palette-quantised (256 colours, dithered so the background gradient does
not band) to stay small: about 40 KB instead of 140.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from reelform.providers.local.render import RenderRequest, render  # noqa: E402

SCRIPT = (
    "Hi, I'm Ava. This video was written as code: a few lines of YAML, "
    "planned and applied like infrastructure, and rendered on this laptop."
)
AT_SECONDS = 2.0  # mid-sentence, eyes open, with a caption showing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "demo-still.png")
    parser.add_argument("--avatar", type=int, default=1)
    args = parser.parse_args()
    request = RenderRequest(
        key="readme-still",
        title="reelform demo",
        script=SCRIPT,
        avatar_id=args.avatar,
        aspect="portrait",
        captions=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "demo.mp4"
        result = render(request, video)
        wanted = min(result.frames - 1, round(AT_SECONDS * 25))
        with av.open(str(video)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == wanted:
                    image = frame.to_image()
                    break
    still = image.quantize(
        colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    still.save(args.out, optimize=True)
    print(f"{args.out} ({args.out.stat().st_size // 1024} KB, frame {wanted} of {result.frames})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
