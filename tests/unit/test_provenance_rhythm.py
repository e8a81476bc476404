"""The explicit label: the "short-long-short-short" rhythm heard at the start of WAV, PCM and MP3 speech.

The tests listen to the audio: WAV and PCM samples as they are, MP3 decoded by FFmpeg (PyAV),
then the Goertzel detector at the label's tone. A speech without the label must not trigger it.
"""

from __future__ import annotations

import importlib.util
import io
import struct
from array import array
from pathlib import Path

import av
import av.logging
import pytest
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import decode_pcm16, encode
from voiceclone.provenance import LabelPolicy, SpeechContext, label_speech, rhythm
from voiceclone.provenance.mpeg import audio_frames, is_info_frame
from voiceclone.vendors.registry import capabilities, vendor_ids

from tests.helpers import sample_speech

REPO = Path(__file__).resolve().parents[2]
CONTEXT = SpeechContext(speech_id="sp-1", voice_id="vo-1", vendor="tencent_vrs", tenant_id="tenant-a")
ON = LabelPolicy(content_producer="voiceclone-operator", explicit=True, pcm="header", sign=False)
OFF = ON.model_copy(update={"explicit": False})
# Every rate a vendor speaks MP3 at: its files', and its stream's (which starts with the same frames).
MP3_RATES = sorted(
    {r for v in vendor_ids() if "mp3" in (c := capabilities(v)).speech_formats for r in c.speech_sample_rates}
    | {
        r
        for v in vendor_ids()
        if "mp3" in (c := capabilities(v)).speech_stream_formats
        for r in c.speech_stream_sample_rates
    }
)


def heard_in_mp3(data: bytes, rate: int) -> rhythm.RhythmDetection:
    pcm, _ = decode_pcm16(data, rate)
    return rhythm.detect_pcm(pcm, rate)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_wav_speech_starts_with_the_rhythm_at_its_own_rate(rate: int) -> None:
    # Given a vendor's WAV speech
    speech = wav_file(rate, sample_speech(rate)[: rate * 4])
    # Then nothing is heard before labelling, and the rhythm is heard after
    assert not rhythm.detect_wav(speech).found
    labelled = label_speech(speech, "wav", rate, CONTEXT, None, ON)
    heard = rhythm.detect_wav(labelled.audio)
    assert heard.found and heard.onset_seconds == 0.0
    assert heard.marks == pytest.approx([0.1, 0.3, 0.1, 0.1], abs=0.02)
    # And the speech follows unchanged after the 1.5 s label
    data = rhythm.riff.data_body(rhythm.riff.chunks(labelled.audio))
    assert data[round(rhythm.LABEL_SECONDS * rate) * 2 :] == sample_speech(rate)[: rate * 4]


def test_the_rhythm_is_absent_when_the_policy_turns_it_off() -> None:
    speech = wav_file(16000, sample_speech(16000, "00002"))
    labelled = label_speech(speech, "wav", 16000, CONTEXT, None, OFF)
    assert not labelled.explicit and not rhythm.detect_wav(labelled.audio).found
    pcm = label_speech(sample_speech(16000, "00003"), "pcm", 16000, CONTEXT, None, OFF)
    assert not rhythm.detect_pcm(pcm.audio, 16000).found


@pytest.mark.parametrize(("width", "channels", "tag"), [(1, 1, 1), (3, 2, 1), (4, 2, 1), (4, 1, 3)])
def test_wav_of_other_sample_formats_gets_the_rhythm_in_its_own_format(
    width: int, channels: int, tag: int
) -> None:
    # Given a WAV of 8-bit, 24-bit stereo, 32-bit stereo or float samples (digital silence)
    rate, frames = 22050, 22050
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * width * channels, width * channels, width * 8)
    body = b"fmt " + struct.pack("<I", 16) + fmt
    silence = (b"\x80" if width == 1 else b"\x00" * width) * channels * frames
    body += b"data" + struct.pack("<I", len(silence)) + silence
    wav = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    # When labelled, then the data grew by whole frames of the label and the rhythm is heard
    labelled = label_speech(wav, "wav", rate, CONTEXT, None, ON).audio
    data = rhythm.riff.data_body(rhythm.riff.chunks(labelled))
    assert len(data) - len(silence) == round(rhythm.LABEL_SECONDS * rate) * width * channels
    assert rhythm.detect_wav(labelled).found


def test_pcm_speech_starts_with_the_rhythm() -> None:
    pcm = sample_speech(8000)[:16000]
    labelled = label_speech(pcm, "pcm", 8000, CONTEXT, None, ON)
    assert labelled.audio.endswith(pcm)
    assert rhythm.detect_pcm(labelled.audio, 8000).found and labelled.explicit


@pytest.mark.parametrize("rate", MP3_RATES)
def test_mp3_speech_gets_the_rhythm_frames_and_decodes_cleanly(rate: int) -> None:
    # Given a vendor's MP3 speech (LAME, with its Info frame), not labelled
    speech = encode(sample_speech(rate)[: rate * 3], rate, "mp3")
    assert not heard_in_mp3(speech, rate).found
    # When labelled
    labelled = label_speech(speech, "mp3", rate, CONTEXT, None, ON).audio
    # Then FFmpeg decodes it without a warning, and hears the rhythm
    with av.logging.Capture() as logs:
        pcm, _ = decode_pcm16(labelled, rate)
    assert [entry for entry in logs if entry[0] <= av.logging.WARNING] == []
    heard = rhythm.detect_pcm(pcm, rate)
    assert heard.found and heard.marks == pytest.approx([0.1, 0.3, 0.1, 0.1], abs=0.03)
    # And after the label's frames the speech decodes sample for sample as it did alone: no glitch at the join
    frames = audio_frames(speech)
    alone, _ = decode_pcm16(speech[frames[1].offset :] if is_info_frame(speech, frames[0]) else speech, rate)
    label_samples = sum(frame.samples for frame in audio_frames(rhythm.mp3_label_frames(rate, 1)))
    assert pcm[label_samples * 2 :] == alone
    # And the Xing frame states the whole length: the container's duration is the decoded one
    with av.open(io.BytesIO(labelled)) as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(len(pcm) / 2 / rate, abs=0.001)


def test_stereo_mp3_gets_stereo_rhythm_frames() -> None:
    speech = encode(sample_speech(16000)[:32000], 16000, "mp3", channels=2)
    labelled = label_speech(speech, "mp3", 16000, CONTEXT, None, ON).audio
    assert rhythm.mp3_has_label(labelled) and heard_in_mp3(labelled, 16000).found


def test_an_mp3_rate_without_rhythm_frames_is_refused() -> None:
    # Given a rate no vendor speaks (so no frames were made for it)
    assert 32000 not in MP3_RATES
    speech = encode(sample_speech(16000)[:32000], 16000, "mp3", out_rate=32000)
    with pytest.raises(rhythm.LabelError) as refused:
        label_speech(speech, "mp3", 32000, CONTEXT, None, ON)
    assert refused.value.code == "NoRhythmFrames"


def test_the_committed_mp3_frames_are_what_the_script_makes_for_every_vendor_rate() -> None:
    # Given the script that makes the frames (`make rhythm`), loaded as it runs
    spec = importlib.util.spec_from_file_location("make_rhythm_mp3", REPO / "scripts" / "make_rhythm_mp3.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # Then it covers every rate a vendor speaks MP3 at, and the committed frames are what it encodes
    assert script.vendor_mp3_rates() == MP3_RATES
    for rate in MP3_RATES:
        for channels in script.CHANNELS:
            assert rhythm.asset_path(rate, channels).read_bytes() == script.encode(rate, channels), (
                rate,
                channels,
            )


def test_the_label_is_the_morse_for_ai_in_our_timing() -> None:
    samples = rhythm.waveform(16000)
    assert len(samples) == round(rhythm.LABEL_SECONDS * 16000) == 24000
    marks = [units for on, units in rhythm.PATTERN_UNITS if on]
    assert marks == [1, 3, 1, 1]
    assert max(abs(s) for s in samples) == pytest.approx(rhythm.PEAK, rel=1e-3)
    assert array("h", rhythm.label_pcm(16000))[-6400:] == array("h", bytes(12800))  # 400 ms of silence last
