from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from reelform.errors import RenderError
from reelform.providers.local.speech import (
    decode_audio,
    list_espeak_voices,
    resample,
    synthesize,
    voice_candidates,
)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_english_script_gives_audio_words_and_phonemes() -> None:
    speech = synthesize("Hello world, this is a test.", "en")
    assert 1.0 < speech.duration < 4.0
    assert rms(speech.samples) > 0.02
    assert [w.text for w in speech.words] == ["Hello", "world,", "this", "is", "a", "test."]
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts) and starts[-1] > 0.5
    names = {p.name.lstrip("',") for p in speech.phonemes}
    assert {"h", "l", "w", "t"} <= names


def test_german_script_synthesises() -> None:
    speech = synthesize("Grüße aus München, wir haben 123 Äpfel.", "de")
    assert speech.duration > 1.5
    assert rms(speech.samples) > 0.02
    texts = [w.text for w in speech.words]
    assert "München," in texts
    assert "123" in texts and "23" not in texts  # a number is one caption word


def test_default_voice_is_english() -> None:
    english = synthesize("Good morning.", "en").duration
    assert synthesize("Good morning.").duration == pytest.approx(english, abs=0.01)
    assert synthesize("Good morning.", "de").duration != pytest.approx(english, abs=0.01)


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match="unknown eSpeak voice 'xx-klingon'"):
        synthesize("hello", "xx-klingon")


def test_empty_script_is_an_error() -> None:
    with pytest.raises(RenderError, match="empty"):
        synthesize("   ", "en")


def test_voices_cover_many_languages() -> None:
    voices = list_espeak_voices()
    languages = {lang for v in voices for lang in v.languages}
    assert {"en", "de", "fr", "es"} <= languages
    assert len(voices) > 50


def test_wav_is_decoded_and_resampled(tmp_path: Path, make_wav: Callable[..., Path]) -> None:
    speech = decode_audio(make_wav(tmp_path / "a.wav", seconds=1.5, rate=16000), 44100)
    assert speech.rate == 44100
    assert speech.duration == pytest.approx(1.5, abs=0.02)
    assert rms(speech.samples) > 0.1


def test_bad_audio_file_is_a_render_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF this is not audio at all")
    with pytest.raises(RenderError, match=r"broken\.wav"):
        decode_audio(bad, 44100)


def test_resample_keeps_duration() -> None:
    x = np.sin(np.arange(22050) / 10).astype(np.float32)
    y = resample(x, 22050, 44100)
    assert abs(len(y) - 44100) < 100


def test_cloud_voice_ids_fall_back_to_their_language() -> None:
    assert voice_candidates("en-US-ChristopherNeural") == [
        "en-US-ChristopherNeural",
        "en-us",
        "en",
    ]
    assert synthesize("Hello.", "en-US-ChristopherNeural").duration == pytest.approx(
        synthesize("Hello.", "en-us").duration, abs=0.01
    )
    with pytest.raises(RenderError, match="unknown eSpeak voice"):
        synthesize("Hello.", "zz-ZZ-NobodyNeural")


def test_mp3_is_decoded(tmp_path: Path, make_wav: Callable[..., Path]) -> None:
    wav = make_wav(tmp_path / "a.wav", seconds=1.0, rate=22050)
    mp3 = tmp_path / "a.mp3"
    with av.open(str(wav)) as src, av.open(str(mp3), "w") as dst:
        stream = dst.add_stream("libmp3lame", rate=22050)
        stream.layout = "mono"
        for frame in src.decode(audio=0):
            frame.pts = None
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    speech = decode_audio(mp3, 44100)
    assert speech.duration == pytest.approx(1.0, abs=0.1)
    assert rms(speech.samples) > 0.1
