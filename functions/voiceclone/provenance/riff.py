"""WAV files as RIFF chunks: walked, read and rewritten without decoding a sample.

The implicit label is a chunk of its own (ID ``AIGC``), the explicit one goes at the head of
the ``data`` chunk, and C2PA appends a ``C2PA`` chunk: each is a change to the chunk list, so
the file is taken apart into chunks and put back together with sizes recomputed.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from voiceclone.provenance.errors import LabelError

# WAVE_FORMAT_EXTENSIBLE carries the real format tag in its SubFormat GUID.
_EXTENSIBLE = 0xFFFE
FORMAT_PCM, FORMAT_FLOAT = 0x0001, 0x0003
# The size a streamed WAV declares for its RIFF and data chunks: unknown, which readers take as "the
# data runs to the end of the file" (the convention of streamed WAV).
UNKNOWN_SIZE = 0xFFFFFFFF


class Chunk(NamedTuple):
    chunk_id: bytes
    body: bytes


class WavFormat(NamedTuple):
    """What the ``fmt `` chunk says about the samples."""

    tag: int
    channels: int
    sample_rate: int
    sample_width: int  # bytes per sample of one channel


def is_wav(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def chunks(data: bytes) -> list[Chunk]:
    """The chunks after the ``WAVE`` form type, in order.

    A chunk declaring more bytes than the file has (a streamed WAV's ``data`` chunk with an
    unknown length) is taken to run to the end of the file.
    """
    if not is_wav(data):
        raise LabelError("UnsupportedAudio", "not a WAV file (no RIFF/WAVE header)")
    found: list[Chunk] = []
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        body_end = min(len(data), body_start + size)
        found.append(Chunk(chunk_id, data[body_start:body_end]))
        pos = body_end + (size & 1)
    return found


def declared_size(data: bytes, chunk_id: bytes) -> int | None:
    """The size the first ``chunk_id`` chunk declares (a streamed WAV's data: UNKNOWN_SIZE), None if none."""
    pos = 12
    while is_wav(data) and pos + 8 <= len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        if data[pos : pos + 4] == chunk_id:
            return int(size)
        pos += 8 + size + (size & 1)
    return None


def build(parts: list[Chunk]) -> bytes:
    """A RIFF/WAVE file of these chunks, each with its size and its pad byte (odd sizes)."""
    body = bytearray(b"WAVE")
    for chunk_id, chunk_body in parts:
        body += chunk_id + struct.pack("<I", len(chunk_body)) + chunk_body
        if len(chunk_body) & 1:
            body += b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


def find(parts: list[Chunk], chunk_id: bytes) -> Chunk | None:
    return next((c for c in parts if c.chunk_id == chunk_id), None)


def wav_format(parts: list[Chunk]) -> WavFormat:
    """The sample format (LabelError when there is no usable ``fmt `` chunk)."""
    fmt = find(parts, b"fmt ")
    if fmt is None or len(fmt.body) < 16:
        raise LabelError("UnsupportedAudio", "the WAV has no format chunk")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt.body, 0)
    if tag == _EXTENSIBLE and len(fmt.body) >= 26:
        (tag,) = struct.unpack_from("<H", fmt.body, 24)
    if channels == 0 or rate == 0 or bits == 0:
        raise LabelError("UnsupportedAudio", "the WAV's format chunk declares no audio")
    width = block_align // channels if block_align else (bits + 7) // 8
    return WavFormat(tag, channels, rate, width)


def data_body(parts: list[Chunk]) -> bytes:
    """The samples (LabelError without a ``data`` chunk)."""
    data = find(parts, b"data")
    if data is None:
        raise LabelError("UnsupportedAudio", "the WAV has no data chunk")
    return data.body


def replace(parts: list[Chunk], chunk_id: bytes, body: bytes) -> list[Chunk]:
    """The chunks with every ``chunk_id`` chunk replaced by one holding ``body``.

    A new chunk goes right after ``fmt `` (where public AIGC writers put it, and before the
    samples, so a reader that stops at ``data`` still sees it).
    """
    kept = [c for c in parts if c.chunk_id != chunk_id]
    at = next((i + 1 for i, c in enumerate(kept) if c.chunk_id == b"fmt "), len(kept))
    existing = next((i for i, c in enumerate(parts) if c.chunk_id == chunk_id), None)
    if existing is not None:
        at = sum(1 for c in parts[:existing] if c.chunk_id != chunk_id)
    return [*kept[:at], Chunk(chunk_id, body), *kept[at:]]


def with_data(parts: list[Chunk], samples: bytes) -> list[Chunk]:
    """The chunks with the ``data`` chunk's samples replaced."""
    return [Chunk(c.chunk_id, samples) if c.chunk_id == b"data" else c for c in parts]
