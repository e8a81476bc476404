"""Speech with a cloned voice, vendor side: one call's request and result, and long text split and joined.

A vendor takes a limited text per call (Capabilities.speech_text_limit, counted in characters
or UTF-8 bytes as the vendor counts); :func:`split_text` cuts a longer text into parts that
each fit, at the most natural boundary available, and :func:`join_audio` makes one file of
the parts' audio. Pure Python (no FFmpeg): an adapter or the service imports it at no cost.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Literal

from pydantic import Field

from voiceclone.domain.audio import wav_file
from voiceclone.domain.base import BaseModel

SpeechFormat = Literal["wav", "mp3", "pcm"]
TextUnit = Literal["chars", "bytes"]
FORMATS: tuple[SpeechFormat, ...] = ("wav", "mp3", "pcm")

# Where a text may be cut, most natural first: after a sentence (。！？!? … or a full stop
# followed by a space or the end, with closing quotes and the spaces after it; a line break),
# then after a clause (commas, semicolons, colons) or at a space. Failing both, between characters.
_SENTENCE_END = re.compile(r"(?:[。！？!?…]+|\.+(?=[\s\"'”’」』)）]|$))[\"'”’」』)）]*\s*|\n+\s*")
_CLAUSE_END = re.compile(r"[，,、；;：:]+\s*|\s+")
_BOUNDARIES: tuple[re.Pattern[str], ...] = (_SENTENCE_END, _CLAUSE_END)


class SynthesisRequest(BaseModel):
    """One vendor call: text within the vendor's limit, the audio format and rate wanted, the speed."""

    text: str = Field(min_length=1)
    format: SpeechFormat
    sample_rate: int = Field(gt=0)
    # 1.0 is the voice's natural pace; each adapter maps it to its vendor's scale (and refuses
    # what the vendor cannot do).
    speed: float = Field(default=1.0, gt=0)
    # Where the vendor POSTs when the job ends (async vendors; None: the job is only polled).
    callback_url: str | None = None


class SynthesisResult(BaseModel):
    """The audio one call (or several, joined) produced; ``request_id`` is the vendor's (comma-joined)."""

    audio: bytes
    format: str
    sample_rate: int
    request_id: str = ""

    def duration_seconds(self) -> float:
        """How long the audio plays: from the PCM size (wav, pcm) or the MP3 frames."""
        if self.format == "mp3":
            return sum(frame.samples for frame in _mp3_audio_frames(self.audio)) / self.sample_rate
        pcm = _wav_pcm(self.audio)[1] if self.format == "wav" else self.audio
        return len(pcm) / 2 / self.sample_rate


class SynthesisState(StrEnum):
    """Where one asynchronous vendor job (Capabilities.speech == "async") stands."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SynthesisJob(BaseModel):
    """One asynchronous synthesis job at the vendor: its id, its state, and where its audio is when done.

    ``audio_url`` is the vendor's download address of a finished job (VendorAdapter.synthesis_audio
    fetches it); ``error_code``/``error_message`` are the vendor's own on FAILED.
    """

    job_id: str
    state: SynthesisState = SynthesisState.RUNNING
    vendor_state: str = ""
    audio_url: str = ""
    request_id: str = ""
    error_code: str = ""
    error_message: str = ""


# ----- splitting -------------------------------------------------------------------------------------


def measure(unit: TextUnit) -> Callable[[str], int]:
    """How a vendor counts text: characters, or bytes of UTF-8."""
    if unit == "bytes":
        return lambda text: len(text.encode("utf-8"))
    return len


def split_text(text: str, limit: int, unit: TextUnit) -> list[str]:
    """``text`` in order, in parts of at most ``limit`` (chars or UTF-8 bytes), cut where it reads best.

    Parts are as long as they can be: whole sentences are packed together; a sentence
    longer than the limit is cut after commas or at spaces, and only a clause longer
    than the limit between characters (never inside a character). Nothing is lost or
    added: ``"".join(parts) == text``. An empty text has no parts.
    """
    if limit < 1:
        raise ValueError("the limit must be at least 1")
    size = measure(unit)
    if text and max(size(ch) for ch in set(text)) > limit:
        raise ValueError(f"a single character is longer than the limit of {limit} {unit}")
    return _pack(text, 0, limit, size) if text else []


def _pack(text: str, level: int, limit: int, size: Callable[[str], int]) -> list[str]:
    if size(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return _cut(text, limit, size)
    parts: list[str] = []
    current = ""
    for token in _tokens(text, _BOUNDARIES[level]):
        if size(current + token) <= limit:
            current += token
            continue
        if current:
            parts.append(current)
        if size(token) <= limit:
            current = token
        else:
            *whole, current = _pack(token, level + 1, limit, size)
            parts.extend(whole)
    if current:
        parts.append(current)
    return parts


def _tokens(text: str, boundary: re.Pattern[str]) -> Iterator[str]:
    """The text cut after each boundary (the boundary stays with the text before it)."""
    start = 0
    for match in boundary.finditer(text):
        if match.end() > start:
            yield text[start : match.end()]
            start = match.end()
    if start < len(text):
        yield text[start:]


def _cut(text: str, limit: int, size: Callable[[str], int]) -> list[str]:
    parts: list[str] = []
    current = ""
    for ch in text:
        if current and size(current + ch) > limit:
            parts.append(current)
            current = ""
        current += ch
    if current:
        parts.append(current)
    return parts


# ----- joining ---------------------------------------------------------------------------------------


def join_audio(parts: list[SynthesisResult]) -> SynthesisResult:
    """One file of several calls' audio, in order: PCM concatenated (one WAV header), MP3 frames concatenated.

    Every part must have the same format and sample rate. MP3 tags (ID3) and the Xing/Info
    frame some encoders put first (it states one file's length) are left out, so the
    joined stream is plain frames whose length players count.
    """
    if not parts:
        raise ValueError("nothing to join")
    first = parts[0]
    for part in parts[1:]:
        if (part.format, part.sample_rate) != (first.format, first.sample_rate):
            raise ValueError(
                f"parts differ: {first.format} at {first.sample_rate} Hz, "
                f"{part.format} at {part.sample_rate} Hz"
            )
    request_id = ",".join(dict.fromkeys(p.request_id for p in parts if p.request_id))
    if first.format == "wav":
        pcm = b"".join(_wav_pcm(p.audio, first.sample_rate)[1] for p in parts)
        audio = wav_file(first.sample_rate, pcm)
    elif first.format == "pcm":
        audio = b"".join(p.audio for p in parts)
    elif first.format == "mp3":
        audio = b"".join(mp3_frames_only(p.audio) for p in parts)
    else:
        raise ValueError(f"cannot join {first.format!r} audio")
    return SynthesisResult(
        audio=audio, format=first.format, sample_rate=first.sample_rate, request_id=request_id
    )


def wav_rate(data: bytes) -> int:
    """The sample rate of a 16-bit mono PCM WAV (ValueError for anything else)."""
    return _wav_pcm(data)[0]


def _wav_pcm(data: bytes, expected_rate: int | None = None) -> tuple[int, bytes]:
    """(rate, PCM) of a 16-bit mono PCM WAV; a data size past the end (streamed WAV) means "to the end"."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk_id, chunk_size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt " and chunk_size >= 16:
            encoding, channels, rate = struct.unpack_from("<HHI", data, body)
            bits = struct.unpack_from("<H", data, body + 14)[0]
            if encoding not in (1, 0xFFFE):
                raise ValueError("the WAV is not PCM")
        elif chunk_id == b"data":
            if (channels, bits) != (1, 16):
                raise ValueError("the WAV is not 16-bit mono PCM")
            if expected_rate is not None and rate != expected_rate:
                raise ValueError(f"the WAV is {rate} Hz, not {expected_rate} Hz")
            return rate, data[body : min(len(data), body + chunk_size)]
        pos = body + chunk_size + (chunk_size & 1)
    raise ValueError("the WAV has no data chunk")


# MPEG audio Layer III frame headers: bit rates (kbit/s) by MPEG-1 or MPEG-2/2.5, sample rates by version.
_MP3_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# An ID3v1 tag: the last 128 bytes of an MP3 file, starting "TAG".
ID3V1_SIZE = 128


class _Frame:
    __slots__ = ("length", "offset", "sample_rate", "samples")

    def __init__(self, offset: int, length: int, sample_rate: int, samples: int) -> None:
        self.offset, self.length, self.sample_rate, self.samples = offset, length, sample_rate, samples


def _id3_end(data: bytes) -> int:
    """Where the audio starts after the leading ID3v2 tags, if any (0 without one)."""
    pos = 0
    while len(data) >= pos + 10 and data[pos : pos + 3] == b"ID3":
        pos += _id3v2_size(data[pos : pos + 10])
    return pos


def _id3v2_size(header: bytes) -> int:
    """The whole size of the ID3v2 tag whose 10-byte header this is (its size is syncsafe; a footer)."""
    size = 0
    for byte in header[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if header[5] & 0x10 else 0)


def _mp3_frames(data: bytes) -> Iterator[_Frame]:
    """The Layer III frames of an MP3 stream, after any ID3v2 tag, up to any ID3v1 tag."""
    pos = _id3_end(data)
    end = (
        len(data) - ID3V1_SIZE if len(data) >= ID3V1_SIZE and data[-ID3V1_SIZE:-125] == b"TAG" else len(data)
    )
    while pos < end:
        frame = _frame_at(data, pos, end)
        yield frame
        pos += frame.length


def _frame_at(data: bytes, pos: int, end: int | None = None) -> _Frame:
    """The Layer III frame whose header is at ``pos``, before ``end`` (ValueError when there is none)."""
    if pos + 4 > (len(data) if end is None else end) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        raise ValueError(f"not an MP3 frame at byte {pos}")
    b1, b2 = data[pos + 1], data[pos + 2]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    kbps_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or kbps_index in (0, 15) or rate_index == 3:
        raise ValueError(f"not an MPEG Layer III frame at byte {pos}")
    mpeg1 = version == 3
    rate = _MP3_RATES[version][rate_index]
    kbps = _MP3_KBPS[1 if mpeg1 else 2][kbps_index]
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + padding
    return _Frame(pos, length, rate, 1152 if mpeg1 else 576)


def mp3_frame_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each Layer III frame of an MP3 stream, in order, its tags left out.

    Where audio can be cut so that each piece plays on its own (a stream's chunks end between frames).
    """
    return [(frame.offset, frame.offset + frame.length) for frame in _mp3_frames(data)]


def _is_info_frame(frame: bytes) -> bool:
    """An encoder's Xing/Info frame: no audio, one file's frame and byte counts."""
    return b"Xing" in frame[:64] or b"Info" in frame[:64]


def mp3_frames_only(data: bytes) -> bytes:
    """The audio frames of an MP3 file, without its ID3 tags and without a leading Xing/Info frame."""
    return b"".join(data[f.offset : f.offset + f.length] for f in _mp3_audio_frames(data))


def _mp3_audio_frames(data: bytes) -> list[_Frame]:
    """The frames that carry audio: a leading Xing/Info frame (an encoder's table of contents, which
    decoders play as nothing) left out."""
    frames = list(_mp3_frames(data))
    if frames:
        head = data[frames[0].offset : frames[0].offset + frames[0].length]
        if _is_info_frame(head):
            frames = frames[1:]
    return frames


class Mp3StreamFrames:
    """One vendor stream's MP3 chunks, handed on as whole Layer III frames, as :func:`join_audio` keeps them.

    A vendor's stream may open with an ID3v2 tag and its encoder's Xing/Info frame, and end with an
    ID3v1 tag: the frames of the pieces of a long text are to follow each other as one stream (and
    the frames of the explicit label), so these are left out, as joining whole files leaves them
    out. Chunks may cut a tag or a frame anywhere: what is not whole yet waits for the next chunk,
    and what is still not whole when the stream ends (a frame cut short) is left out. ValueError for
    bytes that are neither a frame nor a tag.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._offset = 0  # bytes of the stream already behind ``_pending`` (for the error's position)
        self._skip = 0  # bytes of a tag still to leave out, in chunks to come
        self._first = True  # no frame seen yet: tags and an Info frame may come

    def feed(self, chunk: bytes) -> bytes:
        """The whole frames ``chunk`` completes, in order (b"" while none is)."""
        data = self._pending + chunk
        out: list[bytes] = []
        pos = min(self._skip, len(data))
        self._skip -= pos
        while pos < len(data):
            if data[pos : pos + 3] == b"TAG"[: len(data) - pos]:  # ID3v1: 128 bytes
                if len(data) - pos < 3:
                    break
                pos, self._skip = self._past(data, pos, ID3V1_SIZE)
                continue
            if self._first and data[pos : pos + 3] == b"ID3"[: len(data) - pos]:
                if len(data) - pos < 10:
                    break
                pos, self._skip = self._past(data, pos, _id3v2_size(data[pos : pos + 10]))
                continue
            if pos + 4 > len(data):
                break
            try:
                frame = _frame_at(data, pos)
            except ValueError:
                raise ValueError(f"not an MP3 frame at byte {self._offset + pos} of the stream") from None
            if pos + frame.length > len(data):
                break
            whole = data[pos : pos + frame.length]
            if not (self._first and _is_info_frame(whole)):
                out.append(whole)
            self._first = False
            pos += frame.length
        self._offset += pos
        self._pending = data[pos:]
        return b"".join(out)

    @staticmethod
    def _past(data: bytes, pos: int, size: int) -> tuple[int, int]:
        """(where the ``size`` bytes from ``pos`` end in ``data``, how many of them are still to come)."""
        end = pos + size
        return min(end, len(data)), max(0, end - len(data))
