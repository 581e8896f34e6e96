"""A photo instead of a drawn avatar: a simple audio-driven animation.

There is no face model offline, so a photo "speaks" through loudness: it zooms in
and rises a little, and a soft shadow pulses where a portrait's mouth usually is
(centre, about 64% down). A few levels are precomputed; each frame picks one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from reelform.errors import RenderError
from reelform.providers.local.avatars import Pixels

LEVELS = 6
_MAX_ZOOM = 0.04
_MOUTH = (0.5, 0.64)


def photo_levels(path: Path, width: int, height: int) -> list[Pixels]:
    """``LEVELS`` frames of the photo filling width x height, from still to loudest."""
    try:
        with Image.open(path) as opened:
            photo = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise RenderError(f"cannot read image {path.name}: {exc}") from exc
    big = ImageOps.fit(photo, (round(width * (1 + _MAX_ZOOM)), round(height * (1 + _MAX_ZOOM))),
                      Image.Resampling.LANCZOS)
    mask = Image.new("L", (width, height), 0)
    mx, my = _MOUTH[0] * width, _MOUTH[1] * height
    rx, ry = width * 0.09, height * 0.035
    ImageDraw.Draw(mask).ellipse((mx - rx, my - ry, mx + rx, my + ry), fill=255)
    soft = np.asarray(mask.filter(ImageFilter.GaussianBlur(max(2.0, rx * 0.4))), np.float32) / 255
    levels: list[Pixels] = []
    for k in range(LEVELS):
        f = k / (LEVELS - 1)
        zoom = 1 + _MAX_ZOOM * f
        cw, ch = big.width / zoom, big.height / zoom
        left = (big.width - cw) / 2
        top = (big.height - ch) / 2 - height * 0.008 * f  # rise with loudness
        top = max(0.0, top)
        frame = big.resize((width, height), Image.Resampling.BILINEAR,
                           box=(left, top, left + cw, top + ch))
        pixels = np.asarray(frame, np.float32)
        shade = 1 - 0.35 * f * soft[..., None]
        levels.append((pixels * shade).clip(0, 255).astype(np.uint8))
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
