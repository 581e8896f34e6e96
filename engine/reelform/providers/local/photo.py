"""A photo instead of a drawn avatar: a simple audio-driven animation.

There is no face model offline, so a photo "speaks" through loudness: it rises a
little (a nod), and a soft shadow pulses where a portrait's mouth usually is (centre,
about 64% down). A few levels are precomputed; each frame picks one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from reelform.errors import RenderError
from reelform.providers.local.avatars import Pixels

LEVELS = 6
_MAX_RISE = 0.012  # of the height, at full loudness
_MOUTH = (0.5, 0.64)


def photo_levels(path: Path, width: int, height: int) -> list[Pixels]:
    """``LEVELS`` frames of the photo filling width x height, from still to loudest."""
    try:
        with Image.open(path) as opened:
            photo = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise RenderError(f"cannot read image {path.name}: {exc}") from exc
    # The photo rises by whole, even pixels: a pure translation costs the encoder
    # a motion vector per block, where a zoom would change every pixel of every frame
    # (the first version zoomed, and encoded at a third of the speed).
    rise_max = max(2, round(height * _MAX_RISE / 2) * 2)
    tall = ImageOps.fit(photo, (width, height + rise_max), Image.Resampling.LANCZOS)
    mask = Image.new("L", tall.size, 0)
    mx, my = _MOUTH[0] * width, _MOUTH[1] * height + rise_max / 2
    rx, ry = width * 0.09, height * 0.035
    ImageDraw.Draw(mask).ellipse((mx - rx, my - ry, mx + rx, my + ry), fill=255)
    soft = np.asarray(mask.filter(ImageFilter.GaussianBlur(max(2.0, rx * 0.4))), np.float32) / 255
    pixels = np.asarray(tall, np.float32)
    levels: list[Pixels] = []
    for k in range(LEVELS):
        f = k / (LEVELS - 1)
        top = round(rise_max * f / 2) * 2
        shade = 1 - 0.35 * f * soft[top : top + height, :, None]
        levels.append((pixels[top : top + height] * shade).clip(0, 255).astype(np.uint8))
    return levels


def level_per_frame(level: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Loudness to a level index, with a fast attack and a slower release so the
    picture does not jitter from frame to frame."""
    out = np.zeros(level.shape, dtype=np.uint8)
    smooth = 0.0
    for i, v in enumerate(level):
        smooth = max(float(v), smooth * 0.7)
        out[i] = min(LEVELS - 1, round(min(smooth, 1.0) * (LEVELS - 1)))
    return out
