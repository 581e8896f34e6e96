"""Burned-in captions: timed cues of at most two lines, drawn once per cue.

Cue timing comes from eSpeak's word events (a cue starts when its first word is
spoken). For an audio voice there are no word events, so the words of the caption
text are spread evenly over the audio: approximate, but in step overall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from reelform.providers.local.avatars import Pixels
from reelform.providers.local.layout import font, wrap
from reelform.providers.local.speech import Word

MAX_LINES = 2
_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def spread_words(text: str, duration: float) -> tuple[Word, ...]:
    """Words of ``text`` at even intervals over ``duration`` (for audio voices)."""
    tokens = text.split()
    if not tokens:
        return ()
    step = duration / len(tokens)
    return tuple(Word(i * step, tok) for i, tok in enumerate(tokens))


def cues(
    words: Sequence[Word], duration: float, font_size: int, width: int, family: str = ""
) -> list[Cue]:
    """Pack words greedily into cues that fit ``width`` in at most two lines; a cue
    also ends at the end of a sentence, so one never shows the next sentence early."""
    fnt = font(font_size, family)
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        trial = [*current, word]
        if current and len(wrap(" ".join(w.text for w in trial), fnt, width)) > MAX_LINES:
            groups.append(current)
            trial = [word]
        current = trial
        if word.text.endswith(_SENTENCE_END):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    out: list[Cue] = []
    for i, group in enumerate(groups):
        end = groups[i + 1][0].start if i + 1 < len(groups) else duration
        lines = tuple(wrap(" ".join(w.text for w in group), fnt, width))
        out.append(Cue(group[0].start, max(end, group[0].start), lines))
    return out


def cue_index(cue_list: Sequence[Cue], frame_count: int, fps: int) -> np.ndarray:
    """Per frame: the index of the cue on screen, or -1."""
    out = np.full(frame_count, -1, dtype=np.int32)
    for k, cue in enumerate(cue_list):
        a = round(cue.start * fps)
        b = round(cue.end * fps)
        out[a : max(b, a + 1)] = k
    return out


def draw_cue(
    background: Pixels,
    lines: Sequence[str],
    font_size: int,
    family: str = "",
) -> Pixels:
    """The caption box region with the cue drawn over ``background`` (that region)."""
    h, w = background.shape[:2]
    box = Image.fromarray(background).convert("RGBA")
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    fnt = font(font_size, family)
    line_h = font_size * 1.25
    text_w = max((fnt.getlength(line) for line in lines), default=0.0)
    pad = font_size * 0.5
    bw = min(w, text_w + 2 * pad)
    bh = min(h, line_h * len(lines) + pad)
    x0, y0 = (w - bw) / 2, h - bh
    d.rounded_rectangle((x0, y0, x0 + bw, h - 1), radius=int(font_size * 0.35), fill=(0, 0, 0, 190))
    y = y0 + pad / 2
    for line in lines:
        lw = fnt.getlength(line)
        d.text(((w - lw) / 2, y), line, font=fnt, fill=(255, 255, 255, 255))
        y += line_h
    return np.asarray(Image.alpha_composite(box, overlay).convert("RGB"), dtype=np.uint8).copy()
