"""The audio verdicts at their thresholds: clipped, silent and noisy, one step either side of each limit.

Each recording is made with the standard library's ``wave`` writer and its levels are worked out here
with plain arithmetic (20·log10 of the amplitude over full scale), independently of
voiceclone.domain.audio, so a threshold that moves or a comparison that flips fails a test on one
side of the limit or the other. Square waves are used because their level is exactly their
amplitude in every 20 ms frame.
"""

# ruff: noqa: E501 - the messages a speaker reads are kept whole, one per line

from __future__ import annotations

import io
import math
import struct
import wave
from array import array

import pytest
from voiceclone.domain.audio import (
    AudioProblem,
    AudioReport,
    RecordingLimits,
    WindowMiss,
    assemble_wav,
    choose_for_window,
    inspect_wav,
    pcm_of,
)
from voiceclone.domain.recording import inspect_recording

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


# ----- headers, joins and windows ------------------------------------------------------------------


def riff(fmt: bytes, data: bytes) -> bytes:
    body = (
        b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little")
    )
    return b"RIFF" + (len(body) + len(data)).to_bytes(4, "little") + body + data


def fmt_chunk(tag: int, channels: int, bits: int, block_align: int, rate: int = RATE) -> bytes:
    return struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)


@pytest.mark.parametrize(
    ("tag", "channels", "bits", "block_align", "damage"),
    [
        (1, 0, 16, 2, "it declares 0 channels"),
        (1, 1, 0, 2, "it declares 0 bits per sample"),
        (1, 1, 16, 4, "block_align is 4, but 16-bit mono audio has frames of 2 bytes"),
        (1, 2, 16, 2, "block_align is 2, but 16-bit 2-channel audio has frames of 4 bytes"),
        (1, 1, 12, 2, None),  # 12 bits round up to 2 bytes a sample
        (1, 1, 12, 1, "block_align is 1, but 12-bit mono audio has frames of 2 bytes"),
        (3, 1, 32, 4, None),  # IEEE float: named, not damaged
        (7, 1, 8, 1, None),  # µ-law
        (0x55, 1, 0, 1, None),  # MP3 in a WAV: frames are not samples
    ],
)
def test_a_header_that_contradicts_itself_is_damaged(
    tag: int, channels: int, bits: int, block_align: int, damage: str | None
) -> None:
    report = inspect_wav(riff(fmt_chunk(tag, channels, bits, block_align), b"\x00\x01" * 16000))
    (finding,) = [f for f in report.findings if f.problem is AudioProblem.UNSUPPORTED_ENCODING]
    if damage:
        assert finding.message == (
            f"the WAV header is damaged: {damage}; export the recording again as 16-bit PCM mono WAV"
        )
    else:
        assert (
            "damaged" not in finding.message
            and "record or export it as 16-bit PCM mono WAV" in finding.message
        )


def test_a_extensible_header_is_read_by_its_real_format() -> None:
    # WAVE_FORMAT_EXTENSIBLE whose SubFormat is PCM: plain 16-bit mono, nothing to say
    fmt = fmt_chunk(0xFFFE, 1, 16, 2) + struct.pack("<HHI", 22, 16, 4) + struct.pack("<H", 1) + b"\x00" * 14
    report = inspect_wav(riff(fmt, wav_bytes_pcm(square(3000, 2.0))))
    assert report.ok, report.findings


def wav_bytes_pcm(samples: list[int]) -> bytes:
    return array("h", samples).tobytes()


def test_pcm_of_gives_the_rate_and_the_frames_and_refuses_anything_else() -> None:
    samples = square(1000, 0.5)
    rate, pcm = pcm_of(wav(samples))
    assert rate == RATE and pcm == array("h", samples).tobytes()
    for refused in (riff(fmt_chunk(1, 2, 16, 4), b"\x00" * 400), riff(fmt_chunk(1, 1, 8, 1), b"\x80" * 400)):
        with pytest.raises(ValueError, match="not a 16-bit mono PCM WAV"):
            pcm_of(refused)
    with pytest.raises(ValueError):
        pcm_of(b"RIFF\x04\x00\x00\x00WAVE")


def test_assembled_takes_keep_their_order_with_silence_between() -> None:
    a, b = square(1000, 0.25), square(2000, 0.5)
    joined = assemble_wav([wav(a), wav(b)], pause_seconds=0.1)
    rate, pcm = pcm_of(joined)
    pause = [0] * int(RATE * 0.1)
    assert rate == RATE and array("h", pcm).tolist() == a + pause + b
    assert pcm_of(assemble_wav([wav(a)]))[1] == array("h", a).tobytes()
    with pytest.raises(ValueError, match="nothing to assemble"):
        assemble_wav([])
    other = io.BytesIO()
    with wave.open(other, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(array("h", a).tobytes())
    with pytest.raises(ValueError, match="sample rates differ: 16000 and 8000"):
        assemble_wav([wav(a), other.getvalue()])


@pytest.mark.parametrize(
    ("durations", "window", "chosen"),
    [
        # The shortest first until the next would pass the maximum (pauses of 0.5 s counted)
        ({"01": 4.0, "02": 2.0, "03": 3.0}, (1.0, 5.5), ["02", "03"]),
        ({"01": 4.0, "02": 2.0, "03": 3.0}, (1.0, 5.49), ["02"]),
        ({"01": 4.0, "02": 2.0, "03": 3.0}, (1.0, 10.0), ["01", "02", "03"]),
        # Ties go by script order
        ({"02": 2.0, "01": 2.0}, (1.0, 2.0), ["01"]),
        # Exactly the minimum is enough
        ({"01": 2.0, "02": 2.5}, (5.0, 9.0), ["01", "02"]),
    ],
)
def test_the_window_takes_as_many_sentences_as_fit(
    durations: dict[str, float], window: tuple[float, float], chosen: list[str]
) -> None:
    assert choose_for_window(durations, *window) == chosen


def test_a_window_that_nothing_fits_says_what_to_record() -> None:
    with pytest.raises(WindowMiss) as too_long:
        choose_for_window({"01": 30.0, "02": 40.0}, 10.0, 25.0)
    assert str(too_long.value) == (
        "the shortest recording lasts 30.0 s, more than the 25 s the vendor takes in all: record the "
        "sentences again at a normal pace, without long pauses"
    )
    with pytest.raises(WindowMiss) as too_short:
        choose_for_window({"01": 2.0, "02": 2.5}, 5.01, 9.0)
    assert str(too_short.value) == (
        "the 2 recordings joined last 5.0 s, the vendor needs at least 5.01 s: record the sentences again, "
        "reading each one in full"
    )


def test_speech_between_digital_silence_is_at_most_90_db_above_it() -> None:
    recording = inspect_recording(wav(paused_speech(3000, 0)), LIMITS, "wav")
    assert recording.measurements is not None and recording.measurements.snr_db == 90.0
    assert recording.report.ok


@pytest.mark.parametrize(("noise", "measured"), [(1650, False), (1400, True)])
def test_a_background_within_6_db_of_the_speech_leaves_the_snr_unknown(noise: int, measured: bool) -> None:
    # 1650 is 5.2 dB under 3000, 1400 is 6.6 dB under it: only a pause 6 dB quieter is one
    spread = dbfs(3000) - dbfs(noise)
    assert (spread >= 6) is measured
    recording = inspect_recording(wav(paused_speech(3000, noise)), LIMITS, "wav")
    assert recording.measurements is not None
    if measured:
        assert recording.measurements.snr_db == pytest.approx(spread, abs=0.05)
        assert AudioProblem.NOISY in problems(recording.report)
    else:
        assert recording.measurements.snr_db is None


def test_a_hiss_without_speech_is_silent_and_left_untrimmed() -> None:
    recording = inspect_recording(wav(square(80, 2.0)), LIMITS, "wav")  # -52 dBFS throughout
    assert AudioProblem.SILENT in problems(recording.report)
    assert recording.measurements is not None and recording.measurements.duration_seconds == 2.0
    assert recording.measurements.leading_silence_seconds is None


def test_long_pauses_are_trimmed_to_a_quarter_second_either_side() -> None:
    samples = [0] * (2 * RATE) + square(3000, 1.2) + [0] * (3 * RATE)
    recording = inspect_recording(wav(samples), LIMITS, "wav")
    measurements = recording.measurements
    assert measurements is not None and recording.wav is not None
    assert (measurements.leading_silence_seconds, measurements.trailing_silence_seconds) == (2.0, 3.0)
    assert measurements.duration_seconds == 1.7 and measurements.original_seconds == 6.2
    with wave.open(io.BytesIO(recording.wav)) as w:
        kept = array("h", w.readframes(w.getnframes()))
    assert kept.tolist() == [0] * (RATE // 4) + square(3000, 1.2) + [0] * (RATE // 4)


def test_a_report_says_which_problems_it_has() -> None:
    report = inspect_wav(wav(square(100, 0.5)))
    assert report.has(AudioProblem.SILENT) and report.has(AudioProblem.TOO_SHORT)
    assert not report.has(AudioProblem.CLIPPED) and not report.ok


# ----- what the speaker is told ----------------------------------------------------------------------


def messages(report: AudioReport) -> dict[AudioProblem, str]:
    return {f.problem: f.message for f in report.findings}


def test_each_problem_of_a_wav_says_what_to_do() -> None:
    assert messages(inspect_wav(b"")) == {
        AudioProblem.EMPTY: "the file is empty: record the sentence again and upload it"
    }
    not_wav = "the file is not a WAV recording: save it as WAV (16-bit PCM, mono) and upload it again"
    for data in (b"RIFF\x00\x00\x00\x00WAV", b"RIFX\x00\x00\x00\x00WAVE", b"RIFF\x00\x00\x00\x00AVI "):
        assert messages(inspect_wav(data)) == {AudioProblem.NOT_WAV: not_wav}
    assert messages(inspect_wav(wav(square(100, 0.5)))) == {
        AudioProblem.TOO_SHORT: "the recording lasts 0.5 s, at least 1 s is needed: read the whole sentence and "
        "record it again",
        AudioProblem.SILENT: "the recording is silent (peak -50 dBFS, average -50 dBFS): check the microphone and "
        "record the sentence again",
    }
    loud = with_clipped(square(8000, 16.0), 1000)
    assert messages(inspect_wav(wav(loud), expected_sample_rate=8000)) == {
        AudioProblem.SAMPLE_RATE_MISMATCH: "the recording is sampled at 16000 Hz, 8000 Hz is needed: set the "
        "recorder to 8000 Hz and record the sentence again",
        AudioProblem.TOO_LONG: "the recording lasts 16.0 s, at most 15 s is allowed: record only this sentence, "
        "without long pauses before or after it",
        AudioProblem.CLIPPED: "the recording is distorted (0.4% of it hits the loudness limit): lower the "
        "microphone gain or move back from it and record the sentence again",
    }


def test_a_cut_off_wav_still_says_what_it_announced() -> None:
    data = wav(square(3000, 2.0))[:20000]
    report = inspect_wav(data)
    assert (report.sample_rate, report.channels, report.sample_width) == (RATE, 1, 2)
    assert messages(report) == {
        AudioProblem.TRUNCATED: "the file is cut off (it ends before the audio it announces): upload the "
        "complete file again"
    }
    whole = inspect_wav(wav(square(3000, 1.2345)))
    assert (whole.sample_rate, whole.channels, whole.sample_width, whole.duration_seconds) == (
        RATE,
        1,
        2,
        1.234,
    )


def test_an_average_of_exactly_minus_50_dbfs_is_not_silent() -> None:
    # Given a quiet tone mixing amplitudes 103 and 104 to an RMS that rounds to -50.00 dBFS, and a click
    # loud enough for the peak to pass
    n = 2 * RATE
    for high in range(n // 2, n):
        samples = [(104 if i < high else 103) * (1 if i % 2 else -1) for i in range(n)]
        samples[1] = 1037
        rms = math.sqrt(sum(s * s for s in samples) / n)
        if dbfs(rms) == -50.0:
            break
    else:
        raise AssertionError("no mix rounds to -50.00 dBFS")
    report = inspect_wav(wav(samples))
    assert report.rms_dbfs == -50.0
    assert AudioProblem.SILENT not in problems(report)


def test_each_problem_of_a_recording_says_what_to_do() -> None:
    recording = inspect_recording(wav(square(3000, 0.5)), LIMITS, "wav")
    assert recording.measurements is not None
    assert messages(recording.report) == {
        AudioProblem.TOO_SHORT: "the recording lasts 0.5 s, at least 1 s is needed: read the whole sentence and "
        "record it again"
    }
    assert (recording.report.sample_rate, recording.report.channels, recording.report.sample_width) == (
        RATE,
        1,
        2,
    )
    long = inspect_recording(wav(with_clipped(square(8000, 16.0), 1000)), LIMITS, "wav")
    assert messages(long.report) == {
        AudioProblem.TOO_LONG: "the recording lasts 16.0 s without its leading and trailing silence, at most 15 s "
        "is allowed: record only this sentence, without long pauses in it",
        AudioProblem.CLIPPED: "the recording is distorted (0.4% of it hits the loudness limit): lower the "
        "microphone gain or move back from it and record the sentence again",
    }
    noisy = inspect_recording(wav(paused_speech(3000, noise_for(3000, 10.0))), LIMITS, "wav")
    assert messages(noisy.report) == {
        AudioProblem.NOISY: "the background is loud (speech only 10 dB above it, 15 dB is needed): record the "
        "sentence again in a quiet room, close to the microphone"
    }
    silent = inspect_recording(wav(square(100, 2.0)), LIMITS, "wav")
    assert messages(silent.report) == {
        AudioProblem.SILENT: "the recording is silent (peak -50 dBFS, average -50 dBFS): check the microphone and "
        "record the sentence again"
    }
    assert (silent.report.peak_dbfs, silent.report.rms_dbfs) == (dbfs(100), dbfs(100))


def test_a_recording_that_is_no_audio_says_so_by_its_name() -> None:
    garbage = b"\x00\x01garbage" * 100
    as_wav = inspect_recording(garbage, LIMITS, "WAV").report
    as_mp3 = inspect_recording(garbage, LIMITS, ".mp3").report
    assert [f.problem for f in as_wav.findings] == [AudioProblem.NOT_WAV]
    assert [f.problem for f in as_mp3.findings] == [AudioProblem.NOT_AUDIO]
    for ext in (None, "", "wave"):
        assert [f.problem for f in inspect_recording(garbage, LIMITS, ext).report.findings] == [
            AudioProblem.NOT_WAV
        ]
    assert as_mp3.findings[0].message.startswith(
        "the file is no recording we can read (FFmpeg cannot read it"
    )
    assert as_mp3.findings[0].message.endswith(
        "export it again as one of WAV (any rate, 8-32 bit, mono or stereo), MP3, M4A/AAC, FLAC, OGG/Opus, "
        "WebM/Opus and upload it"
    )
    empty = inspect_recording(b"", LIMITS, "wav")
    assert messages(empty.report) == {
        AudioProblem.EMPTY: "the file is empty: record the sentence again and upload it"
    }
    assert empty.measurements is None and empty.wav is None
