"""decode_pcm16 and encode against references made apart from them: the standard library's wave, PyAV.

Lengths no frame size divides, so a decoder that took a frame's padding for samples would show; a
file whose first stream is video, and one with no audio at all; the error's words.
"""

from __future__ import annotations

import io
import math
import wave
from array import array
from fractions import Fraction

import av
import pytest
from voiceclone.domain.audio_decode import DecodeError, decode_pcm16, encode

# 12 345 samples: no multiple of any codec's or muxer's frame
TONE = array("h", (int(8000 * math.sin(i / 5)) for i in range(12_345)))


def stdlib_wav(samples: array[int], rate: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buffer.getvalue()


def stdlib_frames(data: bytes) -> tuple[int, int, array[int]]:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 2
        return w.getnchannels(), w.getframerate(), array("h", w.readframes(w.getnframes()))


def movie(with_audio: bool) -> bytes:
    """A Matroska file whose first stream is a few frames of video, then (or not) a second of TONE."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        video = container.add_stream("ffv1", rate=10)
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = 16, 16, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=16000, layout="mono") if with_audio else None
        for index in range(5):
            picture = av.VideoFrame(16, 16, "yuv420p")
            picture.pts, picture.time_base = index, Fraction(1, 10)
            for packet in video.encode(picture):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            assert isinstance(audio, av.AudioStream)
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(TONE))
            frame.planes[0].update(TONE.tobytes())
            frame.sample_rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
            for packet in [*audio.encode(frame), *audio.encode(None)]:
                container.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize("channels", [1, 2])
def test_a_wav_at_the_rate_asked_decodes_to_exactly_its_samples(channels: int) -> None:
    interleaved = array("h", (s for s in TONE for _ in range(channels)))
    pcm, _ = decode_pcm16(stdlib_wav(interleaved, 16000, channels), 16000)
    assert array("h", pcm) == TONE  # not a sample more (no frame's padding), none changed


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_a_wav_decoded_at_another_rate_holds_as_many_samples_as_its_seconds_take(rate: int) -> None:
    # The resampler holds the last few samples back until it is flushed: they count, its padding not
    pcm, _ = decode_pcm16(stdlib_wav(TONE, 16000, 1), rate)
    assert len(pcm) % 2 == 0
    assert abs(len(pcm) // 2 - math.ceil(len(TONE) * rate / 16000)) <= 2


def test_the_audio_of_a_file_whose_first_stream_is_video_is_decoded() -> None:
    pcm, described = decode_pcm16(movie(with_audio=True), 16000)
    assert described == "matroska/pcm_s16le, 16000 Hz, 1 channel"
    assert array("h", pcm) == TONE


def test_a_file_without_audio_says_so() -> None:
    with pytest.raises(DecodeError) as refused:
        decode_pcm16(movie(with_audio=False), 16000)
    assert str(refused.value) == "the file holds no audio stream"


def test_what_ffmpeg_cannot_read_is_named_by_ffmpegs_error() -> None:
    with pytest.raises(DecodeError) as refused:
        decode_pcm16(b"\x00" * 10, 16000)
    assert str(refused.value) == "FFmpeg cannot read it (InvalidDataError)"
    assert isinstance(refused.value.__cause__, av.error.InvalidDataError)


def test_a_wav_encoded_at_its_own_rate_holds_exactly_the_samples() -> None:
    assert stdlib_frames(encode(TONE.tobytes(), 16000, "wav")) == (1, 16000, TONE)


def test_a_stereo_wav_holds_the_samples_in_both_channels_at_the_upmixs_level() -> None:
    channels, rate, frames = stdlib_frames(encode(TONE.tobytes(), 16000, "wav", channels=2))
    assert (channels, rate) == (2, 16000)
    assert frames[0::2] == frames[1::2]
    # FFmpeg's resampler puts a mono (centre) channel into left and right at -3 dB each
    assert len(frames) // 2 == len(TONE)
    assert max(abs(left - s * math.sqrt(0.5)) for left, s in zip(frames[0::2], TONE, strict=True)) <= 1


def test_a_wav_encoded_at_another_rate_lasts_as_long() -> None:
    for rate in (8000, 44100):
        channels, got_rate, frames = stdlib_frames(encode(TONE.tobytes(), 16000, "wav", out_rate=rate))
        assert (channels, got_rate) == (1, rate)
        assert abs(len(frames) - len(TONE) * rate / 16000) <= 64  # the resampler's filter at the edges
