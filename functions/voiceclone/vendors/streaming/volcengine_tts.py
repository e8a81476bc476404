"""Volcengine's WebSocket TTS, binary protocol v1 (``/api/v1/tts/ws_binary``): frames, header, request.

Every frame is a 4-byte header (version and header size, message type and its flags,
serialization and compression, a reserved byte; docs/vendors/volcengine.md, Streaming speech),
then the message's fields, big-endian. The client sends one full request (gzip JSON, as the
official demo does); the server answers with audio-only frames numbered 1, 2, 3..., the last
one numbered negative, or with an error frame carrying a code and a message. The credentials
are the upgrade's ``Authorization: Bearer; <token>`` header.
"""

from __future__ import annotations

import gzip
import json
import struct
from dataclasses import dataclass
from typing import Any

from voiceclone.vendors.errors import ErrorRules
from voiceclone.vendors.http import encode_json
from voiceclone.vendors.streaming.base import Audio, End, Event, Failure, StreamProtocol

LOG_ID_HEADER = "X-Tt-Logid"
PROTOCOL_VERSION = 0b0001
# Message types (high nibble of byte 1).
FULL_CLIENT_REQUEST = 0b0001
AUDIO_ONLY_RESPONSE = 0b1011
FRONTEND_RESPONSE = 0b1100
ERROR_MESSAGE = 0b1111
# Audio-only flags (low nibble of byte 1): no sequence (an acknowledgement), a positive sequence,
# and the two spellings of "negative sequence: the last frame".
NO_SEQUENCE, POSITIVE_SEQUENCE, LAST_FRAME, NEGATIVE_SEQUENCE = 0b0000, 0b0001, 0b0010, 0b0011
# Serialization (high nibble of byte 2) and compression (low nibble).
RAW, JSON = 0b0000, 0b0001
NO_COMPRESSION, GZIP = 0b0000, 0b0001


@dataclass(frozen=True)
class Frame:
    """One received frame, its header read and its message fields taken apart."""

    message_type: int
    flags: int
    serialization: int
    compression: int
    payload: bytes
    sequence: int | None = None
    error_code: int | None = None


def header(message_type: int, flags: int, serialization: int, compression: int) -> bytes:
    """The 4-byte header of a frame without header extensions (header size: one 4-byte word)."""
    return bytes(
        [(PROTOCOL_VERSION << 4) | 1, (message_type << 4) | flags, (serialization << 4) | compression, 0]
    )


def request_frame(body: dict[str, Any], *, compress: bool = True) -> bytes:
    """The full client request: header ``11 10 11 00`` (JSON, gzip), the payload's size, the payload."""
    payload = encode_json(body)
    if compress:
        payload = gzip.compress(payload)
    head = header(FULL_CLIENT_REQUEST, 0, JSON, GZIP if compress else NO_COMPRESSION)
    return head + struct.pack(">I", len(payload)) + payload


def parse_frame(data: bytes) -> Frame:
    """A server frame taken apart; ValueError for bytes that are not one (extensions are skipped)."""
    if len(data) < 4:
        raise ValueError(f"a frame of {len(data)} bytes has no header")
    version, words = data[0] >> 4, data[0] & 0x0F
    if version != PROTOCOL_VERSION or words < 1 or len(data) < words * 4:
        raise ValueError(f"unknown protocol version {version} or header size {words}")
    message_type, flags = data[1] >> 4, data[1] & 0x0F
    serialization, compression = data[2] >> 4, data[2] & 0x0F
    body = data[words * 4 :]
    frame = Frame(message_type, flags, serialization, compression, b"")
    if message_type == AUDIO_ONLY_RESPONSE:
        if flags == NO_SEQUENCE:
            return frame
        sequence, size = _fields(body, ">iI")
        return _sized(frame, body[8:], size, sequence=sequence)
    if message_type == ERROR_MESSAGE:
        code, size = _fields(body, ">II")
        return _sized(frame, body[8:], size, error_code=code)
    if message_type == FRONTEND_RESPONSE:
        (size,) = _fields(body, ">I")
        return _sized(frame, body[4:], size)
    raise ValueError(f"unknown message type {message_type:#06b}")


def _fields(body: bytes, layout: str) -> tuple[int, ...]:
    if len(body) < struct.calcsize(layout):
        raise ValueError("the frame ends inside its fields")
    return struct.unpack_from(layout, body)


def _sized(frame: Frame, rest: bytes, size: int, **fields: int) -> Frame:
    if len(rest) != size:
        raise ValueError(f"the frame says {size} payload bytes and carries {len(rest)}")
    # Audio is raw whatever the compression nibble says: the demo writes it to the file as it comes.
    payload = (
        gzip.decompress(rest)
        if frame.compression == GZIP and frame.message_type != AUDIO_ONLY_RESPONSE
        else rest
    )
    return Frame(frame.message_type, frame.flags, frame.serialization, frame.compression, payload, **fields)


def error_text(payload: bytes) -> str:
    """An error frame's message: its ``message`` field when it is JSON, else the text itself."""
    text = payload.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return str(value.get("message") or text) if isinstance(value, dict) else text


class VolcengineStreamProtocol(StreamProtocol):
    """One ``ws_binary`` call: the request sent once connected, audio until the negative sequence."""

    vendor_id = "volcengine"
    request_id_headers = (LOG_ID_HEADER,)

    def __init__(self, endpoint: str, *, access_token: str, body: dict[str, Any], rules: ErrorRules) -> None:
        super().__init__(endpoint)
        self._access_token = access_token
        self._body = body
        # The WebSocket answers with the HTTP TTS's codes (3001, 3003, 3050...): the adapter's table.
        self.rules = rules

    def url(self) -> str:
        return self.endpoint

    def headers(self) -> dict[str, str]:
        # "Bearer; token", a semicolon and one space, as the WebSocket doc and the official demo write it.
        return {"Authorization": f"Bearer; {self._access_token}"}

    def opening(self) -> list[str | bytes]:
        return [request_frame(self._body)]

    def read(self, message: str | bytes) -> Event | None:
        if isinstance(message, str):
            raise self.unavailable(
                "BadFrame", "Volcengine sent a text frame; the protocol has binary frames only"
            )
        try:
            frame = parse_frame(message)
        except (ValueError, OSError, EOFError) as exc:  # gzip's errors are OSError / EOFError
            raise self.unavailable(
                "BadFrame", f"Volcengine sent a frame that cannot be read: {exc}"
            ) from None
        if frame.message_type == ERROR_MESSAGE:
            return Failure(str(frame.error_code), error_text(frame.payload))
        if frame.message_type != AUDIO_ONLY_RESPONSE or frame.sequence is None:
            return None  # an acknowledgement without audio, or the front end's timing
        if frame.sequence < 0:
            return End(frame.payload)
        return Audio(frame.payload)
