"""A synthetic reader of the consent statement, for the demo and the tests: never a person's consent.

A job's consent statement carries a one-time phrase, so no recording of it can be prepared in
advance (samples/ holds the training sentences only). Where no person is there to read it (``make
run``, the end-to-end tests, ``voiceclone clone --stand-in-consent``), eSpeak NG reads it: the
engine that made samples/ (``make samples``), here through its library as the ``espeakng-loader``
wheel ships it (the library and its voices, Mandarin ``cmn`` among them, for Linux, macOS and
Windows), so nothing beyond pip is needed. The take passes the audio checks like a person's; it
is consent from nobody, and docs/consent.md says so.
"""

from __future__ import annotations

import ctypes
import io
import threading
import wave
from array import array
from functools import cache
from pathlib import Path
from typing import Any

# eSpeak NG's API (speak_lib.h): synchronous output to our callback, text in UTF-8.
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
ESPEAK_RATE = 1  # espeak_SetParameter's words-per-minute parameter
# Initialize's options bit: do not exit the process when the data is missing (return an error instead).
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
VOICES = {"zh": "cmn", "en": "en"}
WORDS_PER_MINUTE = 175
PEAK = 0.7  # about -3 dBFS: loud enough for the level check, far from clipping
PAD_SECONDS = 0.3

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_lock = threading.Lock()


class StandInUnavailable(RuntimeError):
    """eSpeak NG's library could not be loaded (the espeakng-loader wheel is missing)."""


class _Engine:
    """The one eSpeak NG instance of the process (its state is global: one statement at a time)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader  # only the stand-in reader needs it
        except ImportError as exc:
            raise StandInUnavailable(
                "the stand-in reader needs the espeakng-loader package: pip install 'voiceclone[local]'"
            ) from exc
        self.lib: Any = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        data_home = str(Path(espeakng_loader.get_data_path()).parent)  # the folder holding espeak-ng-data
        self.rate = int(
            self.lib.espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS, 0, data_home.encode(), ESPEAK_INITIALIZE_DONT_EXIT
            )
        )
        if self.rate <= 0:
            raise StandInUnavailable(f"eSpeak NG did not start (its data at {data_home})")
        self.chunks: list[bytes] = []
        self.callback = _CALLBACK(self._collect)  # kept referenced: the library calls it
        self.lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav: Any, samples: int, events: Any) -> int:
        if wav and samples > 0:
            self.chunks.append(ctypes.string_at(wav, samples * 2))
        return 0

    def pcm(self, text: str, voice: str, words_per_minute: int) -> bytes:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise StandInUnavailable(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(ESPEAK_RATE, words_per_minute, 0)
        encoded = text.encode()
        self.chunks = []
        self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        return b"".join(self.chunks)


@cache
def _engine() -> _Engine:
    return _Engine()


def _normalised(pcm: bytes) -> array[int]:
    samples = array("h", pcm)
    loudest = max((abs(s) for s in samples), default=0)
    if loudest:
        gain = PEAK * 32767 / loudest
        samples = array("h", (int(s * gain) for s in samples))
    return samples


def read_aloud(text: str, language: str) -> bytes:
    """A WAV of eSpeak NG reading ``text`` ("zh": Mandarin, "en": English), mono 16-bit, peak at -3 dBFS."""
    with _lock:
        engine = _engine()
        pcm = engine.pcm(text, VOICES.get(language, VOICES["en"]), WORDS_PER_MINUTE)
        rate = engine.rate
    if not pcm:
        raise StandInUnavailable("eSpeak NG produced no audio")
    pad = array("h", bytes(2 * int(PAD_SECONDS * rate)))
    samples = pad + _normalised(pcm) + pad
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def consent_take(job: dict[str, Any]) -> bytes:
    """The stand-in's reading of a job's consent statement (the job as the API returns it)."""
    terms = job.get("consent") or {}
    if not terms.get("statement"):
        raise ValueError(f"job {job.get('job_id')} asks for no recorded consent statement")
    return read_aloud(terms["statement"], terms.get("language") or "en")


def write_consent_take(job: dict[str, Any], directory: Path) -> Path:
    """The stand-in's take of the job's statement as ``DIR/consent.wav``, for a client that uploads files."""
    path = directory / "consent.wav"
    path.write_bytes(consent_take(job))
    return path
