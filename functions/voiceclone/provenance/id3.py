"""ID3v2 tags at the head of an MP3: read and write one ``TXXX`` frame, keep every other frame as it is.

GB 45438's audio guidance puts the implicit label of an MP3 in a ``TXXX`` frame whose
description is ``AIGC``. A file gets exactly one: writing removes any earlier AIGC frame
(from every leading tag) and adds the new one to the first tag, whose other frames are
kept byte for byte. A file without a tag gets an ID3v2.4 tag; an ID3v2.3 tag stays v2.3
(its frames are not converted), with the frame written in v2.3's layout.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from voiceclone.provenance.errors import LabelError

_HEADER = 10
_UNSYNC, _EXTENDED, _FOOTER = 0x80, 0x40, 0x10
# Frame flags (second byte): v2.4 compression, encryption, unsynchronisation, data length indicator;
# v2.3 compression, encryption, grouping.
_V24_COMPRESSED, _V24_ENCRYPTED, _V24_UNSYNC, _V24_LENGTH = 0x08, 0x04, 0x02, 0x01
_V23_COMPRESSED, _V23_ENCRYPTED, _V23_GROUPED = 0x80, 0x40, 0x20


class Frame(NamedTuple):
    frame_id: bytes
    raw: bytes  # the whole frame, header included, as found
    body: bytes  # its content, undone of unsynchronisation and compression (b"" if encrypted)


class Tag(NamedTuple):
    version: int  # 3 or 4
    frames: list[Frame]


def _syncsafe(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
    return value


def _to_syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _resync(data: bytes) -> bytes:
    return data.replace(b"\xff\x00", b"\xff")


def leading_tags(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each ID3v2 tag at the head of the file, in order."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while len(data) >= pos + _HEADER and data[pos : pos + 3] == b"ID3":
        end = (
            pos + _HEADER + _syncsafe(data[pos + 6 : pos + 10]) + (_HEADER if data[pos + 5] & _FOOTER else 0)
        )
        spans.append((pos, min(end, len(data))))
        pos = end
    return spans


def parse(tag: bytes) -> Tag:
    """The frames of one ID3v2.3 or v2.4 tag (LabelError for v2.2 and other versions)."""
    version, flags = tag[3], tag[5]
    if version not in (3, 4):
        raise LabelError("UnsupportedAudio", f"ID3v2.{version} tags are not supported (v2.3 and v2.4 are)")
    size = _syncsafe(tag[6:10])
    body = tag[_HEADER : _HEADER + size]
    if version == 3 and flags & _UNSYNC:
        body = _resync(body)
    pos = 0
    if flags & _EXTENDED and len(body) >= 4:
        ext = _syncsafe(body[:4]) if version == 4 else struct.unpack(">I", body[:4])[0] + 4
        pos = ext
    found: list[Frame] = []
    while pos + _HEADER <= len(body) and body[pos] != 0:
        frame_id = body[pos : pos + 4]
        raw_size = body[pos + 4 : pos + 8]
        size = _syncsafe(raw_size) if version == 4 else struct.unpack(">I", raw_size)[0]
        end = pos + _HEADER + size
        if end > len(body):
            break
        found.append(
            Frame(frame_id, body[pos:end], _content(version, body[pos + 8 : pos + 10], body[pos + 10 : end]))
        )
        pos = end
    return Tag(version, found)


def _content(version: int, flags: bytes, data: bytes) -> bytes:
    """A frame's content with its transformations undone (b"" when it is encrypted)."""
    second = flags[1]
    if version == 4:
        if second & _V24_ENCRYPTED:
            return b""
        if second & _V24_LENGTH:
            data = data[4:]
        if second & _V24_UNSYNC:
            data = _resync(data)
        compressed = bool(second & _V24_COMPRESSED)
    else:
        if second & _V23_ENCRYPTED:
            return b""
        if second & _V23_COMPRESSED:
            data = data[4:]
        if second & _V23_GROUPED:
            data = data[1:]
        compressed = bool(second & _V23_COMPRESSED)
    if compressed:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return b""
    return data


def txxx(body: bytes) -> tuple[str, str] | None:
    """(description, value) of a TXXX frame's content; None when it cannot be read."""
    if not body:
        return None
    encoding, rest = body[0], body[1:]
    codec, terminator = {0: ("latin-1", b"\x00"), 1: ("utf-16", b"\x00\x00"), 2: ("utf-16-be", b"\x00\x00"),
                         3: ("utf-8", b"\x00")}.get(encoding, ("", b""))  # fmt: skip
    if not codec:
        return None
    step = len(terminator)
    cut = next((i for i in range(0, len(rest) - step + 1, step) if rest[i : i + step] == terminator), -1)
    if cut < 0:
        return None
    try:
        description = rest[:cut].decode(codec)
        value = rest[cut + step :].decode(codec)
    except UnicodeDecodeError:
        return None
    return description, value.rstrip("\x00")


def read_txxx(data: bytes, description: str) -> list[str]:
    """The values of every TXXX frame named ``description`` (case-insensitive) in the leading tags."""
    values: list[str] = []
    for start, end in leading_tags(data):
        try:
            tag = parse(data[start:end])
        except LabelError:
            continue
        for frame in tag.frames:
            if frame.frame_id == b"TXXX":
                parsed = txxx(frame.body)
                if parsed and parsed[0].strip().upper() == description.upper():
                    values.append(parsed[1])
    return values


def _txxx_frame(version: int, description: str, value: str) -> bytes:
    # v2.4 text is UTF-8 (encoding 3); v2.3 has no UTF-8, and the label's ASCII is the same in Latin-1.
    encoding, codec = (3, "utf-8") if version == 4 else (0, "latin-1")
    content = bytes([encoding]) + description.encode(codec) + b"\x00" + value.encode(codec)
    size = _to_syncsafe(len(content)) if version == 4 else struct.pack(">I", len(content))
    return b"TXXX" + size + b"\x00\x00" + content


def _tag(version: int, frames: list[bytes]) -> bytes:
    body = b"".join(frames)
    return b"ID3" + bytes([version, 0, 0]) + _to_syncsafe(len(body)) + body


def write_txxx(data: bytes, description: str, value: str) -> bytes:
    """The file with exactly one TXXX ``description`` frame, holding ``value``; every other frame kept.

    Rebuilt tags have no extended header (its CRC would no longer hold), no footer and no padding.
    """
    spans = leading_tags(data)
    tags = [parse(data[start:end]) for start, end in spans]
    version = tags[0].version if tags else 4
    rebuilt: list[bytes] = []
    for index, tag in enumerate(tags or [Tag(4, [])]):
        kept = [f.raw for f in tag.frames if not _is_named_txxx(f, description)]
        if index == 0:
            kept.append(_txxx_frame(version, description, value))
        rebuilt.append(_tag(tag.version, kept))
    audio_start = spans[-1][1] if spans else 0
    return b"".join(rebuilt) + data[audio_start:]


def _is_named_txxx(frame: Frame, description: str) -> bool:
    if frame.frame_id != b"TXXX":
        return False
    parsed = txxx(frame.body)
    return parsed is not None and parsed[0].strip().upper() == description.upper()
