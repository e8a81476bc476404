"""What a stream carries of the labels ahead of its audio, and that the stored copy is the same audio.

The header is read by independent readers (mutagen's RIFF and ID3 readers, the standard library's
``wave``, FFmpeg through PyAV); the stored copy is made by ``label_speech`` from the speech alone,
as the stream function makes it when the stream ends.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from array import array

import av
import mutagen.id3
import pytest
from mutagen._riff import RiffFile
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import encode
from voiceclone.provenance import (
    LabelError,
    LabelPolicy,
    SpeechContext,
    label_speech,
    rhythm,
    stream_labels,
    verify,
)
from voiceclone.vendors.speech import Mp3StreamFrames, mp3_frames_only

from tests.helpers import sample_speech

CONTEXT = SpeechContext(
    speech_id="sp-" + "7a" * 16, voice_id="vo-1", vendor="volcengine", tenant_id="tenant-a"
)
POLICY = LabelPolicy(content_producer="voiceclone-test", sign=False)


def walk(data: bytes) -> list[tuple[bytes, int, bytes]]:
    """(id, declared size, body) of each chunk, walked here with struct; a size past the end runs to it."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    found, pos = [], 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        found.append((chunk_id, size, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return found


def decoded(mp3: bytes) -> array[int]:
    """An MP3's samples as FFmpeg decodes them (16-bit mono)."""
    samples: array[int] = array("h")
    with av.open(io.BytesIO(mp3)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=container.streams.audio[0].rate)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.extend(array("h", bytes(out.planes[0]))[: out.samples])
    return samples


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_streamed_wav_has_one_header_with_the_label_then_the_rhythm_then_runs_to_the_end(rate: int) -> None:
    speech = sample_speech(rate)[: rate * 2]
    labels = stream_labels("wav", rate, CONTEXT, POLICY)
    streamed = labels.prefix + speech
    # One header: fmt, the AIGC chunk, then the data chunk, whose length (and the RIFF's) is unknown
    assert streamed.count(b"RIFF") == 1 and streamed[4:8] == b"\xff\xff\xff\xff"
    assert [(cid, size) for cid, size, _ in walk(streamed)][::2] == [(b"fmt ", 16), (b"data", 0xFFFFFFFF)]
    assert walk(streamed)[1][0] == b"AIGC"
    # mutagen reads the label: the producer and the speech, no digest (the audio was not made yet)
    label = json.loads(RiffFile(io.BytesIO(streamed))["AIGC"].read().decode("ascii"))["AIGC"]
    assert (label["Label"], label["ContentProducer"], label["ProduceID"]) == (
        "1",
        "voiceclone-test",
        CONTEXT.speech_id,
    )
    assert label["ReservedCode1"] == ""
    # wave reads the rate and every sample to the end: the rhythm first, then the speech
    with wave.open(io.BytesIO(streamed)) as read:
        assert (read.getframerate(), read.getnchannels(), read.getsampwidth()) == (rate, 1, 2)
        samples = read.readframes(read.getnframes())
    assert samples == labels.rhythm + speech
    assert rhythm.detect_pcm(samples, rate).found
    # And the stored copy, labelled whole from the speech alone, holds exactly these samples
    stored = label_speech(wav_file(rate, speech), "wav", rate, CONTEXT, None, POLICY)
    assert dict((cid, body) for cid, _, body in walk(stored.audio))[b"data"] == samples


@pytest.mark.parametrize("rate", [16000, 24000])
def test_a_streamed_mp3_has_an_id3_tag_with_the_label_then_the_rhythms_frames(rate: int) -> None:
    # Given a vendor's MP3 as it streams it (its own tag and Info frame in front), handed on frame by frame
    vendor_mp3 = encode(sample_speech(rate)[: rate * 2], rate, "mp3")
    frames = Mp3StreamFrames().feed(vendor_mp3)
    labels = stream_labels("mp3", rate, CONTEXT, POLICY)
    labels.check_speech(frames)
    streamed = labels.prefix + frames
    # mutagen reads the one label in the ID3 tag at the start
    tag = mutagen.id3.ID3(io.BytesIO(streamed))
    (value,) = [text for frame in tag.getall("TXXX:AIGC") for text in frame.text]
    assert json.loads(value)["AIGC"]["ProduceID"] == CONTEXT.speech_id
    assert streamed[tag.size :] == labels.rhythm + frames
    # The stored copy, labelled whole, holds the same frames, which FFmpeg decodes to the same samples
    stored = label_speech(vendor_mp3, "mp3", rate, CONTEXT, None, POLICY)
    assert mp3_frames_only(stored.audio) == labels.rhythm + frames
    assert decoded(streamed) == decoded(stored.audio)


def test_with_the_rhythm_off_a_stream_still_carries_the_label_in_its_header() -> None:
    quiet = POLICY.model_copy(update={"explicit": False})
    for fmt in ("wav", "mp3"):
        labels = stream_labels(fmt, 16000, CONTEXT, quiet)
        assert labels.rhythm == b"" and labels.prefix == labels.header and b"AIGC" in labels.header


def test_raw_pcm_is_refused_or_its_label_goes_beside_it() -> None:
    with pytest.raises(LabelError) as refused:
        stream_labels("pcm", 16000, CONTEXT, POLICY)
    assert refused.value.code == "PcmNotLabelled"
    beside = stream_labels("pcm", 16000, CONTEXT, POLICY.model_copy(update={"pcm": "header"}))
    assert (beside.header, beside.rhythm, beside.label_in_file) == (b"", rhythm.label_pcm(16000), False)
    assert json.loads(beside.aigc_value)["AIGC"]["ProduceID"] == CONTEXT.speech_id


def test_mp3_speech_that_cannot_follow_the_rhythms_frames_is_refused() -> None:
    labels = stream_labels("mp3", 16000, CONTEXT, POLICY)
    for other in (Mp3StreamFrames().feed(encode(sample_speech(24000)[:48000], 24000, "mp3")), b"not audio"):
        with pytest.raises(LabelError, match="not the 16000 Hz mono frames"):
            labels.check_speech(other)


def test_a_saved_stream_reads_as_labelled_but_unsigned() -> None:
    # A client keeps the stream as it came; checked, it carries the label and the rhythm, no manifest
    # (the stored copy has it), and no mismatch: its label binds no audio
    labels = stream_labels("wav", 16000, CONTEXT, POLICY)
    report = verify(labels.prefix + sample_speech(16000)[:32000], "")
    assert report.explicit_label is True and report.aigc.present and report.aigc.audio_matches is None
    assert report.codes == ["c2pa.missing"]
