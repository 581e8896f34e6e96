"""Drawing the avatars of the catalog (looks.py), and their sprites.

An avatar is drawn once per size (2x supersampled, then reduced, since Pillow's
shapes are not antialiased): a base image with the mouth at rest and eyes open,
plus small patches for each mouth shape and for a blink. Rendering a frame then only
pastes two patches, which is what keeps the renderer faster than real time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from reelform.providers.local.looks import CATALOG, RGB, Look, look
from reelform.providers.local.visemes import Viseme

# CATALOG is re-exported: watch/preview.py reads the catalog's size from here.
__all__ = ["CATALOG", "Box", "Look", "Pixels", "Sprites", "look", "sprites"]

Pixels = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x, y, width, height (even numbers)

_SS = 2  # supersampling factor


@dataclass(frozen=True)
class Sprites:
    base: Pixels  # h x w x 3, mouth at rest, eyes open
    mouth_box: Box
    mouths: tuple[Pixels, ...]  # indexed by Viseme
    eye_box: Box
    eyes: tuple[Pixels, ...]  # open, half closed, closed


def _even(v: float) -> int:
    return round(v / 2) * 2


def _shade(c: RGB, f: float) -> RGB:
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))


def _gradient(w: int, h: int, top: RGB, bottom: RGB) -> Image.Image:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rows = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return Image.fromarray(np.broadcast_to(rows, (h, w, 3)).astype(np.uint8))


@dataclass(frozen=True)
class _Geometry:
    """Where the parts of the face are, in supersampled pixels."""

    cx: float
    cy: float
    hw: float  # head width
    hh: float  # head height

    @property
    def eye_y(self) -> float:
        return self.cy - 0.04 * self.hh

    @property
    def mouth_y(self) -> float:
        return self.cy + 0.29 * self.hh


def _geometry(lk: Look, w: int, h: int) -> _Geometry:
    hw = min(w * 0.42, h * 0.3) * _SS
    ratio = {"oval": 1.3, "round": 1.12, "square": 1.22}[lk.face]
    return _Geometry(w * _SS / 2, h * _SS * 0.4, hw, hw * ratio)


def _draw_body(d: ImageDraw.ImageDraw, lk: Look, g: _Geometry, h: float) -> None:
    neck_w = 0.36 * g.hw
    d.rectangle(
        (g.cx - neck_w / 2, g.cy + 0.3 * g.hh, g.cx + neck_w / 2, g.cy + 0.75 * g.hh),
        fill=_shade(lk.skin, 0.88),
    )
    top = g.cy + 0.62 * g.hh
    d.rounded_rectangle(
        (g.cx - 1.2 * g.hw, top, g.cx + 1.2 * g.hw, h + g.hw),
        radius=int(0.5 * g.hw),
        fill=lk.clothes,
    )
    dark = _shade(lk.clothes, 0.7)
    if lk.clothing == "blazer":
        d.polygon(
            [(g.cx - 0.25 * g.hw, top), (g.cx + 0.25 * g.hw, top), (g.cx, top + 0.7 * g.hw)],
            fill=(245, 245, 245),
        )
        d.polygon(
            [(g.cx - 0.25 * g.hw, top), (g.cx, top + 0.7 * g.hw), (g.cx - 0.5 * g.hw, top)],
            fill=dark,
        )
        d.polygon(
            [(g.cx + 0.25 * g.hw, top), (g.cx, top + 0.7 * g.hw), (g.cx + 0.5 * g.hw, top)],
            fill=dark,
        )
    elif lk.clothing == "hoodie":
        d.ellipse(
            (g.cx - 0.55 * g.hw, top - 0.12 * g.hw, g.cx + 0.55 * g.hw, top + 0.3 * g.hw), fill=dark
        )
        for side in (-1, 1):
            x = g.cx + side * 0.18 * g.hw
            d.line(
                (x, top + 0.1 * g.hw, x, top + 0.6 * g.hw),
                fill=(235, 235, 235),
                width=max(2, int(0.025 * g.hw)),
            )
    elif lk.clothing == "shirt":
        for side in (-1, 1):
            collar = [
                (g.cx, top + 0.22 * g.hw),
                (g.cx + side * 0.22 * g.hw, top - 0.02 * g.hw),
                (g.cx + side * 0.34 * g.hw, top + 0.16 * g.hw),
            ]
            d.polygon(collar, fill=_shade(lk.clothes, 1.25))
    else:  # sweater: a round neckline
        d.chord(
            (g.cx - 0.3 * g.hw, top - 0.2 * g.hw, g.cx + 0.3 * g.hw, top + 0.2 * g.hw),
            0,
            180,
            fill=dark,
        )


def _draw_head(d: ImageDraw.ImageDraw, lk: Look, g: _Geometry) -> None:
    left, right = g.cx - g.hw / 2, g.cx + g.hw / 2
    top, bottom = g.cy - g.hh / 2, g.cy + g.hh / 2
    if lk.hair_style == "long":
        d.rounded_rectangle(
            (left - 0.12 * g.hw, top - 0.05 * g.hh, right + 0.12 * g.hw, g.cy + 0.62 * g.hh),
            radius=int(0.4 * g.hw),
            fill=lk.hair,
        )
    if lk.hair_style == "bun":
        d.ellipse(
            (g.cx - 0.2 * g.hw, top - 0.3 * g.hw, g.cx + 0.2 * g.hw, top + 0.1 * g.hw), fill=lk.hair
        )
    for side in (-1, 1):  # ears
        ex = g.cx + side * g.hw / 2
        d.ellipse(
            (ex - 0.08 * g.hw, g.cy - 0.1 * g.hh, ex + 0.08 * g.hw, g.cy + 0.1 * g.hh),
            fill=_shade(lk.skin, 0.93),
        )
    if lk.face == "square":
        d.rounded_rectangle((left, top, right, bottom), radius=int(0.3 * g.hw), fill=lk.skin)
    else:
        d.ellipse((left, top, right, bottom), fill=lk.skin)
    cap_h = {"buzz": 0.2, "short": 0.32, "long": 0.36, "curly": 0.34, "bun": 0.3}[lk.hair_style]
    d.chord(
        (left - 0.03 * g.hw, top - 0.04 * g.hh, right + 0.03 * g.hw, top + 2 * cap_h * g.hh),
        180,
        360,
        fill=lk.hair,
    )
    if lk.hair_style == "curly":
        r = 0.11 * g.hw
        for i in range(9):
            x = left + (i + 0.5) * g.hw / 9
            y = top + 0.03 * g.hh + abs(i - 4) * 0.035 * g.hh
            d.ellipse((x - r, y - r, x + r, y + r), fill=lk.hair)
    # eyebrows and nose: static, outside the patched regions
    brow_y = g.eye_y - 0.1 * g.hw
    for side in (-1, 1):
        x = g.cx + side * 0.2 * g.hw
        brow = (x - 0.08 * g.hw, brow_y + 0.01 * g.hw, x + 0.08 * g.hw, brow_y - 0.005 * g.hw)
        d.line(brow, fill=_shade(lk.hair, 0.9), width=max(2, int(0.03 * g.hw)))
    d.arc(
        (g.cx - 0.05 * g.hw, g.cy + 0.04 * g.hh, g.cx + 0.05 * g.hw, g.cy + 0.14 * g.hh),
        20,
        160,
        fill=_shade(lk.skin, 0.72),
        width=max(2, int(0.02 * g.hw)),
    )
    for side in (-1, 1):  # cheeks
        x = g.cx + side * 0.28 * g.hw
        d.ellipse(
            (x - 0.07 * g.hw, g.cy + 0.12 * g.hh, x + 0.07 * g.hw, g.cy + 0.2 * g.hh),
            fill=_shade(lk.skin, 0.96),
        )


def _eye_box(g: _Geometry) -> Box:
    w, h = 0.62 * g.hw / _SS, 0.16 * g.hw / _SS
    return (_even(g.cx / _SS - w / 2), _even(g.eye_y / _SS - h / 2), _even(w), _even(h))


def _mouth_box(g: _Geometry) -> Box:
    # Tall enough below the lips for the open jaw (its lower lip ends at +0.17 hw).
    w, h = 0.44 * g.hw / _SS, 0.32 * g.hw / _SS
    return (_even(g.cx / _SS - w / 2), _even(g.mouth_y / _SS - h * 0.36), _even(w), _even(h))


def _draw_eyes(
    d: ImageDraw.ImageDraw, lk: Look, g: _Geometry, ox: float, oy: float, lid: int
) -> None:
    """Eyes relative to a crop origin (ox, oy); lid 0 open, 1 half closed, 2 closed."""
    for side in (-1, 1):
        x, y = g.cx + side * 0.2 * g.hw - ox, g.eye_y - oy
        ew, eh = 0.085 * g.hw, 0.05 * g.hw
        d.ellipse((x - ew, y - eh, x + ew, y + eh), fill=(250, 250, 250))
        r = 0.042 * g.hw
        d.ellipse((x - r, y - r, x + r, y + r), fill=lk.eyes)
        d.ellipse((x - r / 2, y - r / 2, x + r / 2, y + r / 2), fill=(15, 15, 15))
        if lid:
            box = (x - ew - 2, y - eh - 3, x + ew + 2, y + eh + 3)
            if lid == 2:
                d.ellipse(box, fill=lk.skin)
                d.arc(
                    (x - ew, y - eh, x + ew, y + eh),
                    20,
                    160,
                    fill=(40, 30, 30),
                    width=max(2, int(0.015 * g.hw)),
                )
            else:
                d.chord(box, 180, 360, fill=_shade(lk.skin, 0.95))
                d.line((x - ew, y, x + ew, y), fill=(40, 30, 30), width=max(2, int(0.015 * g.hw)))
        if lk.glasses:
            gr = 0.12 * g.hw
            d.ellipse(
                (x - gr, y - gr * 0.8, x + gr, y + gr * 0.8),
                outline=(30, 30, 30),
                width=max(2, int(0.018 * g.hw)),
            )
    if lk.glasses:
        d.line(
            (g.cx - 0.08 * g.hw - ox, g.eye_y - oy, g.cx + 0.08 * g.hw - ox, g.eye_y - oy),
            fill=(30, 30, 30),
            width=max(2, int(0.018 * g.hw)),
        )


def _draw_mouth(
    d: ImageDraw.ImageDraw, lk: Look, g: _Geometry, ox: float, oy: float, shape: Viseme
) -> None:
    x, y = g.cx - ox, g.mouth_y - oy
    u = g.hw
    lip, inside, teeth = lk.lips, (70, 20, 30), (245, 245, 240)
    line_w = max(2, int(0.028 * u))
    if shape == Viseme.REST:
        d.arc(
            (x - 0.13 * u, y - 0.06 * u, x + 0.13 * u, y + 0.02 * u),
            20,
            160,
            fill=lip,
            width=line_w,
        )
        return
    if shape == Viseme.CLOSED:
        d.ellipse((x - 0.12 * u, y - 0.025 * u, x + 0.12 * u, y + 0.025 * u), fill=lip)
        d.line((x - 0.11 * u, y, x + 0.11 * u, y), fill=_shade(lip, 0.6), width=max(2, line_w // 2))
        return
    # (half width, half height) of the open mouth
    size = {
        Viseme.MID: (0.12, 0.045),
        Viseme.OPEN: (0.12, 0.095),
        Viseme.ROUND: (0.075, 0.075),
        Viseme.WIDE: (0.17, 0.045),
        Viseme.TEETH: (0.13, 0.04),
    }[shape]
    hx, hy = size[0] * u, size[1] * u
    cy = y + hy * 0.4
    d.ellipse(
        (x - hx - 0.02 * u, cy - hy - 0.02 * u, x + hx + 0.02 * u, cy + hy + 0.02 * u), fill=lip
    )
    d.ellipse((x - hx, cy - hy, x + hx, cy + hy), fill=inside)
    if shape in (Viseme.OPEN, Viseme.WIDE, Viseme.TEETH):
        teeth_low = cy + hy * (0.1 if shape == Viseme.OPEN else 0.6)
        d.chord((x - hx * 0.85, cy - hy, x + hx * 0.85, teeth_low), 180, 360, fill=teeth)
    if shape == Viseme.OPEN:
        d.chord((x - hx * 0.6, cy, x + hx * 0.6, cy + hy * 0.95), 0, 180, fill=(200, 90, 100))


def _reduce(img: Image.Image, box: Box | None = None) -> Pixels:
    w, h = img.size
    small = img.resize((w // _SS, h // _SS), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy()


@functools.lru_cache(maxsize=16)
def sprites(avatar_id: int, width: int, height: int) -> Sprites:
    """The avatar drawn into a width x height panel (both even), with its patches."""
    lk = look(avatar_id)
    big_w, big_h = width * _SS, height * _SS
    img = _gradient(big_w, big_h, *lk.background)
    d = ImageDraw.Draw(img)
    g = _geometry(lk, width, height)
    # A halo around the head, sized by the head so it frames it in any aspect.
    glow = _shade(lk.background[0], 1.15)
    rx, ry = 0.95 * g.hw, min(1.48 * g.hw, 0.94 * g.cy)  # kept inside the top edge
    d.ellipse(
        (g.cx - rx, g.cy - ry, g.cx + rx, g.cy + ry),
        fill=None,
        outline=glow,
        width=max(2, int(g.hw / 25)),
    )
    _draw_body(d, lk, g, big_h)
    _draw_head(d, lk, g)
    bare = img.copy()  # face without eyes and mouth: the patches are drawn on crops of it
    _draw_eyes(d, lk, g, 0, 0, 0)
    _draw_mouth(d, lk, g, 0, 0, Viseme.REST)
    base = _reduce(img)

    def patch(box: Box, draw: object) -> Pixels:
        x, y, w, h = box
        crop = bare.crop((x * _SS, y * _SS, (x + w) * _SS, (y + h) * _SS))
        draw(ImageDraw.Draw(crop), x * _SS, y * _SS)  # type: ignore[operator]
        return _reduce(crop)

    mouth_box, eye_box = _mouth_box(g), _eye_box(g)
    mouths = tuple(
        patch(mouth_box, lambda dd, ox, oy, v=v: _draw_mouth(dd, lk, g, ox, oy, v)) for v in Viseme
    )
    eyes = tuple(
        patch(eye_box, lambda dd, ox, oy, k=k: _draw_eyes(dd, lk, g, ox, oy, k)) for k in range(3)
    )
    return Sprites(base, mouth_box, mouths, eye_box, eyes)
