"""MP3 streams as frames: where the audio starts and ends, each frame's format, a Xing frame made anew.

The explicit label is MP3 frames put in front of the speech's own, and the AIGC digest covers
the frames: both only need the frame headers (MPEG-1, 2 and 2.5 Layer III), never a decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from voiceclone.provenance.errors import LabelError

# Bit rates (kbit/s) by MPEG-1 or MPEG-2/2.5 Layer III, and sample rates by version bits (3: MPEG-1,
# 2: MPEG-2, 0: MPEG-2.5).
_KBPS = {
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_ID3V1_SIZE = 128


class Frame(NamedTuple):
    offset: int
    length: int
    sample_rate: int
    channels: int
    samples: int
    # Bytes of side information after the header: where a Xing/Info tag starts.
    side_info: int
    kbps: int
    mpeg1: bool


def parse_header(data: bytes, pos: int) -> Frame | None:
    """The Layer III frame at ``pos``; None when there is none (no sync, reserved values)."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    kbps_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or kbps_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    rate = _RATES[version][rate_index]
    kbps = _KBPS[mpeg1][kbps_index]
    channels = 1 if b3 >> 6 == 3 else 2
    side_info = (17 if channels == 1 else 32) if mpeg1 else (9 if channels == 1 else 17)
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + padding
    return Frame(pos, length, rate, channels, 1152 if mpeg1 else 576, side_info, kbps, mpeg1)


def id3v2_end(data: bytes) -> int:
    """Where the audio starts: after every leading ID3v2 tag (0 without one)."""
    pos = 0
    while len(data) >= pos + 10 and data[pos : pos + 3] == b"ID3":
        size = 0
        for byte in data[pos + 6 : pos + 10]:
            size = (size << 7) | (byte & 0x7F)
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    return pos


def audio_span(data: bytes) -> tuple[int, int]:
    """(start, end) of the frames: after the leading ID3v2 tags, before a trailing ID3v1 tag."""
    start = id3v2_end(data)
    end = len(data)
    if end - start >= _ID3V1_SIZE and data[end - _ID3V1_SIZE : end - _ID3V1_SIZE + 3] == b"TAG":
        end -= _ID3V1_SIZE
    return start, end


def frames(data: bytes, start: int, end: int) -> Iterator[Frame]:
    """The frames from ``start``, up to ``end`` or the first bytes that are not a whole frame."""
    pos = start
    while pos < end:
        frame = parse_header(data, pos)
        if frame is None or pos + frame.length > end:
            return
        yield frame
        pos += frame.length


def audio_frames(data: bytes) -> list[Frame]:
    """Every frame of an MP3 file (LabelError when it starts with none)."""
    start, end = audio_span(data)
    found = list(frames(data, start, end))
    if not found:
        raise LabelError("UnsupportedAudio", "no MPEG Layer III frame where the MP3 audio should start")
    return found


def is_info_frame(data: bytes, frame: Frame) -> bool:
    """Whether a frame is an encoder's Xing/Info/VBRI header (no audio; it states one file's length)."""
    tag_at = frame.offset + 4 + frame.side_info
    return (
        data[tag_at : tag_at + 4] in (b"Xing", b"Info")
        or data[frame.offset + 36 : frame.offset + 40] == b"VBRI"
    )


def xing_frame(template: Frame, header: bytes, frame_count: int, byte_count: int) -> bytes:
    """A Xing frame stating the stream's frame and byte counts (``byte_count`` includes this frame).

    Players compute the duration of a stream whose frames change bit rate from it, rather than
    from the first frame's bit rate. ``header`` is the 4-byte header of ``template``, whose bit
    rate gives room enough (no CRC, no padding); the side information is zero, a silent frame.
    """
    head = bytes([header[0], header[1] | 0x01, header[2] & 0xFD, header[3]])
    length = (144 if template.mpeg1 else 72) * template.kbps * 1000 // template.sample_rate
    tag = b"Xing" + struct.pack(">III", 0x3, frame_count, byte_count)
    body = head + bytes(template.side_info) + tag
    if len(body) > length:
        raise LabelError("UnsupportedAudio", "the MP3's bit rate leaves no room for a Xing frame")
    return body + bytes(length - len(body))
