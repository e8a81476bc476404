"""The audio verdicts at their thresholds: clipped, silent and noisy, one step either side of each limit.

Each recording is made with the standard library's ``wave`` writer and its levels are worked out here
with plain arithmetic (20·log10 of the amplitude over full scale), independently of
voiceclone.domain.audio, so a threshold that moves or a comparison that flips fails a test on one
side of the limit or the other. Square waves are used because their level is exactly their
amplitude in every 20 ms frame.
"""

from __future__ import annotations

import io
import math
import wave
from array import array

import pytest
from voiceclone.domain.audio import (
    AudioProblem,
    AudioReport,
    RecordingLimits,
    inspect_recording,
    inspect_wav,
)

RATE = 16000
FULL_SCALE = 32768
FRAME = RATE // 50  # the 20 ms frames the level analysis runs on
LIMITS = RecordingLimits(sample_rate=RATE, min_seconds=1.0, max_seconds=15.0)


def wav(samples: list[int]) -> bytes:
    """16-bit mono PCM at RATE, written by the standard library."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(array("h", samples).tobytes())
    return buf.getvalue()


def square(amplitude: int, seconds: float) -> list[int]:
    return [amplitude if i % 2 else -amplitude for i in range(int(seconds * RATE))]


def dbfs(level: float) -> float:
    """A level relative to 16-bit full scale, as the service reports it (two decimals)."""
    return round(20 * math.log10(level / FULL_SCALE), 2)


def reference_clipped_fraction(samples: list[int]) -> float:
    """Samples at full scale or one step from it, either way."""
    return sum(1 for s in samples if s >= FULL_SCALE - 2 or s <= -(FULL_SCALE - 1)) / len(samples)


def reference_snr(speech: int, noise: int) -> float:
    """Speech over background of square-wave speech between square-wave pauses, in dB (one decimal)."""
    return round(dbfs(speech) - dbfs(noise), 1)


def problems(report: AudioReport) -> set[AudioProblem]:
    return {f.problem for f in report.findings}


def with_clipped(samples: list[int], count: int, start: int = 0) -> list[int]:
    """`count` samples from `start` at or one step from full scale, of both signs and both values."""
    out = list(samples)
    for n, value in zip(range(count), [32767, -32768, 32766, -32767] * count, strict=False):
        out[start + n] = value
    return out


# ----- inspect_wav (a WAV as the vendor takes it) --------------------------------------------------


@pytest.mark.parametrize(("count", "clipped"), [(0, False), (15, False), (16, False), (17, True), (40, True)])
def test_a_wav_is_clipped_past_one_sample_in_a_thousand(count: int, clipped: bool) -> None:
    # Given one second (16 000 samples) of which `count` are at or next to full scale
    samples = with_clipped(square(8000, 1.0), count, start=5000)
    report = inspect_wav(wav(samples))
    # Then the fraction is the one counted here, and 16 of 16 000 (0.1 %) is still clean
    assert report.clipped_fraction == pytest.approx(reference_clipped_fraction(samples), abs=1e-6)
    assert (AudioProblem.CLIPPED in problems(report)) is clipped


def test_two_steps_from_full_scale_is_not_clipping() -> None:
    samples = square(8000, 1.0)
    samples[100:200] = [32765, -32766] * 50
    report = inspect_wav(wav(samples))
    assert reference_clipped_fraction(samples) == 0 and report.clipped_fraction == 0
    assert AudioProblem.CLIPPED not in problems(report)


@pytest.mark.parametrize(("amplitude", "silent"), [(328, False), (327, True), (1000, False), (100, True)])
def test_a_wav_is_silent_when_its_peak_is_under_minus_40_dbfs(amplitude: int, silent: bool) -> None:
    # Given a steady tone of `amplitude`: 328 peaks at -39.99 dBFS, 327 at -40.02
    report = inspect_wav(wav(square(amplitude, 2.0)))
    assert report.peak_dbfs == pytest.approx(dbfs(amplitude), abs=0.01)
    assert report.rms_dbfs == pytest.approx(dbfs(amplitude), abs=0.01)
    assert (dbfs(amplitude) < -40) is silent
    assert (AudioProblem.SILENT in problems(report)) is silent


@pytest.mark.parametrize(("level", "silent"), [(104, False), (103, True)])
def test_a_wav_is_silent_when_its_average_is_under_minus_50_dbfs(level: int, silent: bool) -> None:
    # Given a quiet tone with one click loud enough (-30 dBFS) for the peak to pass
    samples = square(level, 2.0)
    samples[1000] = 1037
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    report = inspect_wav(wav(samples))
    assert report.peak_dbfs == pytest.approx(dbfs(1037), abs=0.01) and report.peak_dbfs > -40
    assert report.rms_dbfs == pytest.approx(dbfs(rms), abs=0.01)
    assert (dbfs(rms) < -50) is silent
    assert (AudioProblem.SILENT in problems(report)) is silent


# ----- inspect_recording (any upload: measured after trimming) ------------------------------------


@pytest.mark.parametrize(("count", "clipped"), [(23, False), (24, False), (25, True)])
def test_a_recording_is_clipped_past_one_sample_in_a_thousand(count: int, clipped: bool) -> None:
    # Given 1.5 s (24 000 samples, nothing to trim) with `count` clipped samples in one frame
    samples = with_clipped(square(8000, 1.5), count, start=10 * FRAME)
    recording = inspect_recording(wav(samples), LIMITS, "wav")
    assert recording.measurements is not None
    assert recording.measurements.duration_seconds == 1.5
    assert recording.measurements.clipped_fraction == pytest.approx(
        reference_clipped_fraction(samples), abs=1e-6
    )
    assert (AudioProblem.CLIPPED in problems(recording.report)) is clipped


@pytest.mark.parametrize(("amplitude", "silent"), [(328, False), (327, True)])
def test_a_recording_is_silent_when_its_peak_is_under_minus_40_dbfs(amplitude: int, silent: bool) -> None:
    recording = inspect_recording(wav(square(amplitude, 1.5)), LIMITS, "wav")
    assert recording.measurements is not None
    assert recording.measurements.peak_dbfs == pytest.approx(dbfs(amplitude), abs=0.01)
    assert (AudioProblem.SILENT in problems(recording.report)) is silent


def paused_speech(speech: int, noise: int) -> list[int]:
    """One second of background, one of speech, one of background."""
    return square(noise, 1.0) + square(speech, 1.0) + square(noise, 1.0)


def noise_for(speech: int, snr: float) -> int:
    """The background amplitude that puts `speech` exactly `snr` dB above it (as reported)."""
    return next(a for a in range(speech // 100, speech) if reference_snr(speech, a) == snr)


@pytest.mark.parametrize(
    ("snr", "noisy"), [(30.0, False), (15.1, False), (15.0, False), (14.9, True), (10.0, True)]
)
def test_a_recording_is_noisy_under_15_db_of_speech_over_its_pauses(snr: float, noisy: bool) -> None:
    # Given speech between pauses whose background is `snr` dB under it (worked out here)
    noise = noise_for(3000, snr)
    recording = inspect_recording(wav(paused_speech(3000, noise)), LIMITS, "wav")
    measurements = recording.measurements
    assert measurements is not None
    # Then the SNR measured is that one, the pauses are trimmed to 0.25 s either side
    assert measurements.snr_db == pytest.approx(snr, abs=0.05)
    assert measurements.speech_dbfs == pytest.approx(dbfs(3000), abs=0.01)
    assert (measurements.leading_silence_seconds, measurements.trailing_silence_seconds) == (1.0, 1.0)
    assert measurements.duration_seconds == 1.5 and measurements.original_seconds == 3.0
    # And 15 dB is enough, 14.9 is not
    assert (AudioProblem.NOISY in problems(recording.report)) is noisy
    assert problems(recording.report) <= {AudioProblem.NOISY}


def test_without_a_pause_there_is_no_noise_to_measure() -> None:
    # Given a steady tone and nothing else: no frame is quieter than the speech
    recording = inspect_recording(wav(square(3000, 2.0)), LIMITS, "wav")
    assert recording.measurements is not None and recording.measurements.snr_db is None
    assert recording.report.ok
