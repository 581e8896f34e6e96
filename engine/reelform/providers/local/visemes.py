"""Mouth shapes per video frame: from eSpeak phoneme events, or from loudness.

A handful of shapes is enough for a drawn face; what sells lip sync is timing
(closing on m/b/p, opening on vowels), not anatomical detail.
"""

from __future__ import annotations

import bisect
import enum
import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from reelform.providers.local.speech import Phoneme


class Viseme(enum.IntEnum):
    REST = 0  # lips together, relaxed (silence)
    CLOSED = 1  # lips pressed: m b p
    MID = 2  # slightly open: most consonants, schwa
    OPEN = 3  # jaw open: a
    ROUND = 4  # rounded: o u w
    WIDE = 5  # spread: i e
    TEETH = 6  # lower lip under the teeth: f v


# eSpeak's ASCII mnemonics (stress marks stripped), by their first letters. The
# tables cover the phoneme names eSpeak uses across languages closely enough: a
# miss falls back to MID, which looks like generic speech.
_BY_PREFIX: tuple[tuple[str, Viseme], ...] = (
    ("_", Viseme.REST),
    ("m", Viseme.CLOSED),
    ("b", Viseme.CLOSED),
    ("p", Viseme.CLOSED),
    ("f", Viseme.TEETH),
    ("v", Viseme.TEETH),
    ("a", Viseme.OPEN),
    ("A", Viseme.OPEN),
    ("&", Viseme.OPEN),
    ("V", Viseme.OPEN),
    ("o", Viseme.ROUND),
    ("O", Viseme.ROUND),
    ("0", Viseme.ROUND),
    ("u", Viseme.ROUND),
    ("U", Viseme.ROUND),
    ("w", Viseme.ROUND),
    ("y", Viseme.ROUND),
    ("Y", Viseme.ROUND),
    ("W", Viseme.ROUND),
    ("i", Viseme.WIDE),
    ("I", Viseme.WIDE),
    ("e", Viseme.WIDE),
    ("E", Viseme.WIDE),
    ("j", Viseme.WIDE),
)


def phoneme_viseme(name: str) -> Viseme:
    bare = name.lstrip("',%=")
    if not bare:
        return Viseme.REST
    for prefix, viseme in _BY_PREFIX:
        if bare.startswith(prefix):
            return viseme
    return Viseme.MID


def frames_from_phonemes(
    phonemes: Sequence[Phoneme], frame_count: int, fps: int, speech_end: float
) -> npt.NDArray[np.uint8]:
    """The viseme shown in each frame: the phoneme sounding at the frame's middle,
    except that a lip closure (m b p) or lip-teeth contact (f v) starting anywhere in
    a frame wins it: those are short (often under a frame) and the eye misses them
    most when they are skipped."""
    out = np.full(frame_count, Viseme.REST, dtype=np.uint8)
    if not phonemes:
        return out
    starts = [p.start for p in phonemes]
    shapes = [phoneme_viseme(p.name) for p in phonemes]
    for i in range(frame_count):
        t = (i + 0.5) / fps
        k = bisect.bisect_right(starts, t) - 1
        if k >= 0 and t < speech_end:
            out[i] = shapes[k]
    for start, shape in zip(starts, shapes, strict=True):
        i = int(start * fps)
        if shape in (Viseme.CLOSED, Viseme.TEETH) and i < frame_count and start < speech_end:
            out[i] = shape
    return out


def loudness(
    samples: npt.NDArray[np.float32], rate: int, frame_count: int, fps: int
) -> npt.NDArray[np.float32]:
    """RMS per video frame, normalised so that loud speech is about 1."""
    per = rate / fps
    padded = np.zeros(int(np.ceil(per * frame_count)) + 1, dtype=np.float32)
    n = min(len(samples), len(padded))
    padded[:n] = samples[:n]
    edges = (np.arange(frame_count + 1) * per).astype(np.int64)
    squares = np.concatenate(([0.0], np.cumsum(padded.astype(np.float64) ** 2)))
    counts = np.maximum(np.diff(edges), 1)
    rms = np.sqrt((squares[edges[1:]] - squares[edges[:-1]]) / counts)
    ref = float(np.percentile(rms, 95)) if rms.size else 0.0
    if ref < 1e-4:  # silence: keep the mouth shut rather than amplify noise
        return np.zeros(frame_count, dtype=np.float32)
    return np.clip(rms / ref, 0.0, 1.5).astype(np.float32)


def frames_from_loudness(level: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Visemes for an audio voice: the jaw follows loudness; shapes vary so it is not
    one flapping hinge (loud frames alternate between open, wide and round)."""
    out = np.full(level.shape, Viseme.REST, dtype=np.uint8)
    loud_cycle = (Viseme.OPEN, Viseme.WIDE, Viseme.OPEN, Viseme.ROUND)
    for i, v in enumerate(level):
        if v < 0.12:
            continue
        if v < 0.4:
            out[i] = Viseme.MID
        else:
            out[i] = loud_cycle[(i // 3) % len(loud_cycle)]
    return out


def blink_frames(frame_count: int, fps: int, seed: str) -> npt.NDArray[np.uint8]:
    """0 open, 1 half closed, 2 closed; a blink every 2-5 s, deterministic per seed."""
    rng = random.Random(seed)
    out = np.zeros(frame_count, dtype=np.uint8)
    t = rng.uniform(0.8, 2.5)
    while True:
        start = int(t * fps)
        if start + 4 > frame_count:
            break
        out[start : start + 4] = (1, 2, 2, 1)
        t += rng.uniform(2.0, 5.0)
    return out
