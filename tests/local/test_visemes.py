from __future__ import annotations

import numpy as np

from reelform.providers.local.speech import Phoneme
from reelform.providers.local.visemes import (
    Viseme,
    blink_frames,
    frames_from_loudness,
    frames_from_phonemes,
    loudness,
    phoneme_viseme,
)


def test_phoneme_classes() -> None:
    assert phoneme_viseme("m") == Viseme.CLOSED
    assert phoneme_viseme("b") == Viseme.CLOSED
    assert phoneme_viseme("'aI") == Viseme.OPEN
    assert phoneme_viseme(",oU") == Viseme.ROUND
    assert phoneme_viseme("u:") == Viseme.ROUND
    assert phoneme_viseme("i:") == Viseme.WIDE
    assert phoneme_viseme("f") == Viseme.TEETH
    assert phoneme_viseme("_:") == Viseme.REST
    assert phoneme_viseme("s") == Viseme.MID


def test_frames_follow_phoneme_timing() -> None:
    phonemes = [Phoneme(0.0, "m"), Phoneme(0.2, "a:"), Phoneme(0.4, "_")]
    frames = frames_from_phonemes(phonemes, 15, 25, speech_end=0.5)
    assert list(frames[:5]) == [Viseme.CLOSED] * 5
    assert list(frames[5:10]) == [Viseme.OPEN] * 5
    assert set(frames[10:]) == {Viseme.REST}


def test_loudness_drives_the_jaw() -> None:
    rate, fps = 1000, 25
    samples = np.zeros(rate, dtype=np.float32)
    samples[500:] = np.sin(np.arange(500)).astype(np.float32)
    level = loudness(samples, rate, 25, fps)
    shapes = frames_from_loudness(level)
    assert set(shapes[:12]) == {Viseme.REST}
    assert all(s != Viseme.REST for s in shapes[13:])


def test_silence_keeps_mouth_shut() -> None:
    level = loudness(np.zeros(4000, np.float32), 1000, 100, 25)
    assert not level.any()


def test_blinks_are_brief_and_deterministic() -> None:
    a = blink_frames(500, 25, "rf-1")
    assert (a == blink_frames(500, 25, "rf-1")).all()
    closed = np.count_nonzero(a)
    assert 0 < closed < 500 * 0.15


def test_short_lip_closures_are_not_skipped() -> None:
    # "ama" with a 20 ms m: the frame middles fall on the vowels, the m still shows.
    phonemes = [Phoneme(0.0, "a"), Phoneme(0.05, "m"), Phoneme(0.07, "a"), Phoneme(0.2, "_")]
    frames = frames_from_phonemes(phonemes, 5, 25, speech_end=0.2)
    assert list(frames[:3]) == [Viseme.OPEN, Viseme.CLOSED, Viseme.OPEN]
