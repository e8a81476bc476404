"""Inspect one recorded sentence (a WAV file) and say, in the speaker's terms, what is wrong with it.

Pure standard library on purpose: this runs in Lambda before any vendor call, so
import time matters (no numpy) and ``audioop`` is gone from Python 3.13. The RIFF
chunks are walked by hand, rather than with :mod:`wave`, so that a cut-off upload
is reported as TRUNCATED instead of surfacing as an exception.

No decoder either: the domain models, the speech paths and the WAV assembly import this module,
and a function's package carries PyAV only if it imports voiceclone.domain.recording, which
reads the other formats (README, "Packages per function").
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from enum import StrEnum
from typing import NamedTuple

from pydantic import Field

from voiceclone.domain.base import BaseModel

# 16-bit PCM full scale; dBFS values are relative to it (a full-scale square wave is 0 dBFS RMS).
_FULL_SCALE = 32768.0
# Digital silence has no finite level; report this floor instead of -inf so the report stays JSON.
SILENCE_FLOOR_DBFS = -120.0
# Below either level there is no usable speech: the microphone was muted, unplugged or far away.
SILENT_RMS_DBFS = -50.0
SILENT_PEAK_DBFS = -40.0
# More samples than this at (or one step from) full scale means the input gain was too high.
CLIPPED_FRACTION = 0.001


def _byte_flags(*values: int) -> bytes:
    """A bytes.translate table mapping the given byte values to 1 and every other to 0."""
    return bytes(1 if b in values else 0 for b in range(256))


# Clipped samples are full scale and one LSB inside it, on both sides: little-endian (low, high) pairs
# (0xFE|0xFF, 0x7F) = 32766/32767 and (0x00|0x01, 0x80) = -32768/-32767.
_HI_POS, _LO_POS = _byte_flags(0x7F), _byte_flags(0xFE, 0xFF)
_HI_NEG, _LO_NEG = _byte_flags(0x80), _byte_flags(0x00, 0x01)

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# A data size of 0xFFFFFFFF is what streaming writers put when the length was unknown: "to end of file".
_UNKNOWN_SIZE = 0xFFFFFFFF
_FORMAT_NAMES = {0x0001: "PCM", 0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "µ-law", 0x0055: "MP3"}


class AudioProblem(StrEnum):
    EMPTY = "EMPTY"
    # NOT_WAV: named or shaped as WAV, yet no audio any decoder reads; NOT_AUDIO: any other name.
    NOT_WAV = "NOT_WAV"
    NOT_AUDIO = "NOT_AUDIO"
    TRUNCATED = "TRUNCATED"
    UNSUPPORTED_ENCODING = "UNSUPPORTED_ENCODING"
    SAMPLE_RATE_MISMATCH = "SAMPLE_RATE_MISMATCH"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    SILENT = "SILENT"
    CLIPPED = "CLIPPED"
    NOISY = "NOISY"


class AudioFinding(BaseModel):
    """One problem, with a message that tells the speaker what is wrong and what to do about it."""

    problem: AudioProblem
    message: str


class AudioReport(BaseModel):
    """What was measured (None when it could not be) and every problem found, most fundamental first."""

    sample_rate: int | None = None
    channels: int | None = None
    sample_width: int | None = None
    duration_seconds: float | None = None
    peak_dbfs: float | None = None
    rms_dbfs: float | None = None
    clipped_fraction: float | None = None
    findings: list[AudioFinding] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Usable as it is: nothing to re-record."""
        return not self.findings

    def has(self, problem: AudioProblem) -> bool:
        """Whether one particular problem was found (callers map problems to their own codes)."""
        return any(f.problem is problem for f in self.findings)


def _dbfs(level: float) -> float:
    if level <= 0:
        return SILENCE_FLOOR_DBFS
    return max(SILENCE_FLOOR_DBFS, round(20.0 * math.log10(level / _FULL_SCALE), 2) + 0.0)  # no -0.0


def _count_clipped(pcm: bytes) -> int:
    """Samples at or within 1 LSB of full scale, counted in C.

    The low and high bytes are split with slicing, flagged with translate, and the flags ANDed as two
    big integers whose set bits are then counted: ~1 ms for 15 s of audio, where ``array.count`` over
    four values takes ~15 ms.
    """
    lo, hi = pcm[0::2], pcm[1::2]

    def both(lo_table: bytes, hi_table: bytes) -> int:
        flags = int.from_bytes(lo.translate(lo_table), "little") & int.from_bytes(
            hi.translate(hi_table), "little"
        )
        return flags.bit_count()

    return both(_LO_POS, _HI_POS) + both(_LO_NEG, _HI_NEG)


def _finding(problem: AudioProblem, message: str) -> AudioFinding:
    return AudioFinding(problem=problem, message=message)


class _Format(NamedTuple):
    """The fields of a ``fmt `` chunk that matter here."""

    tag: int
    channels: int
    rate: int
    block_align: int
    bits: int


def _parse_fmt(body: bytes) -> _Format | None:
    if len(body) < 16:
        return None
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        # WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4), then the SubFormat GUID whose
        # first two bytes are the real format tag.
        (tag,) = struct.unpack_from("<H", body, 24)
    return _Format(tag, channels, rate, block_align, bits)


# Uncompressed formats: one frame is exactly channels x bytes per sample, so the header must say so.
_UNCOMPRESSED = frozenset({0x0001, 0x0003, 0x0006, 0x0007})


def _header_damage(fmt: _Format) -> str | None:
    """What in the ``fmt `` chunk contradicts itself (a writer's bug, not a choice of encoding)."""
    if fmt.channels == 0:
        return "it declares 0 channels"
    if fmt.tag not in _UNCOMPRESSED:
        return None
    if fmt.bits == 0:
        return "it declares 0 bits per sample"
    frame = fmt.channels * ((fmt.bits + 7) // 8)
    if fmt.block_align != frame:
        layout = "mono" if fmt.channels == 1 else f"{fmt.channels}-channel"
        return (
            f"block_align is {fmt.block_align}, but {fmt.bits}-bit {layout} audio has frames of {frame} bytes"
        )
    return None


def _walk_chunks(data: bytes) -> tuple[_Format | None, tuple[int, int] | None, bool, bool]:
    """Find the fmt chunk and the data chunk's (offset, length).

    Returns (fmt, data_span, truncated, fmt_malformed). ``truncated`` is true when the file ends
    inside a chunk before the audio is complete; chunks after a complete data chunk (LIST, id3 ...)
    may be cut without harm.
    """
    fmt: _Format | None = None
    fmt_malformed = False
    span: tuple[int, int] | None = None
    pos = 12
    end = len(data)
    while pos + 8 <= end:
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        available = end - body_start
        if chunk_id == b"data":
            if size == _UNKNOWN_SIZE:
                size = available
            if size > available:
                return fmt, (body_start, available), True, fmt_malformed
            if span is None:
                span = (body_start, size)
        elif chunk_id == b"fmt ":
            if size > available:
                return fmt, span, span is None or fmt is None, fmt_malformed
            if fmt is None:
                fmt = _parse_fmt(data[body_start : body_start + size])
                fmt_malformed = fmt is None
        elif size > available:
            # An unknown chunk (LIST, bext, ...) running past the end: harmless once the audio is in.
            return fmt, span, span is None, fmt_malformed
        if span is not None and fmt is not None:
            break
        pos = body_start + size + (size & 1)  # chunks are word aligned
    if span is None:
        # No audio at all: cut off if the RIFF header announces more than is here, or if a few stray
        # bytes sit where the next chunk header should be.
        (riff_size,) = struct.unpack_from("<I", data, 4)
        return fmt, span, riff_size + 8 > end or pos < end, fmt_malformed
    return fmt, span, False, fmt_malformed


def _structure_findings(
    fmt: _Format | None, span: tuple[int, int] | None, truncated: bool, fmt_malformed: bool
) -> list[AudioFinding]:
    """Why a WAV cannot be read at all (cut off, no format description, no audio data); [] if it can."""
    if truncated:
        return [
            _finding(
                AudioProblem.TRUNCATED,
                "the file is cut off (it ends before the audio it announces): upload the complete file again",
            )
        ]
    if fmt is None or span is None or fmt_malformed:
        missing = "format description" if fmt is None else "audio data"
        return [
            _finding(
                AudioProblem.NOT_WAV,
                f"the WAV file has no {missing}: export the recording again as WAV (16-bit PCM, mono)",
            )
        ]
    return []


def inspect_wav(
    data: bytes, *, expected_sample_rate: int = 16000, min_seconds: float = 1.0, max_seconds: float = 15.0
) -> AudioReport:
    """Check one recording against what the vendors need; never raises on bad input."""
    if not data:
        return AudioReport(
            findings=[
                _finding(AudioProblem.EMPTY, "the file is empty: record the sentence again and upload it")
            ]
        )
    if len(data) < 12 or data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        return AudioReport(
            findings=[
                _finding(
                    AudioProblem.NOT_WAV,
                    "the file is not a WAV recording: save it as WAV (16-bit PCM, mono) and upload it again",
                )
            ]
        )

    fmt, span, truncated, fmt_malformed = _walk_chunks(data)
    broken = _structure_findings(fmt, span, truncated, fmt_malformed)
    if broken:
        # A cut-off file still says what it announced; a file without a format or data says nothing.
        known = fmt if truncated else None
        return AudioReport(
            sample_rate=known.rate if known else None,
            channels=known.channels if known else None,
            sample_width=known.bits // 8 if known else None,
            findings=broken,
        )
    assert fmt is not None and span is not None  # _structure_findings found both

    report = AudioReport(sample_rate=fmt.rate, channels=fmt.channels, sample_width=fmt.bits // 8)
    findings = report.findings
    if fmt.block_align > 0 and fmt.rate > 0:
        report.duration_seconds = round(span[1] // fmt.block_align / fmt.rate, 3)

    is_pcm16_mono = (
        fmt.tag == _WAVE_FORMAT_PCM and fmt.bits == 16 and fmt.channels == 1 and fmt.block_align == 2
    )
    if not is_pcm16_mono:
        damage = _header_damage(fmt)
        encoding = _FORMAT_NAMES.get(fmt.tag, f"format 0x{fmt.tag:04x}")
        layout = "mono" if fmt.channels == 1 else f"{fmt.channels} channels"
        findings.append(
            _finding(
                AudioProblem.UNSUPPORTED_ENCODING,
                f"the WAV header is damaged: {damage}; export the recording again as 16-bit PCM mono WAV"
                if damage
                else f"the recording is {encoding}, {fmt.bits}-bit, {layout}: "
                "record or export it as 16-bit PCM mono WAV",
            )
        )
    if fmt.rate != expected_sample_rate:
        findings.append(
            _finding(
                AudioProblem.SAMPLE_RATE_MISMATCH,
                f"the recording is sampled at {fmt.rate} Hz, {expected_sample_rate} Hz is needed: "
                f"set the recorder to {expected_sample_rate} Hz and record the sentence again",
            )
        )
    duration = report.duration_seconds
    if duration is not None and duration < min_seconds:
        findings.append(
            _finding(
                AudioProblem.TOO_SHORT,
                f"the recording lasts {duration:.1f} s, at least {min_seconds:g} s is needed: "
                "read the whole sentence and record it again",
            )
        )
    elif duration is not None and duration > max_seconds:
        findings.append(
            _finding(
                AudioProblem.TOO_LONG,
                f"the recording lasts {duration:.1f} s, at most {max_seconds:g} s is allowed: "
                "record only this sentence, without long pauses before or after it",
            )
        )
    if not is_pcm16_mono:
        return report  # the level measurements below need 16-bit mono samples

    start, length = span
    pcm = data[start : start + length - (length & 1)]
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return report
    peak = max(abs(max(samples)), abs(min(samples)))
    # hypot(*x) is sqrt(sum of squares) computed in C: ~10x faster than a Python loop on 240k samples.
    rms = math.hypot(*samples) / math.sqrt(len(samples))
    clipped = _count_clipped(pcm) / len(samples)
    report.peak_dbfs = _dbfs(peak)
    report.rms_dbfs = _dbfs(rms)
    report.clipped_fraction = round(clipped, 6)
    if report.rms_dbfs < SILENT_RMS_DBFS or report.peak_dbfs < SILENT_PEAK_DBFS:
        findings.append(
            _finding(
                AudioProblem.SILENT,
                f"the recording is silent (peak {report.peak_dbfs:.0f} dBFS, "
                f"average {report.rms_dbfs:.0f} dBFS): check the microphone and record the sentence again",
            )
        )
    if clipped > CLIPPED_FRACTION:
        findings.append(
            _finding(
                AudioProblem.CLIPPED,
                f"the recording is distorted ({clipped:.1%} of it hits the loudness limit): "
                "lower the microphone gain or move back from it and record the sentence again",
            )
        )
    return report


def pcm_of(data: bytes) -> tuple[int, bytes]:
    """(sample rate, 16-bit mono PCM frames) of a WAV that :func:`inspect_wav` passed."""
    fmt, data_span, _, _ = _walk_chunks(data)
    if fmt is None or data_span is None or fmt.channels != 1 or fmt.bits != 16:
        raise ValueError("not a 16-bit mono PCM WAV")
    start, size = data_span
    return fmt.rate, data[start : start + size]


def wav_file(sample_rate: int, pcm: bytes) -> bytes:
    """A canonical 44-byte-header WAV around 16-bit mono PCM frames."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, _WAVE_FORMAT_PCM, 1,
        sample_rate, sample_rate * 2, 2, 16, b"data", len(pcm),
    )  # fmt: skip
    return header + pcm


def assemble_wav(clips: list[bytes], pause_seconds: float = 0.5) -> bytes:
    """One WAV of several checked sentences in order, with silence between them.

    For vendors that train from a single file: the client still records sentence
    by sentence, and the service joins the takes.
    """
    if not clips:
        raise ValueError("nothing to assemble")
    parts: list[bytes] = []
    rate = 0
    for clip in clips:
        clip_rate, pcm = pcm_of(clip)
        if rate and clip_rate != rate:
            raise ValueError(f"sample rates differ: {rate} and {clip_rate}")
        rate = clip_rate
        parts.append(pcm)
    pause = b"\x00\x00" * int(rate * pause_seconds)
    return wav_file(rate, pause.join(parts))


# ----- recordings as people make them: any accepted format, measured, trimmed, fitted -----------------

# The level analysis runs on 20 ms frames.
_FRAME_SECONDS = 0.02
# Leading and trailing silence is cut to this margin before checking and assembling.
SPEECH_MARGIN_SECONDS = 0.25
# Below this estimated signal-to-noise ratio the background drowns the voice for training.
NOISY_SNR_DB = 15.0
# Without a pause in the recording there is no noise to measure: the SNR is then left unknown.
_MIN_SPREAD_DB = 6.0


class AudioMeasurements(BaseModel):
    """What a speaker can act on, measured on the converted (and trimmed) audio the vendor gets."""

    duration_seconds: float
    speech_dbfs: float | None = None
    peak_dbfs: float | None = None
    snr_db: float | None = None
    clipped_fraction: float | None = None
    leading_silence_seconds: float | None = None
    trailing_silence_seconds: float | None = None
    # The upload as it came (e.g. "matroska/opus, 48000 Hz, 1 channel"), and how long before trimming.
    original: str | None = None
    original_seconds: float | None = None


class RecordingLimits(NamedTuple):
    """What one vendor needs of each sentence's recording."""

    sample_rate: int
    min_seconds: float
    max_seconds: float


class Recording(NamedTuple):
    """The verdict on one upload, and the vendor-ready WAV (16-bit mono at the vendor's rate, trimmed)."""

    report: AudioReport
    measurements: AudioMeasurements | None
    wav: bytes | None


def _samples(pcm: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - (len(pcm) & 1)])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _power_mean_dbfs(levels: list[float]) -> float | None:
    """The level of frames together (mean of their power), in dBFS."""
    if not levels:
        return None
    power = sum(10 ** (level / 10) for level in levels) / len(levels)
    return round(10 * math.log10(power), 2) if power > 0 else SILENCE_FLOOR_DBFS


class _Speech(NamedTuple):
    first: int  # first speech frame
    last: int  # last speech frame
    frames: int
    speech_dbfs: float | None
    snr_db: float | None
    speech_frames: int  # frames at or above the speech threshold, pauses inside the speech excluded


def _speech(samples: array[int], rate: int) -> _Speech | None:
    """Where the speech is and how far above the background it stands; None without any speech.

    Each 20 ms frame's level is compared with a threshold between the recording's loud frames (95th
    percentile) and its quiet ones (10th): at most 35 dB under the loud ones, and at least halfway
    up from the quiet ones, so a hiss floor does not count as speech. The SNR is the speech frames'
    level over the quietest 5 % of frames (unknown when the recording has no pause at all).
    """
    n = max(1, int(rate * _FRAME_SECONDS))
    levels = [
        _dbfs(math.hypot(*samples[i : i + n]) / math.sqrt(len(samples[i : i + n])))
        for i in range(0, len(samples), n)
    ]
    if not levels:
        return None
    ordered = sorted(levels)
    loud = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    quiet = ordered[int(len(ordered) * 0.10)]
    threshold = max(loud - 35.0, (loud + quiet) / 2)
    speech = [i for i, level in enumerate(levels) if level >= threshold]
    if not speech or loud <= SILENT_RMS_DBFS:
        return None
    speech_level = _power_mean_dbfs([levels[i] for i in speech])
    snr = None
    # The background is what the quietest frames (5 %: the pauses) hold; quiet parts of words between
    # the threshold and the loud frames are speech, not noise.
    background = ordered[: max(1, len(ordered) // 20)]
    if loud - quiet >= _MIN_SPREAD_DB and speech_level is not None and background[-1] < threshold:
        noise = _power_mean_dbfs(background)
        snr = round(min(90.0, speech_level - (noise if noise is not None else SILENCE_FLOOR_DBFS)), 1)
    return _Speech(speech[0], speech[-1], len(levels), speech_level, snr, len(speech))


def native_pcm(data: bytes, rate: int) -> tuple[bytes | None, AudioReport | None]:
    """16-bit mono PCM straight from a WAV at the right rate (no decoder), or why the file fails
    outright (empty, cut off, a WAV without audio); (None, None) when a decoder must read it."""
    if data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None, None
    fmt, span, truncated, fmt_malformed = _walk_chunks(data)
    broken = _structure_findings(fmt, span, truncated, fmt_malformed)
    if broken:
        return None, AudioReport(findings=broken)
    assert fmt is not None and span is not None  # _structure_findings found both
    if fmt.tag == _WAVE_FORMAT_PCM and fmt.bits == 16 and fmt.channels == 1 and fmt.rate == rate:
        start, length = span
        return data[start : start + length], None
    return None, None


def judge(pcm: bytes, limits: RecordingLimits, original: str | None) -> Recording:
    """The verdict on 16-bit mono PCM at the vendor's rate, however it was read (a WAV as it is, or
    decoded: voiceclone.domain.recording): leading and trailing silence cut to a margin, then the
    duration, level, clipping and noise judged on what remains, which is what the vendor receives."""
    rate = limits.sample_rate
    samples = _samples(pcm)
    original_seconds = round(len(samples) / rate, 3)
    report = AudioReport(sample_rate=rate, channels=1, sample_width=2)
    findings = report.findings
    speech = _speech(samples, rate) if samples else None
    leading = trailing = None
    if speech is not None:
        frame = max(1, int(rate * _FRAME_SECONDS))
        margin = int(rate * SPEECH_MARGIN_SECONDS)
        begin = max(0, speech.first * frame - margin)
        end = min(len(samples), (speech.last + 1) * frame + margin)
        leading = round(speech.first * frame / rate, 2)
        trailing = round(max(0, len(samples) - (speech.last + 1) * frame) / rate, 2)
        samples = samples[begin:end]
    kept = samples.tobytes() if sys.byteorder == "little" else _swapped(samples)
    duration = round(len(samples) / rate, 3)
    report.duration_seconds = duration
    findings.extend(duration_findings(duration, limits))
    measurements = AudioMeasurements(
        duration_seconds=duration,
        original=original,
        original_seconds=original_seconds,
        leading_silence_seconds=leading,
        trailing_silence_seconds=trailing,
    )
    if samples:
        peak = max(abs(max(samples)), abs(min(samples)))
        rms = math.hypot(*samples) / math.sqrt(len(samples))
        clipped = _count_clipped(kept) / len(samples)
        report.peak_dbfs = measurements.peak_dbfs = _dbfs(peak)
        report.rms_dbfs = _dbfs(rms)
        report.clipped_fraction = measurements.clipped_fraction = round(clipped, 6)
        measurements.speech_dbfs = speech.speech_dbfs if speech else report.rms_dbfs
        measurements.snr_db = speech.snr_db if speech else None
        if speech is None or report.rms_dbfs < SILENT_RMS_DBFS or report.peak_dbfs < SILENT_PEAK_DBFS:
            findings.append(
                _finding(
                    AudioProblem.SILENT,
                    f"the recording is silent (peak {report.peak_dbfs:.0f} dBFS, average "
                    f"{report.rms_dbfs:.0f} dBFS): check the microphone and record the sentence again",
                )
            )
        if clipped > CLIPPED_FRACTION:
            findings.append(
                _finding(
                    AudioProblem.CLIPPED,
                    f"the recording is distorted ({clipped:.1%} of it hits the loudness limit): "
                    "lower the microphone gain or move back from it and record the sentence again",
                )
            )
        if speech is not None and speech.snr_db is not None and speech.snr_db < NOISY_SNR_DB:
            findings.append(
                _finding(
                    AudioProblem.NOISY,
                    f"the background is loud (speech only {speech.snr_db:.0f} dB above it, "
                    f"{NOISY_SNR_DB:g} dB is needed): record the sentence again in a quiet room, "
                    "close to the microphone",
                )
            )
    return Recording(report, measurements, wav_file(rate, kept))


def duration_findings(duration: float, limits: RecordingLimits) -> list[AudioFinding]:
    """Too short or too long for these limits (the trimmed duration): the one vendor-specific verdict."""
    if duration < limits.min_seconds:
        return [
            _finding(
                AudioProblem.TOO_SHORT,
                f"the recording lasts {duration:.1f} s, at least {limits.min_seconds:g} s is needed: "
                "read the whole sentence and record it again",
            )
        ]
    if duration > limits.max_seconds:
        return [
            _finding(
                AudioProblem.TOO_LONG,
                f"the recording lasts {duration:.1f} s without its leading and trailing silence, "
                f"at most {limits.max_seconds:g} s is allowed: record only this sentence, "
                "without long pauses in it",
            )
        ]
    return []


def unlimited(sample_rate: int) -> RecordingLimits:
    """Limits no duration breaks: a recording judged under them is measured once for every vendor's."""
    return RecordingLimits(sample_rate, 0.0, math.inf)


def within_limits(measured: Recording, limits: RecordingLimits) -> Recording:
    """A recording judged under :func:`unlimited`, judged again under one vendor's limits: the same
    verdict as judging it under them (the duration findings come first, as judge puts them)."""
    if measured.measurements is None:
        return measured  # not read at all: no duration to judge
    report = measured.report.model_copy(deep=True)
    report.findings = duration_findings(measured.measurements.duration_seconds, limits) + report.findings
    return Recording(report, measured.measurements, measured.wav)


class SpeechLevels(BaseModel):
    """How loud and how quiet a piece of speech is: the level of its speech, its peak, its clipping, its
    silences (leading, trailing, and all of it, pauses inside included), in seconds and dBFS."""

    duration_seconds: float
    # The power mean of the speech frames only (the 20 ms frames :func:`judge` counts as speech): an
    # active speech level, so pauses do not make a voice seem quieter. None: no speech at all.
    speech_dbfs: float | None = None
    peak_dbfs: float | None = None
    clipped_fraction: float = 0.0
    leading_silence_seconds: float = 0.0
    trailing_silence_seconds: float = 0.0
    silence_seconds: float = 0.0


def speech_levels(pcm: bytes, rate: int) -> SpeechLevels:
    """The levels and silences of 16-bit mono PCM, measured as the recordings are (the same frames, the
    same threshold between speech and background, the same clipping count): audio with no speech is
    silence from end to end."""
    samples = _samples(pcm)
    duration = len(samples) / rate
    if not samples:
        return SpeechLevels(duration_seconds=0.0)
    peak = max(abs(max(samples)), abs(min(samples)))
    clipped = round(_count_clipped(pcm[: len(samples) * 2]) / len(samples), 6)
    speech = _speech(samples, rate)
    if speech is None:
        whole = round(duration, 3)
        return SpeechLevels(
            duration_seconds=whole,
            peak_dbfs=_dbfs(peak),
            clipped_fraction=clipped,
            leading_silence_seconds=whole,
            trailing_silence_seconds=whole,
            silence_seconds=whole,
        )
    frame = max(1, int(rate * _FRAME_SECONDS))
    spoken = min(len(samples), speech.speech_frames * frame) / rate
    return SpeechLevels(
        duration_seconds=round(duration, 3),
        speech_dbfs=speech.speech_dbfs,
        peak_dbfs=_dbfs(peak),
        clipped_fraction=clipped,
        leading_silence_seconds=round(speech.first * frame / rate, 3),
        trailing_silence_seconds=round(max(0, len(samples) - (speech.last + 1) * frame) / rate, 3),
        silence_seconds=round(max(0.0, duration - spoken), 3),
    )


def _swapped(samples: array[int]) -> bytes:
    copy = array("h", samples)
    copy.byteswap()
    return copy.tobytes()


def wav_seconds(wav: bytes) -> float:
    """How long a 16-bit mono WAV (as :func:`wav_file` writes) lasts."""
    rate, pcm = pcm_of(wav)
    return len(pcm) / 2 / rate


class WindowMiss(ValueError):
    """Even the best choice of sentences cannot make a joined file inside the vendor's window."""


def choose_for_window(
    durations: dict[str, float], min_seconds: float, max_seconds: float, pause_seconds: float = 0.5
) -> list[str]:
    """As many sentences as fit the window (the shortest first, so the most fit), in script order.

    Raises WindowMiss with what to record when even the best choice falls outside the window.
    """

    def joined(ids: list[str]) -> float:
        return sum(durations[t] for t in ids) + pause_seconds * max(0, len(ids) - 1)

    chosen: list[str] = []
    for text_id in sorted(durations, key=lambda t: (durations[t], t)):
        if joined([*chosen, text_id]) > max_seconds:
            break
        chosen.append(text_id)
    total = joined(chosen)
    if not chosen:
        shortest = min(durations.values(), default=0.0)
        raise WindowMiss(
            f"the shortest recording lasts {shortest:.1f} s, more than the {max_seconds:g} s the vendor "
            "takes in all: record the sentences again at a normal pace, without long pauses"
        )
    if total < min_seconds:
        raise WindowMiss(
            f"the {len(chosen)} recordings joined last {total:.1f} s, the vendor needs at least "
            f"{min_seconds:g} s: record the sentences again, reading each one in full"
        )
    return sorted(chosen)


def limits_for(
    sample_rate: int,
    min_sentence_seconds: float,
    max_sentence_seconds: float,
    joined_seconds: tuple[float, float] | None,
) -> RecordingLimits:
    """A sentence's limits: the vendor's own per clip, or (one joined file) whatever fits its window."""
    if joined_seconds is not None:
        return RecordingLimits(sample_rate, min_sentence_seconds, joined_seconds[1])
    return RecordingLimits(sample_rate, min_sentence_seconds, max_sentence_seconds)
