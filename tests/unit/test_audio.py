"""inspect_wav: each problem from a synthetic WAV, the shipped samples pass, arbitrary bytes never raise."""

from __future__ import annotations

import io
import math
import os
import struct
import wave
from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voiceclone.domain.audio import AudioProblem, AudioReport, inspect_wav

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


def make_wav(
    samples: list[int] | array[int], rate: int = 16000, channels: int = 1, sample_width: int = 2
) -> bytes:
    """A WAV written by the standard library's own writer, so these tests do not share our parser's bugs."""
    pcm = array("h", samples)
    raw = bytes((s >> 8) + 128 for s in pcm) if sample_width == 1 else pcm.tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sample_width)
        w.setframerate(rate)
        w.writeframes(raw)
    return buf.getvalue()


def sine(seconds: float, rate: int = 16000, amplitude: float = 0.5, freq: float = 220.0) -> array[int]:
    step = 2 * math.pi * freq / rate
    return array("h", (int(amplitude * 32767 * math.sin(step * i)) for i in range(int(seconds * rate))))


def problems(report: AudioReport) -> list[AudioProblem]:
    return [f.problem for f in report.findings]


def test_a_clean_sine_tone_passes_with_its_measurements() -> None:
    # Given 3 s of a 220 Hz tone at half scale, 16 kHz mono 16-bit
    data = make_wav(sine(3.0))

    # When it is inspected
    report = inspect_wav(data)

    # Then nothing is wrong and the levels are those of a half-scale sine (peak -6 dBFS, RMS -9 dBFS)
    assert report.ok, report.findings
    assert (report.sample_rate, report.channels, report.sample_width) == (16000, 1, 2)
    assert report.duration_seconds == pytest.approx(3.0)
    assert report.peak_dbfs == pytest.approx(-6.02, abs=0.05)
    assert report.rms_dbfs == pytest.approx(-9.03, abs=0.05)
    assert report.clipped_fraction == 0.0


def test_digital_silence_is_silent_and_says_what_to_do() -> None:
    # Given 2 s of zeros
    data = make_wav([0] * 32000)

    # When it is inspected
    report = inspect_wav(data)

    # Then it is SILENT (and only that), with a message pointing at the microphone
    assert problems(report) == [AudioProblem.SILENT]
    assert "microphone" in report.findings[0].message
    assert report.peak_dbfs is not None and report.peak_dbfs <= -100


def test_a_very_quiet_tone_is_silent() -> None:
    # Given a tone that peaks around -50 dBFS (a muted or far-away microphone)
    data = make_wav(sine(2.0, amplitude=0.003))

    # When / Then it is reported as silent, not as fine
    assert problems(inspect_wav(data)) == [AudioProblem.SILENT]


def test_a_full_scale_square_wave_is_clipped() -> None:
    # Given a square wave that sits at full scale on both sides
    data = make_wav([32767 if (i // 40) % 2 else -32768 for i in range(32000)])

    # When it is inspected
    report = inspect_wav(data)

    # Then it is CLIPPED with the whole signal counted, and told to lower the gain
    assert problems(report) == [AudioProblem.CLIPPED]
    assert report.clipped_fraction == pytest.approx(1.0)
    assert "gain" in report.findings[0].message


def test_clipping_counts_one_lsb_inside_full_scale_and_tolerates_a_few_peaks() -> None:
    # Given a clean tone where 0.05 % of samples touch 32766 / -32767 (below the 0.1 % threshold)
    base = sine(4.0, amplitude=0.5)
    few = array("h", base)
    for i in range(0, 32, 2):
        few[i * 1000], few[i * 1000 + 1000] = 32766, -32767
    # and the same tone with 1 % of samples there
    many = array("h", base)
    for i in range(0, len(many), 100):
        many[i] = 32766 if i % 200 else -32767

    # When both are inspected
    few_report, many_report = inspect_wav(make_wav(few)), inspect_wav(make_wav(many))

    # Then a few near-full-scale samples pass, many are CLIPPED, and the fractions are exact
    assert few_report.ok
    assert few_report.clipped_fraction == pytest.approx(32 / 64000)
    assert problems(many_report) == [AudioProblem.CLIPPED]
    assert many_report.clipped_fraction == pytest.approx(0.01)


def test_twenty_seconds_is_too_long() -> None:
    # Given 20 s of clean tone
    data = make_wav(sine(20.0))

    # When / Then only TOO_LONG, and the message gives the limit
    report = inspect_wav(data)
    assert problems(report) == [AudioProblem.TOO_LONG]
    assert "15 s" in report.findings[0].message


def test_half_a_second_is_too_short() -> None:
    # Given 0.5 s of clean tone
    data = make_wav(sine(0.5))

    # When / Then only TOO_SHORT
    assert problems(inspect_wav(data)) == [AudioProblem.TOO_SHORT]


def test_the_duration_bounds_are_parameters() -> None:
    # Given 3 s of tone
    data = make_wav(sine(3.0))

    # When checked against tighter bounds / Then each bound applies
    assert problems(inspect_wav(data, max_seconds=2.0)) == [AudioProblem.TOO_LONG]
    assert problems(inspect_wav(data, min_seconds=5.0)) == [AudioProblem.TOO_SHORT]


def test_eight_kilohertz_is_a_sample_rate_mismatch() -> None:
    # Given 2 s of tone at 8 kHz
    data = make_wav(sine(2.0, rate=8000), rate=8000)

    # When inspected for 16 kHz / Then the rate is wrong and the message names both rates
    report = inspect_wav(data)
    assert problems(report) == [AudioProblem.SAMPLE_RATE_MISMATCH]
    assert "8000 Hz" in report.findings[0].message and "16000 Hz" in report.findings[0].message
    # And the same file is fine when 8 kHz is what is expected
    assert inspect_wav(data, expected_sample_rate=8000).ok


def test_stereo_is_an_unsupported_encoding() -> None:
    # Given 2 s of stereo tone (the same samples on both channels)
    mono = sine(2.0)
    stereo = array("h", (s for s in mono for _ in range(2)))
    data = make_wav(stereo, channels=2)

    # When / Then UNSUPPORTED_ENCODING, and the duration is still measured from the frame size
    report = inspect_wav(data)
    assert problems(report) == [AudioProblem.UNSUPPORTED_ENCODING]
    assert report.channels == 2
    assert report.duration_seconds == pytest.approx(2.0)


def test_eight_bit_audio_is_an_unsupported_encoding() -> None:
    # Given 2 s of 8-bit tone
    data = make_wav(sine(2.0), sample_width=1)

    # When / Then UNSUPPORTED_ENCODING
    assert problems(inspect_wav(data)) == [AudioProblem.UNSUPPORTED_ENCODING]


def with_block_align(data: bytes, block_align: int) -> bytes:
    """The same WAV with its fmt chunk's block_align (offset 32 in the standard 44-byte header) changed."""
    assert data[12:16] == b"fmt "
    return data[:32] + struct.pack("<H", block_align) + data[34:]


@pytest.mark.parametrize("block_align", [0, 1, 4])
def test_a_header_with_a_wrong_block_align_says_the_header_is_damaged(block_align: int) -> None:
    # Given a good 16-bit mono PCM recording whose header claims another frame size
    data = with_block_align(make_wav(sine(2.0)), block_align)

    # When it is inspected
    report = inspect_wav(data)

    # Then it is refused, and the message names the damaged field instead of blaming the encoding
    assert problems(report) == [AudioProblem.UNSUPPORTED_ENCODING]
    message = report.findings[0].message
    assert message.startswith("the WAV header is damaged:"), message
    assert f"block_align is {block_align}" in message and "frames of 2 bytes" in message
    assert "export the recording again" in message
    assert "the recording is PCM, 16-bit, mono" not in message


def test_a_header_declaring_no_channels_is_damaged() -> None:
    # Given a WAV whose fmt chunk declares 0 channels (offset 22)
    data = make_wav(sine(2.0))
    data = data[:22] + struct.pack("<H", 0) + data[24:]

    # When / Then the message says what is wrong with the header
    message = inspect_wav(data).findings[0].message
    assert message.startswith("the WAV header is damaged: it declares 0 channels"), message


def test_a_genuine_other_encoding_still_names_the_encoding() -> None:
    # Given a consistent 8-bit header (a choice of encoding, not a damaged header)
    report = inspect_wav(make_wav(sine(2.0), sample_width=1))

    # When / Then the message names the encoding and says how to export
    assert report.findings[0].message == (
        "the recording is PCM, 8-bit, mono: record or export it as 16-bit PCM mono WAV"
    )


def test_a_cut_off_upload_is_truncated() -> None:
    # Given a good file cut at several points inside its audio and inside its header
    data = make_wav(sine(3.0))
    for cut in (len(data) - 1, len(data) // 2, 45, 44, 40, 30, 20):
        # When the cut file is inspected / Then it is TRUNCATED, and that alone
        assert problems(inspect_wav(data[:cut])) == [AudioProblem.TRUNCATED], cut


def test_empty_bytes_are_empty() -> None:
    # Given nothing / When inspected / Then EMPTY
    assert problems(inspect_wav(b"")) == [AudioProblem.EMPTY]


def test_random_bytes_are_not_wav() -> None:
    # Given bytes that are not RIFF/WAVE (noise, and an MP3 header)
    noise = os.urandom(4096)
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(1000)

    # When / Then NOT_WAV for both
    assert problems(inspect_wav(b"X" + noise)) == [AudioProblem.NOT_WAV]
    assert problems(inspect_wav(mp3)) == [AudioProblem.NOT_WAV]


def test_unknown_chunks_are_skipped() -> None:
    # Given a good WAV with a LIST chunk (odd length, so padded) between fmt and data
    plain = make_wav(sine(2.0))
    fmt_end = 12 + 8 + 16
    info = b"INFOISFT\x05\x00\x00\x00test\x00"
    list_chunk = b"LIST" + struct.pack("<I", len(info)) + info + b"\x00"
    data = plain[:fmt_end] + list_chunk + plain[fmt_end:]
    data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]

    # When / Then it passes as the plain file does
    report = inspect_wav(data)
    assert report.ok, report.findings
    assert report.duration_seconds == pytest.approx(2.0)


def test_a_file_with_no_data_chunk_is_not_a_wav_recording() -> None:
    # Given a complete RIFF/WAVE with a fmt chunk and nothing else
    header_only = make_wav(sine(1.0))[:36]
    header_only = header_only[:4] + struct.pack("<I", 28) + header_only[8:]

    # When / Then NOT_WAV (nothing is missing, there is simply no audio)
    assert problems(inspect_wav(header_only)) == [AudioProblem.NOT_WAV]


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.wav")), ids=lambda p: p.name)
def test_every_shipped_sample_passes(path: Path) -> None:
    # Given one generated sample recording / When inspected with the defaults / Then it is fine
    report = inspect_wav(path.read_bytes())
    assert report.ok, report.findings
    assert report.peak_dbfs is not None and -4.0 < report.peak_dbfs < -2.0


def test_there_are_twenty_samples() -> None:
    # Given the samples directory / Then it holds one file per training sentence
    assert sorted(p.stem for p in SAMPLES.glob("*.wav")) == [f"{i:05d}" for i in range(1, 21)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    # Given any bytes / When inspected / Then a report comes back, never an exception
    assert isinstance(inspect_wav(data), AudioReport)


@settings(max_examples=300, deadline=None)
@given(
    header=st.binary(min_size=8, max_size=64),
    body=st.binary(max_size=512),
    cut=st.integers(min_value=0, max_value=700),
)
def test_arbitrary_bytes_after_a_riff_header_never_raise(header: bytes, body: bytes, cut: int) -> None:
    # Given a RIFF/WAVE prefix followed by arbitrary chunk bytes (the paths random bytes rarely reach)
    data = (b"RIFF" + header[:4] + b"WAVE" + b"fmt " + header[4:] + body)[:cut]

    # When / Then a report comes back, whose findings are all known problems
    report = inspect_wav(data)
    assert all(isinstance(f.problem, AudioProblem) for f in report.findings)
