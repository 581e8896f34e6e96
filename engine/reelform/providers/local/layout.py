"""Frame sizes and screen styles: where the avatar, the text panel and captions go.

Every box is on even pixel coordinates so that it maps exactly onto the half-size
chroma planes of yuv420p (the patches are pasted straight into those planes).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reelform.providers.local.avatars import Box, Pixels

FRAME_SIZES: dict[str, tuple[int, int]] = {
    "portrait": (720, 1280),
    "landscape": (1280, 720),
    "square": (1080, 1080),
}

SCREEN_STYLES = (1, 2, 3)  # full screen, split screen, picture in picture


def frame_size(aspect: str, preview: bool) -> tuple[int, int]:
    try:
        w, h = FRAME_SIZES[aspect]
    except KeyError:
        raise ValueError(f"unknown aspect {aspect!r}") from None
    return (w // 2, h // 2) if preview else (w, h)


# Installed fonts that cover more scripts than Pillow's built-in one (Latin only).
_WIDE_FONTS = ("DejaVuSans.ttf", "NotoSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf")
_LATIN_EXTRAS = frozenset("‘’“”–—…•€")


@functools.lru_cache(maxsize=8)
def font_family(text: str) -> str:
    """ "" for Pillow's built-in font, the same everywhere, when it can draw ``text``;
    else the first installed font of _WIDE_FONTS (Cyrillic, Greek, Arabic ...)."""
    if all(ord(c) < 0x250 or c in _LATIN_EXTRAS for c in text):
        return ""
    for name in _WIDE_FONTS:
        try:
            ImageFont.truetype(name, 10)
        except OSError:
            continue
        return name
    return ""


@functools.lru_cache(maxsize=32)
def font(size: int, family: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(family, size) if family else ImageFont.load_default(size=size)


def _even(v: float) -> int:
    return round(v / 2) * 2


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    avatar_box: Box
    background: Pixels  # the frame without the avatar (and without captions)
    caption_box: Box
    caption_font_size: int
    font_family: str  # "" for the built-in font; see font_family()


def layout(aspect: str, style: int, preview: bool, title: str, text: str) -> Layout:
    """The static parts of a frame for a screen style (1, 2 or 3)."""
    family = font_family(f"{title} {text}")
    if style not in SCREEN_STYLES:
        raise ValueError(f"unknown screen_style {style} (known: 1, 2, 3)")
    w, h = frame_size(aspect, preview)
    unit = min(w, h)
    cap_font = max(12, round(unit * 0.045))
    cap_h = _even(cap_font * 3.0)
    margin = _even(unit * 0.04)
    caption_box = (margin, h - margin - cap_h, w - 2 * margin, cap_h)
    canvas = Image.new("RGB", (w, h), (24, 28, 36))
    if style == 1:
        avatar_box: Box = (0, 0, w, h)
    elif style == 2:
        if h > w:  # portrait: avatar on top, text below
            avatar_box = (0, 0, w, _even(h / 2))
            panel = (0, _even(h / 2), w, h - _even(h / 2) - cap_h - margin)
        else:
            avatar_box = (0, 0, _even(w / 2), h)
            panel = (_even(w / 2), 0, w - _even(w / 2), h - cap_h - margin)
        _panel(canvas, panel, title, text, family)
    else:
        _slide(canvas, title, text, family)
        side = _even(unit * 0.36)
        avatar_box = (w - side - margin, margin, side, _even(side * 1.2))
        border = max(2, unit // 180)
        ax, ay, aw, ah = avatar_box
        ImageDraw.Draw(canvas).rounded_rectangle(
            (ax - border, ay - border, ax + aw + border - 1, ay + ah + border - 1),
            radius=border * 3,
            fill=(255, 255, 255),
        )
    pixels = np.asarray(canvas, dtype=np.uint8).copy()
    return Layout(w, h, avatar_box, pixels, caption_box, cap_font, family)


def wrap(text: str, fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    """Greedy word wrap by measured width. A word wider than the line (a URL, or a
    language written without spaces) is cut between characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in _fitting_pieces(paragraph.split(), fnt, width):
            trial = f"{current} {word}".strip()
            if current and fnt.getlength(trial) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        if current:
            lines.append(current)
    return lines


def _fitting_pieces(
    words: list[str], fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float
) -> list[str]:
    pieces: list[str] = []
    for word in words:
        while fnt.getlength(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and fnt.getlength(word[:cut]) > width:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        pieces.append(word)
    return pieces


def _panel(canvas: Image.Image, box: Box, title: str, text: str, family: str) -> None:
    """A text panel beside the avatar: an accent bar, the title, the script."""
    bg, ink, accent = (245, 242, 235), (30, 34, 44), (232, 96, 60)
    x, y, w, h = box
    d = ImageDraw.Draw(canvas)
    d.rectangle((x, y, x + w, y + h + canvas.height), fill=bg)
    pad = round(min(w, h) * 0.08)
    title_font = font(max(14, round(min(canvas.size) * 0.065)), family)
    body_font = font(max(10, round(min(canvas.size) * 0.038)), family)
    d.rectangle((x + pad, y + pad, x + pad + w // 6, y + pad + max(3, pad // 6)), fill=accent)
    ty = y + pad * 1.6
    for line in wrap(title, title_font, w - 2 * pad)[:3]:
        d.text((x + pad, ty), line, font=title_font, fill=ink)
        ty += title_font.size * 1.2 if isinstance(title_font, ImageFont.FreeTypeFont) else 16
    ty += pad * 0.5
    body_size = body_font.size if isinstance(body_font, ImageFont.FreeTypeFont) else 12
    room = max(0, int((y + h - pad - ty) // (body_size * 1.35)))
    for line in wrap(_excerpt(text), body_font, w - 2 * pad)[:room]:
        d.text((x + pad, ty), line, font=body_font, fill=_mix(ink, bg, 0.3))
        ty += body_size * 1.35


def _slide(canvas: Image.Image, title: str, text: str, family: str) -> None:
    """A presentation slide: a coloured band with the title, the script as bullets."""
    w, h = canvas.size
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    left, right = np.array((238, 242, 250), np.float32), np.array((214, 224, 244), np.float32)
    grad = (1 - t) * left + t * right
    canvas.paste(Image.fromarray(np.broadcast_to(grad, (h, w, 3)).astype(np.uint8)))
    d = ImageDraw.Draw(canvas)
    band = round(h * 0.06)
    d.rectangle((0, 0, w, band), fill=(40, 70, 150))
    unit = min(w, h)
    pad = round(unit * 0.05)
    side = _even(unit * 0.36)
    title_font = font(max(14, round(unit * 0.06)), family)
    body_font = font(max(10, round(unit * 0.036)), family)
    ty: float = band + pad
    title_w = w - 2 * pad - side - pad
    for line in wrap(title, title_font, title_w)[:3]:
        d.text((pad, ty), line, font=title_font, fill=(20, 30, 60))
        ty += round(unit * 0.06) * 1.2
    ty = max(ty + pad, side * 1.2 + pad * 2)
    size = round(unit * 0.036)
    for i, line in enumerate(wrap(_excerpt(text), body_font, w - 3 * pad)):
        if ty > h * 0.72:
            break
        if i == 0:
            bullet = (pad, ty + size * 0.35, pad + size * 0.4, ty + size * 0.75)
            d.ellipse(bullet, fill=(232, 96, 60))
        d.text((pad + size, ty), line, font=body_font, fill=(50, 60, 80))
        ty += size * 1.35


def _excerpt(text: str, limit: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + " …"


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return (
        round(a[0] * (1 - f) + b[0] * f),
        round(a[1] * (1 - f) + b[1] * f),
        round(a[2] * (1 - f) + b[2] * f),
    )
