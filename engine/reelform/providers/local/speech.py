"""Offline speech: eSpeak NG through ctypes, and decoding of audio files with PyAV.

eSpeak NG keeps its state in process globals and is not thread-safe, so the
functions here are meant to run inside a render worker process (one synthesis at a
time per process); a module lock guards against accidental use from threads.
Synthesis is synchronous (AUDIO_OUTPUT_SYNCHRONOUS): the callback receives the
samples and the events (words for captions, phonemes for visemes) as they are made.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelform.errors import RenderError

DEFAULT_VOICE = "en"

# espeak_EVENT_TYPE
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


class _Voice(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, name) pairs, not a C string
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Word:
    start: float  # seconds
    text: str


@dataclass(frozen=True)
class Phoneme:
    start: float  # seconds
    name: str  # eSpeak's ASCII mnemonic, e.g. "m", "aI", "u:"


@dataclass(frozen=True)
class Speech:
    samples: npt.NDArray[np.float32]  # mono, -1..1
    rate: int
    words: tuple[Word, ...] = ()
    phonemes: tuple[Phoneme, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class EspeakVoice:
    identifier: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


class _Espeak:
    """The loaded library, initialised once per process."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = (
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        )
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        self.lib.espeak_SetVoiceByName.restype = ctypes.c_int
        self.lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        self.lib.espeak_SetSynthCallback.restype = None
        self.lib.espeak_Synth.argtypes = (
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        self.lib.espeak_Synth.restype = ctypes.c_int
        self.lib.espeak_Synchronize.restype = ctypes.c_int
        self.lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        data = espeakng_loader.get_data_path().encode()
        # DONT_EXIT: a bad data path must become an error here, not exit() the worker.
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data, options)
        if self.rate <= 0:
            raise RenderError(f"eSpeak NG could not start (data at {data.decode()})")
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = _SynthCallback(self._on_synth)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]
    ) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type in (_EVENT_WORD, _EVENT_PHONEME):
                raw = bytes(ev.id.string) if ev.type == _EVENT_PHONEME else b""
                self._events.append((ev.type, ev.audio_position, ev.text_position, ev.length, raw))
            i += 1
        return 0  # 0 = continue synthesis

    def synthesize(self, text: str, voice: str) -> Speech:
        if not any(
            self.lib.espeak_SetVoiceByName(name.encode()) == _EE_OK
            for name in voice_candidates(voice)
        ):
            raise RenderError(
                f"unknown eSpeak voice {voice!r} (see `reelform voices --provider local`)"
            )
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        err = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != _EE_OK or self.lib.espeak_Synchronize() != _EE_OK:
            raise RenderError(f"eSpeak NG failed to synthesise the script (error {err})")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        samples = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
        phonemes = tuple(
            Phoneme(ms / 1000.0, raw.split(b"\0", 1)[0].decode("ascii", "replace"))
            for kind, ms, _, _, raw in self._events
            if kind == _EVENT_PHONEME
        )
        starts = [(ms, pos) for kind, ms, pos, _, _ in self._events if kind == _EVENT_WORD]
        return Speech(samples, self.rate, _words(text, starts), phonemes)

    def voices(self) -> list[EspeakVoice]:
        found: list[EspeakVoice] = []
        array = self.lib.espeak_ListVoices(None)
        i = 0
        while array[i]:
            v = array[i].contents
            found.append(
                EspeakVoice(
                    identifier=(v.identifier or b"").decode(),
                    name=(v.name or b"").decode(),
                    languages=_languages(v.languages),
                    gender={1: "male", 2: "female"}.get(v.gender),
                )
            )
            i += 1
        return found


_CLOUD_VOICE = re.compile(r"^([a-z]{2,3})-([a-z]{2,4})-[a-z0-9]+(neural)?$", re.IGNORECASE)


def voice_candidates(voice: str) -> list[str]:
    """eSpeak voice names to try for ``voice``, best first.

    A cloud voice id such as "en-US-ChristopherNeural" (what a spec written for
    JoggAI holds) falls back to its language, "en-us" then "en", so the same spec
    previews locally; anything else must name an eSpeak voice exactly.
    """
    names = [voice]
    match = _CLOUD_VOICE.match(voice)
    if match:
        names += [f"{match[1]}-{match[2]}".lower(), match[1].lower()]
    return names


def _words(text: str, starts: list[tuple[int, int]]) -> tuple[Word, ...]:
    """Caption words from (ms, 1-based character position) word events.

    A word runs to the next word's start so that it keeps its punctuation. eSpeak
    reports a number such as "123" as several words starting inside it; an event
    that starts right after a letter or digit is such a part and is dropped.
    """
    kept: list[tuple[int, int]] = []
    for ms, pos in starts:
        inside = pos >= 2 and text[pos - 2].isalnum()
        if pos >= 1 and not inside and (not kept or pos > kept[-1][1]):
            kept.append((ms, pos))
    words: list[Word] = []
    for i, (ms, pos) in enumerate(kept):
        end = kept[i + 1][1] - 1 if i + 1 < len(kept) else len(text)
        chunk = " ".join(text[pos - 1 : end].split())
        if chunk:
            words.append(Word(ms / 1000.0, chunk))
    return tuple(words)


def _languages(pointer: int | None) -> tuple[str, ...]:
    """Decode espeak_VOICE.languages: repeated (priority byte, NUL-terminated name), then 0."""
    if not pointer:
        return ()
    names: list[str] = []
    offset = 0
    while ctypes.c_ubyte.from_address(pointer + offset).value != 0:
        name = ctypes.string_at(pointer + offset + 1)
        names.append(name.decode("ascii", "replace"))
        offset += len(name) + 2
    return tuple(names)


_engine: _Espeak | None = None
_lock = threading.Lock()


def _espeak() -> _Espeak:
    global _engine
    if _engine is None:
        _engine = _Espeak()
    return _engine


def synthesize(text: str, voice: str | None = None) -> Speech:
    """Speak ``text`` with the eSpeak voice ``voice`` (a name like "en", "de", "en-us")."""
    if not text.strip():
        raise RenderError("the script is empty")
    with _lock:
        return _espeak().synthesize(text, voice or DEFAULT_VOICE)


def list_espeak_voices() -> list[EspeakVoice]:
    with _lock:
        return _espeak().voices()


def decode_audio(path: Path, rate: int) -> Speech:
    """Decode a WAV/MP3 (anything FFmpeg reads) to mono float32 at ``rate``."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise RenderError(f"{path.name}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            parts: list[npt.NDArray[np.float32]] = []
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1))
            for out in resampler.resample(None):
                parts.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1))
    except (av.error.FFmpegError, OSError) as exc:
        raise RenderError(f"cannot decode audio {path.name}: {exc}") from exc
    if not parts:
        raise RenderError(f"{path.name}: the audio is empty")
    samples = np.concatenate(parts).astype(np.float32)
    if samples.size == 0:
        raise RenderError(f"{path.name}: the audio is empty")
    return Speech(samples, rate)


def resample(samples: npt.NDArray[np.float32], rate: int, target: int) -> npt.NDArray[np.float32]:
    """Mono float32 from ``rate`` to ``target`` Hz with FFmpeg's resampler."""
    if rate == target or samples.size == 0:
        return samples
    import av

    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else samples[:0]
