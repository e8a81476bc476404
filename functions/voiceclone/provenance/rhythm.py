"""The explicit label: the rhythm "short-long-short-short" (Morse for "AI") at the start of the speech.

GB 45438-2025 §5.3 lets audio carry a spoken notice or this audio rhythm. The rhythm needs no
voice, no language and no vendor call, so every speech gets the same one, made here. The
standard fixes the rhythm, not its sound: the tone, its level and its timing below are
voiceclone's choice (classic Morse timing, docs/labels.md):

    tone 1000 Hz (inside the telephone band, below every vendor rate's Nyquist frequency),
    peak -12 dBFS, 5 ms raised-cosine edges; unit 100 ms: dot 1 unit, dash 3 units,
    1 unit between the marks of a letter, 3 units between the two letters; then 400 ms of
    silence before the speech ("A" then "I": · ───   · ·): 1.1 s of rhythm, 1.5 s in all.

WAV and raw PCM get the rhythm synthesised at their own rate, sample width and channels.
MP3 gets frames of the rhythm encoded ahead of time (``assets/``, ``make rhythm``) for each
rate and channel count the vendors speak, put in front of the speech's frames: no decoder,
no encoder at run time. :func:`detect` finds the rhythm in decoded audio (the tests use it
to check the sound itself, not a flag).
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.provenance import mpeg, riff
from voiceclone.provenance.errors import LabelError

TONE_HZ = 1000.0
PEAK = 10 ** (-12 / 20)  # -12 dBFS
UNIT_SECONDS = 0.1
RAMP_SECONDS = 0.005
# Marks and spaces in units: dot, space, dash, letter space, dot, space, dot ("AI": · ─── / · ·).
PATTERN_UNITS: tuple[tuple[bool, int], ...] = (
    (True, 1), (False, 1), (True, 3), (False, 3), (True, 1), (False, 1), (True, 1),
)  # fmt: skip
TAIL_SECONDS = 0.4
RHYTHM_SECONDS = sum(units for _, units in PATTERN_UNITS) * UNIT_SECONDS
LABEL_SECONDS = RHYTHM_SECONDS + TAIL_SECONDS
# "short-long-short-short", as the detector names the marks it hears.
EXPECTED_MARKS = ("short", "long", "short", "short")

ASSETS = Path(__file__).parent / "assets"


def asset_path(sample_rate: int, channels: int) -> Path:
    """Where the pre-encoded MP3 frames of the rhythm for this rate and channel count are kept."""
    return ASSETS / f"rhythm-{sample_rate}-{channels}.mp3"


# ----- synthesis --------------------------------------------------------------------------------


@cache
def waveform(sample_rate: int) -> tuple[float, ...]:
    """The label as samples in [-1, 1] at ``sample_rate``: the rhythm, then the silence before speech."""
    out: list[float] = []
    ramp = max(1, int(RAMP_SECONDS * sample_rate))
    step = 2 * math.pi * TONE_HZ / sample_rate
    for on, units in PATTERN_UNITS:
        count = round(units * UNIT_SECONDS * sample_rate)
        if not on:
            out.extend([0.0] * count)
            continue
        for i in range(count):
            edge = min(i, count - 1 - i)
            gain = 0.5 - 0.5 * math.cos(math.pi * edge / ramp) if edge < ramp else 1.0
            out.append(PEAK * gain * math.sin(step * i))
    out.extend([0.0] * round(TAIL_SECONDS * sample_rate))
    return tuple(out)


def encode_samples(
    samples: Sequence[float], sample_width: int, channels: int, floating: bool = False
) -> bytes:
    """Little-endian sample bytes: unsigned 8-bit, signed 16/24/32-bit integers, or 32/64-bit floats."""
    repeated = [value for value in samples for _ in range(channels)]
    if floating:
        if sample_width not in (4, 8):
            raise LabelError("UnsupportedAudio", f"no {sample_width * 8}-bit floating-point samples")
        return _little_endian(array("f" if sample_width == 4 else "d", repeated))
    if sample_width == 1:
        return bytes(round(v * 127) + 128 for v in repeated)
    if sample_width == 2:
        return _little_endian(array("h", (round(v * 32767) for v in repeated)))
    if sample_width == 3:
        return b"".join(round(v * 8388607).to_bytes(3, "little", signed=True) for v in repeated)
    if sample_width == 4:
        return b"".join(struct.pack("<i", round(v * 2147483647)) for v in repeated)
    raise LabelError("UnsupportedAudio", f"no {sample_width * 8}-bit integer samples")


def _little_endian(samples: array[int] | array[float]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@cache
def label_pcm(sample_rate: int, sample_width: int = 2, channels: int = 1, floating: bool = False) -> bytes:
    """The explicit label as PCM frames in the audio's own format (made once per format: 48 KB at 16 kHz)."""
    return encode_samples(waveform(sample_rate), sample_width, channels, floating)


# ----- applied to each format -------------------------------------------------------------------


def prepend_pcm(audio: bytes, sample_rate: int, sample_width: int = 2, channels: int = 1) -> bytes:
    """Raw PCM (signed little-endian integers) with the label in front."""
    return label_pcm(sample_rate, sample_width, channels) + audio


def prepend_wav(audio: bytes) -> bytes:
    """A WAV with the label at the head of its samples; every other chunk kept."""
    parts = riff.chunks(audio)
    fmt = riff.wav_format(parts)
    if fmt.tag not in (riff.FORMAT_PCM, riff.FORMAT_FLOAT):
        raise LabelError(
            "UnsupportedAudio", f"WAV format tag {fmt.tag:#06x} is neither PCM nor float samples"
        )
    head = label_pcm(fmt.sample_rate, fmt.sample_width, fmt.channels, fmt.tag == riff.FORMAT_FLOAT)
    return riff.build(riff.with_data(parts, head + riff.data_body(parts)))


@cache
def mp3_label_frames(sample_rate: int, channels: int) -> bytes:
    """The label's MP3 frames for this rate and channel count (LabelError when none were encoded)."""
    path = asset_path(sample_rate, channels)
    if not path.is_file():
        raise LabelError(
            "NoRhythmFrames",
            f"no explicit-label MP3 frames for {sample_rate} Hz with {channels} channel(s): add the rate "
            "to a vendor's speech_sample_rates and run `make rhythm`",
        )
    return path.read_bytes()


def prepend_mp3(audio: bytes) -> bytes:
    """An MP3 with the label's frames before the speech's, behind a Xing frame counting them all.

    The speech's own Xing/Info frame (its encoder's count of its frames alone) is dropped;
    ID3v2 tags stay in front, an ID3v1 tag at the end. The label ends in silence, so the
    decoder's overlap into the first speech frame adds nothing audible at the join.
    """
    start, _ = mpeg.audio_span(audio)
    speech = mpeg.audio_frames(audio)
    if mpeg.is_info_frame(audio, speech[0]):
        speech = speech[1:]
    if not speech:
        raise LabelError("UnsupportedAudio", "the MP3 holds no audio frames")
    first = speech[0]
    label = mp3_label_frames(first.sample_rate, first.channels)
    label_frames = list(mpeg.frames(label, 0, len(label)))
    body = label + audio[first.offset : speech[-1].offset + speech[-1].length]
    template = label_frames[0]
    xing_length = len(mpeg.xing_frame(template, label[:4], 0, 0))
    xing = mpeg.xing_frame(template, label[:4], len(label_frames) + len(speech), xing_length + len(body))
    return audio[:start] + xing + body + audio[speech[-1].offset + speech[-1].length :]


def mp3_has_label(audio: bytes) -> bool:
    """Whether the MP3's first audio frames are exactly the label's (no decoding needed)."""
    try:
        found = mpeg.audio_frames(audio)
    except LabelError:
        return False
    first = found[1] if mpeg.is_info_frame(audio, found[0]) and len(found) > 1 else found[0]
    try:
        label = mp3_label_frames(first.sample_rate, first.channels)
    except LabelError:
        return False
    return audio[first.offset : first.offset + len(label)] == label


# ----- detection --------------------------------------------------------------------------------


class RhythmDetection(BaseModel):
    """What the detector heard at the start of the audio: the tone's marks and whether they spell "AI"."""

    found: bool
    # Where the first mark starts, and each mark's length (seconds), in order.
    onset_seconds: float | None = None
    marks: list[float] = Field(default_factory=list)


class _Run(NamedTuple):
    on: bool
    start: int
    length: int


BLOCK_SECONDS = 0.01
# A block carries the tone when the tone is at least this loud and most of the block's power.
_MIN_TONE = 10 ** (-36 / 20)
_MIN_SHARE = 0.5


def _tone_blocks(samples: Sequence[float], sample_rate: int) -> list[bool]:
    """Per 10 ms block: does the tone (Goertzel at TONE_HZ) dominate it?"""
    size = max(1, int(sample_rate * BLOCK_SECONDS))
    coeff = 2 * math.cos(2 * math.pi * TONE_HZ / sample_rate)
    flags: list[bool] = []
    for start in range(0, len(samples) - size + 1, size):
        s1 = s2 = energy = 0.0
        for x in samples[start : start + size]:
            s1, s2 = x + coeff * s1 - s2, s1
            energy += x * x
        power = max(0.0, s1 * s1 + s2 * s2 - coeff * s1 * s2)
        amplitude = 2 * math.sqrt(power) / size
        flags.append(
            amplitude >= _MIN_TONE
            and energy > 0
            and (amplitude * amplitude / 2) / (energy / size) >= _MIN_SHARE
        )
    return flags


def _runs(flags: list[bool]) -> list[_Run]:
    runs: list[_Run] = []
    for index, flag in enumerate(flags):
        if runs and runs[-1].on == flag:
            runs[-1] = runs[-1]._replace(length=runs[-1].length + 1)
        else:
            runs.append(_Run(flag, index, 1))
    return runs


def _mark(seconds: float) -> str | None:
    """A mark's name by its length: a dot is 1 unit, a dash 3 (generous bounds for codec smear)."""
    units = seconds / UNIT_SECONDS
    if 0.5 <= units < 2.0:
        return "short"
    if 2.0 <= units <= 4.5:
        return "long"
    return None


def detect(samples: Sequence[float], sample_rate: int, search_seconds: float = 1.0) -> RhythmDetection:
    """Whether "short-long-short-short" of the label's tone starts within ``search_seconds``.

    Only the start is examined (the label's place); marks must follow each other with gaps
    shorter than a dash and a letter space, as they do in the label.
    """
    window = samples[: int((search_seconds + LABEL_SECONDS) * sample_rate)]
    marks = [r for r in _runs(_tone_blocks(window, sample_rate)) if r.on]
    if not marks:
        return RhythmDetection(found=False)
    onset = marks[0].start * BLOCK_SECONDS
    first = marks[: len(EXPECTED_MARKS)]
    lengths = [round(m.length * BLOCK_SECONDS, 3) for m in first]
    gaps = [(b.start - (a.start + a.length)) * BLOCK_SECONDS for a, b in pairwise(first)]
    found = (
        onset <= search_seconds
        and tuple(_mark(s) for s in lengths) == EXPECTED_MARKS
        and all(gap <= 4.5 * UNIT_SECONDS for gap in gaps)
    )
    return RhythmDetection(found=found, onset_seconds=onset, marks=lengths)


def decode_samples(pcm: bytes, sample_width: int, channels: int, floating: bool = False) -> list[float]:
    """Little-endian PCM frames as floats in [-1, 1], channels averaged."""
    usable = pcm[: len(pcm) // sample_width * sample_width]
    values: Sequence[float]
    if floating or sample_width == 2:
        typed = array("h" if not floating else "f" if sample_width == 4 else "d")
        typed.frombytes(usable)
        if sys.byteorder == "big":
            typed.byteswap()
        values, scale = typed, 1.0 if floating else 32768.0
    elif sample_width == 1:
        values, scale = [b - 128 for b in usable], 128.0
    elif sample_width in (3, 4):
        width = sample_width
        values = [
            int.from_bytes(usable[i : i + width], "little", signed=True) for i in range(0, len(usable), width)
        ]
        scale = float(1 << (8 * width - 1))
    else:
        raise LabelError("UnsupportedAudio", f"no {sample_width * 8}-bit samples")
    if channels == 1:
        return [v / scale for v in values]
    return [
        sum(values[i : i + channels]) / channels / scale
        for i in range(0, len(values) - channels + 1, channels)
    ]


def detect_pcm(
    pcm: bytes, sample_rate: int, sample_width: int = 2, channels: int = 1, search_seconds: float = 1.0
) -> RhythmDetection:
    """:func:`detect` on raw PCM (only the start is decoded)."""
    frame = sample_width * channels
    head = pcm[: int((search_seconds + LABEL_SECONDS) * sample_rate) * frame]
    return detect(decode_samples(head, sample_width, channels), sample_rate, search_seconds)


def detect_wav(audio: bytes, search_seconds: float = 1.0) -> RhythmDetection:
    """:func:`detect` on a WAV's samples."""
    parts = riff.chunks(audio)
    fmt = riff.wav_format(parts)
    frame = fmt.sample_width * fmt.channels
    head = riff.data_body(parts)[: int((search_seconds + LABEL_SECONDS) * fmt.sample_rate) * frame]
    samples = decode_samples(head, fmt.sample_width, fmt.channels, fmt.tag == riff.FORMAT_FLOAT)
    return detect(samples, fmt.sample_rate, search_seconds)
