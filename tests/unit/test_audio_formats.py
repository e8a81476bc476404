"""inspect_recording: every accepted format in, 16 kHz mono WAV out; trimming, measurements, the window."""

from __future__ import annotations

import io
import math
import random
import subprocess
import sys
import wave
from array import array
from pathlib import Path

import pytest
from voiceclone.domain.audio import (
    AudioProblem,
    RecordingLimits,
    WindowMiss,
    choose_for_window,
    inspect_wav,
    limits_for,
    pcm_of,
    wav_file,
    wav_seconds,
)
from voiceclone.domain.audio_decode import ACCEPTED_FORMATS, decode_pcm16, encode, extension_of
from voiceclone.domain.recording import inspect_recording

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "tencent_vrs"
LIMITS = RecordingLimits(16000, 1.0, 15.0)


def sample_pcm(text_id: str = "00001") -> bytes:
    rate, pcm = pcm_of((SAMPLES / f"{text_id}.wav").read_bytes())
    assert rate == 16000
    return pcm


def problems(data: bytes, ext: str | None = None, limits: RecordingLimits = LIMITS) -> list[AudioProblem]:
    return [f.problem for f in inspect_recording(data, limits, ext).report.findings]


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("wav", {"out_rate": 44100, "channels": 2}),
        ("wav", {"out_rate": 48000}),
        ("mp3", {}),
        ("m4a", {}),
        ("aac", {}),
        ("flac", {"out_rate": 44100}),
        ("ogg", {}),
        ("webm", {"channels": 2}),
    ],
)
def test_each_accepted_format_comes_out_as_the_vendors_wav(fmt: str, options: dict[str, int]) -> None:
    # Given a sample encoded as phones, browsers and editors save it (a real encoder: FFmpeg's)
    pcm = sample_pcm()
    data = encode(pcm, 16000, fmt, **options)
    assert data[:4] != b"RIFF" or fmt == "wav"
    # When it is inspected for a 16 kHz vendor
    recording = inspect_recording(data, LIMITS, ext=fmt)
    # Then it passes, measured on 16 kHz mono 16-bit audio that the vendor's own strict check accepts
    assert recording.report.ok, recording.report.findings
    assert recording.wav is not None and inspect_wav(recording.wav).ok
    measured = recording.measurements
    assert measured is not None and measured.original
    assert abs(measured.duration_seconds - 6.0) < 0.4, measured
    assert measured.speech_dbfs is not None and -30 < measured.speech_dbfs < -10
    # A lossy codec changes the samples, not the speech's place: about the same trimmed length
    assert abs(wav_seconds(recording.wav) - measured.duration_seconds) < 0.01


@pytest.mark.parametrize("fmt", ["m4a", "aac", "mp3", "ogg"])
def test_a_recording_of_any_length_encodes_at_a_phones_rate(fmt: str) -> None:
    # Given a take whose length is no multiple of the encoder's frame (7.338 s at 16 kHz: at 44.1 kHz
    # stereo the MP4 muxer once refused its AAC packets as out of order)
    pcm = (sample_pcm() * 2)[: 117_408 * 2]
    # When it is encoded as a phone keeps it, and decoded again
    data = encode(pcm, 16000, fmt, out_rate=44100, channels=2)
    decoded, _ = decode_pcm16(data, 16000)
    # Then the whole take is there (a lossy codec's priming and padding aside)
    assert len(decoded) / 2 / 16000 == pytest.approx(117_408 / 16000, abs=0.06)


def test_a_ready_wav_takes_the_fast_path_without_importing_the_decoder() -> None:
    # Given a 16 kHz 16-bit mono WAV (what the samples are), inspected in a fresh interpreter
    code = (
        "import sys; from voiceclone.domain.audio import RecordingLimits;"
        "from voiceclone.domain.recording import inspect_recording;"
        f"data = open({str(SAMPLES / '00002.wav')!r}, 'rb').read();"
        "r = inspect_recording(data, RecordingLimits(16000, 1, 15));"
        "assert r.report.ok, r.report.findings;"
        # bound lazily at import (voiceclone.lazy): imported only once read
        "print('av' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO / "functions"
    )
    # Then PyAV was never loaded
    assert out.stdout.strip() == "False"


def test_unreadable_files_say_what_is_accepted() -> None:
    text = b"these are the lyrics, not a recording\n" * 20
    # A text file named .wav (or sent as audio/wav): NOT_WAV; under another audio name: NOT_AUDIO
    for ext, problem in [
        ("wav", AudioProblem.NOT_WAV),
        (None, AudioProblem.NOT_WAV),
        ("mp3", AudioProblem.NOT_AUDIO),
    ]:
        report = inspect_recording(text, LIMITS, ext).report
        assert [f.problem for f in report.findings] == [problem]
        assert "MP3, M4A/AAC, FLAC, OGG/Opus, WebM/Opus" in report.findings[0].message
    assert problems(b"", "m4a") == [AudioProblem.EMPTY]
    # A cut-off WAV is still TRUNCATED, found without decoding
    whole = (SAMPLES / "00003.wav").read_bytes()
    assert problems(whole[: len(whole) // 2], "wav") == [AudioProblem.TRUNCATED]


def test_leading_and_trailing_silence_is_trimmed_to_a_margin() -> None:
    # Given a sample with 3 s of silence before and 4 s after it
    pcm = sample_pcm()
    padded = b"\x00\x00" * 48000 + pcm + b"\x00\x00" * 64000
    recording = inspect_recording(wav_file(16000, padded), LIMITS)
    measured = recording.measurements
    # Then the silence is measured, and what is checked and sent is the speech with a short margin
    assert recording.report.ok and measured is not None and recording.wav is not None
    assert measured.original_seconds == pytest.approx(13.0, abs=0.05)
    assert measured.leading_silence_seconds == pytest.approx(3.2, abs=0.1)
    assert measured.trailing_silence_seconds == pytest.approx(4.2, abs=0.1)
    assert measured.duration_seconds == pytest.approx(6.0, abs=0.2)
    assert wav_seconds(recording.wav) == pytest.approx(measured.duration_seconds, abs=0.01)
    # And a sentence too long only because of the silence around it passes once trimmed
    assert (
        problems(wav_file(16000, b"\x00\x00" * 160000 + pcm), limits=RecordingLimits(16000, 1.0, 10.0)) == []
    )


def test_silent_clipped_and_noisy_recordings_are_named_with_figures() -> None:
    pcm = array("h")
    pcm.frombytes(sample_pcm())
    random.seed(7)
    # Silent: nothing to trim, nothing above the floor
    silent = inspect_recording(wav_file(16000, b"\x00\x00" * 48000), LIMITS)
    assert [f.problem for f in silent.report.findings] == [AudioProblem.SILENT]
    # Clipped: the gain far too high
    loud = array("h", (max(-32768, min(32767, s * 8)) for s in pcm))
    clipped = inspect_recording(wav_file(16000, loud.tobytes()), LIMITS)
    assert AudioProblem.CLIPPED in [f.problem for f in clipped.report.findings]
    assert clipped.measurements is not None and (clipped.measurements.clipped_fraction or 0) > 0.01
    # Noisy: a loud hiss under the voice and in the pauses
    hiss = array("h", (int(random.gauss(0, 1200)) for _ in range(16000)))
    noisy_pcm = (
        hiss + array("h", (max(-32768, min(32767, s + int(random.gauss(0, 1200)))) for s in pcm)) + hiss
    )
    noisy = inspect_recording(wav_file(16000, noisy_pcm.tobytes()), LIMITS)
    assert [f.problem for f in noisy.report.findings] == [AudioProblem.NOISY]
    assert noisy.measurements is not None and (noisy.measurements.snr_db or 99) < 15
    # A clean sample: a high SNR, no problem
    clean = inspect_recording((SAMPLES / "00006.wav").read_bytes(), LIMITS)
    assert clean.report.ok and clean.measurements is not None and (clean.measurements.snr_db or 0) > 30


def test_the_window_takes_as_many_sentences_as_fit() -> None:
    durations = {f"{i:05d}": d for i, d in enumerate([11.0, 9.5, 12.0, 10.0, 13.5, 10.5], start=1)}
    # All six (66.5 s plus pauses) overflow Qiniu's 60 s: the five shortest fit, in script order
    chosen = choose_for_window(durations, 10.0, 60.0)
    assert chosen == ["00001", "00002", "00003", "00004", "00006"]
    assert sum(durations[t] for t in chosen) + 0.5 * 4 <= 60.0
    # Everything fits: everything is sent
    assert choose_for_window(durations, 10.0, 600.0) == sorted(durations)
    # Too little in all, or every sentence longer than the window: a reason that says what to record
    with pytest.raises(WindowMiss, match=r"at least 10 s: record the sentences again"):
        choose_for_window({"00001": 3.0, "00002": 4.0}, 10.0, 60.0)
    with pytest.raises(WindowMiss, match=r"shortest recording lasts 30.0 s"):
        choose_for_window({"00001": 30.0}, 5.0, 25.0)


def test_a_joined_file_vendor_limits_sentences_by_its_window() -> None:
    assert limits_for(16000, 1.0, 15.0, None).max_seconds == 15.0
    assert limits_for(16000, 1.0, 15.0, (10.0, 60.0)).max_seconds == 60.0
    # A 20 s sentence: too long for Tencent VRS's clips, no fault for a vendor joining into 60 s
    long = wav_file(16000, (sample_pcm("00006") + sample_pcm("00007"))[: 20 * 32000])
    assert problems(long, limits=limits_for(16000, 1.0, 15.0, None)) == [AudioProblem.TOO_LONG]
    assert problems(long, limits=limits_for(16000, 1.0, 15.0, (10.0, 60.0))) == []


def test_content_types_name_their_format() -> None:
    assert extension_of("audio/mp4") == "m4a" and extension_of("audio/x-wav") == "wav"
    assert extension_of("audio/webm; codecs=opus") == "webm" and extension_of("text/plain") is None
    assert set(ACCEPTED_FORMATS) >= {"wav", "mp3", "m4a", "flac", "ogg", "webm"}


def test_decoding_garbage_never_raises_anything_but_decode_error() -> None:
    from voiceclone.domain.audio_decode import DecodeError

    for data in (
        b"\x00" * 10,
        b"ID3\x04\x00" + b"x" * 500,
        b"OggS" + b"\xff" * 300,
        b"\x1a\x45\xdf\xa3" * 50,
    ):
        with pytest.raises(DecodeError):
            decode_pcm16(data, 16000)


@pytest.mark.parametrize("function", ["api", "authorizer"])
def test_functions_that_do_not_touch_audio_do_not_import_the_decoder(function: str) -> None:
    # The function as its SnapStart snapshot holds it: its target and the modules its row lists,
    # loaded; PyAV is bound lazily (voiceclone.lazy) and never executed.
    code = (
        "import sys, importlib; from voiceclone.handlers import entries, snapstart; "
        f"entry = getattr(entries, {function!r}); entry.load(); "
        "[importlib.import_module(m) for m in snapstart.snapshot_modules(entry.row)]; "
        "print('av' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO / "functions"
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


# ----- decoding and encoding, checked with the standard library ------------------------------------


def stdlib_wav(frames: bytes, rate: int, channels: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


@pytest.mark.parametrize(("channels", "said"), [(1, "1 channel"), (2, "2 channels")])
def test_a_wav_decodes_to_its_own_samples_and_says_what_it_was(channels: int, said: str) -> None:
    mono = array("h", (int(8000 * math.sin(i / 7)) for i in range(16000)))
    frames = array("h", (s for s in mono for _ in range(channels))).tobytes()
    pcm, described = decode_pcm16(stdlib_wav(frames, 16000, channels), 16000)
    assert described == f"wav/pcm_s16le, 16000 Hz, {said}"
    decoded = array("h", pcm)
    assert len(decoded) == len(mono)
    assert max(abs(a - b) for a, b in zip(decoded, mono, strict=True)) <= 1


def test_decoding_resamples_to_the_rate_asked() -> None:
    mono = array("h", (int(8000 * math.sin(i / 5)) for i in range(8000))).tobytes()
    pcm, described = decode_pcm16(stdlib_wav(mono, 8000, 1), 16000)
    assert described == "wav/pcm_s16le, 8000 Hz, 1 channel"
    assert abs(len(pcm) // 2 - 16000) <= 64  # one second either way, give or take the filter's edge


@pytest.mark.parametrize(
    ("fmt", "container"), [("wav", "wav"), ("flac", "flac"), ("mp3", "mp3"), ("webm", "matroska")]
)
def test_what_encode_writes_decodes_as_that_format(fmt: str, container: str) -> None:
    mono = array("h", (int(8000 * math.sin(i / 5)) for i in range(16000))).tobytes()
    encoded = encode(mono, 16000, fmt, channels=2)
    pcm, described = decode_pcm16(encoded, 16000)
    assert described.startswith(f"{container}/") and described.endswith("2 channels")
    assert abs(len(pcm) // 2 - 16000) <= 1200  # codecs pad a frame or two
    if fmt == "wav":
        with wave.open(io.BytesIO(encoded)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
                2,
                2,
                16000,
                16000,
            )
    resampled = encode(mono, 16000, "wav", out_rate=8000)
    with wave.open(io.BytesIO(resampled)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 8000) and abs(w.getnframes() - 8000) <= 64


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [
        ("audio/wav", "wav"), ("audio/x-wav", "wav"), ("audio/wave", "wav"), ("audio/vnd.wave", "wav"),
        ("AUDIO/MPEG; charset=binary", "mp3"), (" audio/webm;codecs=opus", "webm"), ("audio/mp4", "m4a"),
        ("audio/ogg", "ogg"), ("video/mp4", None), ("", None),
    ],
)  # fmt: skip
def test_a_content_type_names_its_format(content_type: str, ext: str | None) -> None:
    assert extension_of(content_type) == ext
