"""Decode any accepted recording format to 16-bit mono PCM at a vendor's rate (and encode, for tests).

PyAV (FFmpeg's libraries, bundled in its wheels) is bound lazily (voiceclone.lazy): only the code
that converts audio pays its ~0.3-0.5 s import, and a 16-bit PCM mono WAV at the right rate never
reaches FFmpeg at all (:func:`voiceclone.domain.recording.inspect_recording`).
"""

from __future__ import annotations

import io
import sys
from array import array
from fractions import Fraction
from typing import TYPE_CHECKING

from voiceclone.lazy import lazy_module

if TYPE_CHECKING:
    import av
else:  # FFmpeg: bound now, loaded by the first conversion
    av = lazy_module("av")

# What a client may upload: extension -> the content type its form sends. WAV stays the fast path.
ACCEPTED_FORMATS: dict[str, str] = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
}
ACCEPTED_LIST = "WAV (any rate, 8-32 bit, mono or stereo), MP3, M4A/AAC, FLAC, OGG/Opus, WebM/Opus"


def extension_of(content_type: str) -> str | None:
    """The accepted format a Content-Type names (``audio/x-wav`` is WAV too); None when none."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("audio/x-wav", "audio/wave", "audio/vnd.wave"):
        return "wav"
    return next((ext for ext, known in ACCEPTED_FORMATS.items() if known == kind), None)


class DecodeError(ValueError):
    """The bytes are no audio FFmpeg can read (or hold no audio stream)."""


def decode_pcm16(data: bytes, sample_rate: int) -> tuple[bytes, str]:
    """(16-bit little-endian mono PCM at `sample_rate`, a short description of the original).

    Downmixes and resamples with FFmpeg's resampler (swresample), as every frame is decoded.
    """
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise DecodeError("the file holds no audio stream")
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            described = (
                f"{container.format.name.split(',')[0]}/{ctx.name}, {ctx.sample_rate} Hz, "
                f"{ctx.channels} channel{'s' if ctx.channels != 1 else ''}"
            )
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            out = bytearray()
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    out += bytes(converted.planes[0])[: converted.samples * 2]
            for converted in resampler.resample(None):
                out += bytes(converted.planes[0])[: converted.samples * 2]
    except DecodeError:
        raise
    except (av.error.FFmpegError, StopIteration, ValueError, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(f"FFmpeg cannot read it ({type(exc).__name__})") from exc
    if sys.byteorder == "big":  # s16 is native-endian; WAV wants little-endian
        samples = array("h", bytes(out))
        samples.byteswap()
        return samples.tobytes(), described
    return bytes(out), described


# Container and codec for each format :func:`encode` writes (the tests and the benchmark make their
# recordings with these; the service itself only decodes).
_ENCODERS: dict[str, tuple[str, str, int | None]] = {
    "wav": ("wav", "pcm_s16le", None),
    "mp3": ("mp3", "libmp3lame", 64000),
    "m4a": ("ipod", "aac", 64000),
    "aac": ("adts", "aac", 64000),
    "flac": ("flac", "flac", None),
    "ogg": ("ogg", "libopus", 48000),
    "opus": ("ogg", "libopus", 48000),
    "webm": ("webm", "libopus", 48000),
}


def encode(
    pcm: bytes, sample_rate: int, fmt: str, *, out_rate: int | None = None, channels: int = 1
) -> bytes:
    """16-bit mono PCM encoded as `fmt` (a key of ACCEPTED_FORMATS), resampled to `out_rate`, with
    `channels` identical channels: recordings as phones, browsers and editors make them."""
    container_format, codec, bit_rate = _ENCODERS[fmt]
    rate = out_rate or sample_rate
    if codec == "libopus":
        rate = 48000  # Opus runs at 48 kHz
    layout = "mono" if channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.format.name, layout=layout, rate=rate)
        step = sample_rate // 10  # 100 ms frames in
        for start in range(0, len(pcm) // 2, step):
            chunk = pcm[start * 2 : (start + step) * 2]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
            frame.planes[0].update(chunk)
            frame.sample_rate = sample_rate
            # Timestamps from the samples: without them the resampler guesses, and the MP4 muxer
            # refuses the AAC packets of some lengths (EINVAL) as out of order.
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    container.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
