"""Streaming speech over WebSocket, the same for every vendor: connect, send, read frames, classify, hand on.

A vendor's protocol (one module beside this one) says where to connect and with which
headers, what to send once connected, and what each frame it receives means (frames to send
in answer included: :class:`StreamProtocol`); :func:`open_stream` does the rest the same way
for every vendor: timeouts, a refused upgrade read as the vendor's error, the vendor's error
frames classified by its rules (voiceclone.vendors.errors), and a connection that ends without
the vendor's final frame taken for what it is, a truncated stream (never a short success).

The client is websockets' synchronous one (its own thread reads the socket; no asyncio), told
to hold at most one frame ahead of the reader: what the vendor sends beyond that waits in the
network, so a slow consumer slows the vendor instead of filling memory.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.sync.client import ClientConnection, connect

from voiceclone.domain.errors import TIMEOUT_CODE, VendorAuthError, VendorError, VendorUnavailable
from voiceclone.vendors.errors import ErrorRules, classify

# Audio frames are kilobytes; a frame this large is not audio a vendor sends.
MAX_FRAME_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 5.0
# How long closing waits for the vendor's close frame once the stream is over.
CLOSE_TIMEOUT_SECONDS = 2.0
# websockets logs each handshake's request line at DEBUG, and a signed URL carries its signature:
# its records go to this logger, which passes warnings only.
_WIRE_LOGGER = logging.getLogger("voiceclone.vendors.streaming.wire")
_WIRE_LOGGER.setLevel(logging.WARNING)


@dataclass(frozen=True)
class Audio:
    """Audio the vendor sent, to hand on now."""

    data: bytes


@dataclass(frozen=True)
class End:
    """The vendor's final frame: the speech is complete (with its last audio, where the vendor puts it)."""

    data: bytes = b""


@dataclass(frozen=True)
class Failure:
    """The vendor's error frame: its code and message, classified by the protocol's rules."""

    code: str
    message: str


@dataclass(frozen=True)
class Send:
    """Frames to send now, in order: a protocol whose next request waits for the vendor's answer
    (DashScope takes the text only after it acknowledged the task)."""

    frames: tuple[str | bytes, ...]


Event = Audio | End | Failure | Send


class StreamProtocol(ABC):
    """One call in one vendor's streaming protocol: its address, its opening, the meaning of its frames.

    Made per call (it may keep what the vendor said so far, e.g. its request id). ``rules``
    classify the vendor's error codes; ``request_id_headers`` name the upgrade answer's headers
    that carry the vendor's request id. ``endpoint`` is the configured address, without the
    query a signature adds: what messages may show.
    """

    vendor_id: str
    rules: ErrorRules
    request_id_headers: tuple[str, ...] = ()

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.request_id = ""

    @abstractmethod
    def url(self) -> str:
        """The address to connect to, signed at this moment where the vendor signs it."""

    def headers(self) -> dict[str, str]:
        """Headers of the upgrade request (credentials, where the vendor takes them there)."""
        return {}

    def opening(self) -> list[str | bytes]:
        """The frames sent once connected, in order (the request, where it is not in the URL)."""
        return []

    @abstractmethod
    def read(self, message: str | bytes) -> Event | None:
        """What one received frame means; None for a frame with neither audio nor an outcome.

        ``Send`` answers a frame with frames of the client's (a request the vendor takes only
        after it acknowledged the last one); the stream then goes on reading.
        """

    def refusal(self, status: int, body: bytes) -> tuple[str, str]:
        """The vendor's (code, message) in the body of a refused upgrade: a JSON ``code``/``message``."""
        try:
            value = json.loads(body)
        except ValueError:
            return "", ""
        if not isinstance(value, dict):
            return "", ""
        code = value.get("code")
        return ("" if code is None else str(code)), str(value.get("message") or "")

    def error(self, code: str, message: str, *, status: int = 200, raw_text: str = "") -> VendorError:
        """The taxonomy's error for what the vendor said (``status``: the refused upgrade's, if any)."""
        return classify(
            self.vendor_id,
            self.rules,
            status=status,
            code=code,
            message=message,
            raw_text=raw_text,
            request_id=self.request_id or None,
        )

    def unavailable(self, code: str, message: str) -> VendorUnavailable:
        details: dict[str, Any] = {"request_id": self.request_id} if self.request_id else {}
        return VendorUnavailable(self.vendor_id, code, message, **details)


class AudioStream(Iterator[bytes]):
    """One vendor stream's audio, chunk by chunk in the order sent; its first chunk already received.

    ``format`` and ``sample_rate`` are what was asked for (raw PCM or MP3 frames);
    ``request_id`` is the vendor's, once it said one. Iterating raises the taxonomy's error
    when the vendor fails mid-stream. ``close()`` (or the end of a ``with``) closes the
    connection, also when the caller stops early.
    """

    def __init__(
        self,
        chunks: Generator[bytes, None, None],
        protocol: StreamProtocol,
        *,
        audio_format: str,
        sample_rate: int,
    ) -> None:
        self.format = audio_format
        self.sample_rate = sample_rate
        self._chunks = chunks
        self._protocol = protocol
        self._first: bytes | None = None

    @property
    def request_id(self) -> str:
        return self._protocol.request_id

    def receive_first(self) -> None:
        """Wait for the first audio: every error before it is raised here, before any byte was handed on."""
        try:
            self._first = next(self._chunks)
        except StopIteration:
            raise self._protocol.unavailable(
                "NoAudio", "the vendor ended the stream without sending any audio"
            ) from None

    def __next__(self) -> bytes:
        if self._first is not None:
            chunk, self._first = self._first, None
            return chunk
        return next(self._chunks)

    def close(self) -> None:
        self._first = None
        self._chunks.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_stream(
    protocol: StreamProtocol, *, timeout_seconds: float, audio_format: str, sample_rate: int
) -> AudioStream:
    """Connect, send the protocol's opening and wait for the first audio; the stream of it and what follows.

    ``timeout_seconds`` bounds the wait for each frame (and the connection, up to 5 s): a vendor
    silent that long is VendorUnavailable "Timeout".
    """
    stream = AudioStream(
        _chunks(protocol, timeout_seconds), protocol, audio_format=audio_format, sample_rate=sample_rate
    )
    stream.receive_first()
    return stream


def _chunks(protocol: StreamProtocol, timeout_seconds: float) -> Generator[bytes, None, None]:
    # Leaving the block (the end, an error, or the caller closing the stream) closes the connection.
    with _connect(protocol, timeout_seconds) as connection:
        _send(connection, protocol.opening())
        while True:
            event = protocol.read(_receive(connection, protocol, timeout_seconds))
            if isinstance(event, Failure):
                raise protocol.error(event.code, event.message)
            if isinstance(event, Send):
                _send(connection, event.frames)
                continue
            if isinstance(event, Audio | End) and event.data:
                yield event.data
            if isinstance(event, End):
                return


def _send(connection: ClientConnection, frames: Iterable[str | bytes]) -> None:
    for frame in frames:
        try:
            connection.send(frame)
        except ConnectionClosed:
            return  # the vendor hung up first: what it said before is read next


def _connect(protocol: StreamProtocol, timeout_seconds: float) -> ClientConnection:
    try:
        connection = connect(
            protocol.url(),
            additional_headers=protocol.headers(),
            open_timeout=min(timeout_seconds, CONNECT_TIMEOUT_SECONDS),
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            # As the vendors' own SDKs: no keepalive pings, no per-message compression.
            ping_interval=None,
            compression=None,
            max_size=MAX_FRAME_BYTES,
            max_queue=1,
            logger=_WIRE_LOGGER,
        )
    except InvalidStatus as exc:
        response = exc.response
        _remember_request_id(protocol, response.headers)
        body = bytes(response.body or b"")
        code, message = protocol.refusal(response.status_code, body)
        raw = body.decode("utf-8", "replace") if not (code or message) else ""
        raise protocol.error(code, message, status=response.status_code, raw_text=raw) from None
    except InvalidURI:
        raise VendorAuthError(
            protocol.vendor_id,
            "InvalidConfiguration",
            f"the stream endpoint {protocol.endpoint} is not a ws:// or wss:// URL",
        ) from None
    except TimeoutError:
        raise protocol.unavailable(
            TIMEOUT_CODE, f"no connection to {protocol.endpoint} in {timeout_seconds:g} s"
        ) from None
    except (OSError, WebSocketException) as exc:
        raise protocol.unavailable(
            "NetworkError", f"cannot reach {protocol.endpoint}: {type(exc).__name__}: {exc}"
        ) from None
    if connection.response is not None:
        _remember_request_id(protocol, connection.response.headers)
    return connection


def _remember_request_id(protocol: StreamProtocol, headers: Mapping[str, str]) -> None:
    for name in protocol.request_id_headers:
        value = headers.get(name)
        if value:
            protocol.request_id = value
            return


def _receive(connection: ClientConnection, protocol: StreamProtocol, timeout_seconds: float) -> str | bytes:
    try:
        return connection.recv(timeout=timeout_seconds)
    except TimeoutError:
        raise protocol.unavailable(
            TIMEOUT_CODE, f"the vendor sent nothing for {timeout_seconds:g} s in the middle of the stream"
        ) from None
    except ConnectionClosed as exc:
        how = f"the vendor closed it (code {exc.rcvd.code})" if exc.rcvd is not None else "it was lost"
        raise protocol.unavailable(
            "StreamTruncated", f"the connection ended before the vendor's final frame: {how}"
        ) from None
