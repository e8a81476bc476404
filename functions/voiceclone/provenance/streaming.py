"""Labels on audio sent while it is made: the bytes that go out ahead of the first chunk of speech.

A stream is not a file yet, so it carries what can be known before its audio: the explicit label
(the rhythm is the first audio out, the same samples or MP3 frames :func:`label_speech` puts in
front of a file) and, where the container has a header, the implicit label in it (a WAV's
``AIGC`` chunk between ``fmt `` and ``data``; an ID3v2.4 tag with the ``TXXX:AIGC`` frame before
an MP3's frames). Its ``ReservedCode1`` is empty: the digest of audio not yet made cannot be
written ahead of it. The signed C2PA manifest and the label bound to the audio go on the stored
copy, labelled whole by :func:`voiceclone.provenance.label_speech` once the stream has ended.
"""

from __future__ import annotations

import struct

from voiceclone.domain.base import BaseModel
from voiceclone.provenance import id3, mpeg, rhythm, riff
from voiceclone.provenance.aigc import AIGC_KEY, AigcLabel, aigc_value
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat, LabelPolicy, SpeechContext

# The samples a stream's WAV and PCM carry: 16-bit signed little-endian mono, as the vendors stream them.
_SAMPLE_WIDTH, _CHANNELS = 2, 1


class StreamLabels(BaseModel):
    """What a stream carries of its labels, and the bytes that go out before its speech."""

    format: AudioFormat
    sample_rate: int
    # The container's header holding the implicit label (b"" for raw PCM, which has none).
    header: bytes
    # The explicit label as the stream's audio (b"" when the policy leaves it out).
    rhythm: bytes
    label: AigcLabel
    # The AIGC string as written into the header; for PCM the value to send beside the audio.
    aigc_value: str
    # False for PCM: the implicit label is not in the bytes, the caller sends ``aigc_value`` along.
    label_in_file: bool

    @property
    def prefix(self) -> bytes:
        """Everything ahead of the speech's first byte: the header, then the rhythm."""
        return self.header + self.rhythm

    def check_speech(self, first: bytes) -> None:
        """LabelError unless the speech's first MP3 frame can follow the label's frames (same rate and
        channel mode: the stored copy gets the frames matching its speech, and they must be these)."""
        if self.format != "mp3" or not self.rhythm:
            return
        found = mpeg.parse_header(first, 0)
        if found is None or (found.sample_rate, found.channels) != (self.sample_rate, _CHANNELS):
            heard = f"{found.sample_rate} Hz, {found.channels} channel(s)" if found else "no MP3 frame"
            raise LabelError(
                "UnsupportedAudio",
                f"the streamed MP3 starts with {heard}, not the {self.sample_rate} Hz mono frames "
                "its explicit label was sent in",
            )


def stream_labels(
    fmt: AudioFormat, sample_rate: int, context: SpeechContext, policy: LabelPolicy
) -> StreamLabels:
    """The labels of a stream of ``fmt`` (16-bit mono PCM, WAV or MP3 at ``sample_rate``), as the
    policy says; LabelError PcmNotLabelled for raw PCM where the policy refuses it."""
    if fmt == "pcm" and policy.pcm == "refuse":
        raise LabelError(
            "PcmNotLabelled",
            "raw PCM cannot carry the implicit label or a C2PA manifest: ask for WAV or MP3",
        )
    label = AigcLabel(Label="1", ContentProducer=policy.content_producer, ProduceID=context.speech_id)
    value = aigc_value(label)
    return StreamLabels(
        format=fmt,
        sample_rate=sample_rate,
        header=_header(fmt, sample_rate, value),
        rhythm=_rhythm(fmt, sample_rate) if policy.explicit else b"",
        label=label,
        aigc_value=value,
        label_in_file=fmt != "pcm",
    )


def _header(fmt: AudioFormat, sample_rate: int, value: str) -> bytes:
    if fmt == "wav":
        return streamed_wav_header(sample_rate, value)
    if fmt == "mp3":
        return id3.write_txxx(b"", AIGC_KEY, value)
    return b""


def _rhythm(fmt: AudioFormat, sample_rate: int) -> bytes:
    if fmt == "mp3":
        return rhythm.mp3_label_frames(sample_rate, _CHANNELS)
    return rhythm.label_pcm(sample_rate, _SAMPLE_WIDTH, _CHANNELS)


def streamed_wav_header(sample_rate: int, aigc: str) -> bytes:
    """The one header of a streamed WAV of 16-bit mono PCM: ``fmt ``, the ``AIGC`` chunk, then the
    ``data`` chunk's header; the RIFF and data sizes unknown (``riff.UNKNOWN_SIZE``: to the end)."""
    fmt = struct.pack("<HHIIHH", riff.FORMAT_PCM, _CHANNELS, sample_rate, sample_rate * _SAMPLE_WIDTH,
                      _SAMPLE_WIDTH * _CHANNELS, 8 * _SAMPLE_WIDTH)  # fmt: skip
    parts = [
        riff.Chunk(b"fmt ", fmt),
        riff.Chunk(AIGC_KEY.encode(), aigc.encode("ascii")),
        riff.Chunk(b"data", b""),
    ]
    header = bytearray(riff.build(parts))
    unknown = struct.pack("<I", riff.UNKNOWN_SIZE)
    header[4:8] = unknown
    header[-4:] = unknown
    return bytes(header)
