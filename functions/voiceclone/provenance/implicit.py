"""The implicit label in the file: written into (and read from) WAV and MP3 metadata.

WAV: a RIFF chunk with ID ``AIGC`` holding the value; MP3: an ID3v2 ``TXXX`` frame with
description ``AIGC`` (the TC260 audio practice guide's placements, docs/labels.md). One label
per file: writing replaces any earlier one. The audio payload that ReservedCode1's digest
covers is the WAV ``data`` chunk and the MP3 frames, both untouched by the metadata written
here and by the C2PA manifest added afterwards.
"""

from __future__ import annotations

from typing import NamedTuple

from voiceclone.provenance import id3, mpeg, riff
from voiceclone.provenance.aigc import AIGC_KEY, AigcLabel, AigcParseError, aigc_value, parse_aigc
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat

_CHUNK_ID = AIGC_KEY.encode()


def sniff(audio: bytes) -> AudioFormat | None:
    """The container the bytes are: WAV (RIFF/WAVE), MP3 (ID3v2 or a Layer III frame), else None."""
    if riff.is_wav(audio):
        return "wav"
    start, _ = mpeg.audio_span(audio)
    if audio[:3] == b"ID3" or mpeg.parse_header(audio, start) is not None:
        return "mp3"
    return None


def payload(audio: bytes, fmt: AudioFormat) -> bytes:
    """The audio itself, without metadata: WAV samples, MP3 frames, PCM as it is."""
    if fmt == "wav":
        return riff.data_body(riff.chunks(audio))
    if fmt == "mp3":
        found = mpeg.audio_frames(audio)
        return audio[found[0].offset : found[-1].offset + found[-1].length]
    return audio


def write_label(audio: bytes, fmt: AudioFormat, label: AigcLabel) -> bytes:
    """The file with ``label`` as its one AIGC label (LabelError for PCM: it has no metadata)."""
    value = aigc_value(label)
    if fmt == "wav":
        return riff.build(riff.replace(_aigc_ids_upper(riff.chunks(audio)), _CHUNK_ID, value.encode("ascii")))
    if fmt == "mp3":
        return id3.write_txxx(audio, AIGC_KEY, value)
    raise LabelError("UnsupportedAudio", f"{fmt} has no metadata to hold the implicit label")


def _aigc_ids_upper(parts: list[riff.Chunk]) -> list[riff.Chunk]:
    """Readers match the label's chunk ID without case: a lower-case ``aigc`` chunk is an old label too."""
    return [riff.Chunk(_CHUNK_ID, c.body) if c.chunk_id.upper() == _CHUNK_ID else c for c in parts]


class FoundLabel(NamedTuple):
    """What a file holds under the AIGC key: how many values, the label, or why it is not one."""

    copies: int
    raw: str | None
    label: AigcLabel | None
    problem: str | None


def read_label(audio: bytes, fmt: AudioFormat) -> FoundLabel:
    """The AIGC label stored in the file (wrapped or bare form); count 0 when there is none."""
    if fmt == "wav":
        values = [
            c.body.decode("utf-8", "replace") for c in riff.chunks(audio) if c.chunk_id.upper() == _CHUNK_ID
        ]
    elif fmt == "mp3":
        values = id3.read_txxx(audio, AIGC_KEY)
    else:
        values = []
    if not values:
        return FoundLabel(0, None, None, None)
    raw = values[0].rstrip("\x00")
    try:
        return FoundLabel(len(values), raw, parse_aigc(raw), None)
    except AigcParseError as exc:
        return FoundLabel(len(values), raw, None, str(exc))
