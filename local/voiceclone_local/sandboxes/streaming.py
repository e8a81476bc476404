"""What streaming sandboxes share: a WebSocket server beside the HTTP one, the stream knobs, chunked speech.

A vendor sandbox that streams derives from :class:`StreamingSandbox` and implements two
things in its vendor's terms: ``stream_upgrade`` (the HTTP side of the handshake: path,
header credentials) and ``serve_stream`` (one connection: read the request, refuse it with
the vendor's error frame or speak it with :meth:`StreamingSandbox.play`). The server is
websockets' synchronous one on 127.0.0.1, a thread per connection; its URL is ``stream_url``.

The knobs (:class:`StreamingSandboxConfig`) space the chunks, fail a stream with the vendor's
error frame after N chunks, close it without the final frame, or hold it after N chunks until
:meth:`StreamingSandbox.release_streams`; each stream is recorded (:class:`StreamRecord`) with
events a test can wait on instead of a clock.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from pydantic import Field
from voiceclone.vendors.speech import mp3_frame_spans
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from voiceclone_local.sandboxes.base import SandboxBase
from voiceclone_local.sandboxes.knobs import SandboxConfig

# What a stream sends per chunk by default: 100 ms of audio.
CHUNK_MS = 100
# A held stream gives up waiting for release_streams() after this long (a test that failed midway).
HOLD_LIMIT_SECONDS = 30.0
# How long a stream waits for the client's request, or for its close after the final frame.
CLIENT_WAIT_SECONDS = 10.0
MAX_FRAME_BYTES = 4 * 1024 * 1024
# websockets logs every connection at INFO: the sandbox keeps its logs to what goes wrong.
_WIRE_LOGGER = logging.getLogger("voiceclone_local.sandboxes.streaming.wire")
_WIRE_LOGGER.setLevel(logging.WARNING)


class StreamingSandboxConfig(SandboxConfig):
    """The stream knobs, beside the shared ones; changeable while the sandbox runs."""

    # Audio per chunk (the last one may be shorter); MP3 chunks are whole frames of about this much.
    stream_chunk_ms: int = Field(default=CHUNK_MS, ge=10)
    # A pause before the first chunk (the vendor's time to first audio) and between two chunks.
    stream_first_chunk_delay_ms: int = Field(default=0, ge=0)
    stream_chunk_delay_ms: int = Field(default=0, ge=0)
    # After this many chunks (0: before any) the stream ends with the vendor's error frame, with
    # stream_fail_code or the vendor's own code for a failed synthesis.
    stream_fail_after_chunks: int | None = Field(default=None, ge=0)
    stream_fail_code: int | None = None
    # After this many chunks the connection is closed (a clean close) without the vendor's final frame.
    stream_drop_after_chunks: int | None = Field(default=None, ge=0)
    # After this many chunks (0: before any) the stream waits for release_streams() before sending the rest.
    stream_hold_after_chunks: int | None = Field(default=None, ge=0)
    # Streams served at once; more are refused with the vendor's concurrency error.
    stream_concurrency: int = Field(default=10, ge=1)


@dataclass
class StreamRecord:
    """One stream the sandbox served: its parameters, how far it got, and events to wait on."""

    params: dict[str, Any]
    chunks_total: int = 0
    chunks_sent: int = 0
    # "final", "failed <code>" (the vendor's error frame), "dropped" (closed without the final frame).
    outcome: str = ""
    # Whether the client closed the connection after the final frame, as the vendors ask.
    closed_by_client: bool = False
    # Set as the last chunk goes out (counted in chunks_sent as each goes out).
    last_chunk_sent: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def chunk_audio(audio: bytes, fmt: str, sample_rate: int, chunk_ms: int) -> list[bytes]:
    """``audio`` cut in order into pieces of about ``chunk_ms``: whole samples of PCM, whole MP3 frames.

    Joined, the pieces are ``audio`` byte for byte.
    """
    if fmt == "pcm":
        size = max(2, sample_rate * chunk_ms // 1000 * 2)
        return [audio[i : i + size] for i in range(0, len(audio), size)]
    if fmt != "mp3":
        raise ValueError(f"{fmt!r} audio is not streamed")
    spans = mp3_frame_spans(audio)
    if not spans:
        return [audio] if audio else []
    # MPEG-1 frames (32 kHz and up) hold 1152 samples, MPEG-2 and 2.5 ones 576.
    frame_ms = (1152 if sample_rate >= 32000 else 576) * 1000 / sample_rate
    per_chunk = max(1, round(chunk_ms / frame_ms))
    cuts = [spans[i][0] for i in range(0, len(spans), per_chunk)]
    cuts[0] = 0  # anything before the first frame (a tag) goes with it
    return [audio[start:end] for start, end in zip(cuts, [*cuts[1:], len(audio)], strict=True)]


def client_closes(connection: ServerConnection) -> bool:
    """Wait, after the final frame, for the client to close as the vendors ask; whether it did."""
    try:
        connection.recv(timeout=CLIENT_WAIT_SECONDS)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False  # it sent another frame instead


class StreamServer:
    """A WebSocket server on ``host`` (a free port unless given), serving from a thread of its own."""

    def __init__(
        self,
        handler: Callable[[ServerConnection], None],
        upgrade: Callable[[ServerConnection, Request], Response | None],
        *,
        response_headers: Callable[[], dict[str, str]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        def process_response(connection: ServerConnection, request: Request, response: Response) -> None:
            for name, value in response_headers().items():
                response.headers[name] = value

        self._server: Server = serve(
            handler,
            host,
            port,
            process_request=upgrade,
            process_response=process_response,
            compression=None,
            ping_interval=None,
            max_size=MAX_FRAME_BYTES,
            logger=_WIRE_LOGGER,
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-ws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            # Never served: shutdown() would wait for a serve loop to notice, and none runs.
            self._server.socket.close()
            return
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._thread = None


def json_refusal(connection: ServerConnection, status: int, payload: dict[str, Any]) -> Response:
    """An HTTP answer with a JSON body instead of the upgrade: a handshake the vendor refuses."""
    response = connection.respond(status, json.dumps(payload, ensure_ascii=False))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


class StreamingSandbox(SandboxBase):
    """A sandbox with a WebSocket API besides its HTTP one; a vendor's sandbox fills in the protocol."""

    config: StreamingSandboxConfig
    # The path of the vendor's WebSocket API (a vendor sandbox sets its own).
    stream_path: ClassVar[str] = "/"

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(config, host, port)
        self.streams: list[StreamRecord] = []
        self._streams_open = 0
        self._release = threading.Event()
        self._stream_server = StreamServer(
            self.serve_stream, self.stream_upgrade, response_headers=self.stream_headers, host=host
        )

    @property
    def stream_url(self) -> str:
        """The vendor's WebSocket API here: what the adapter's ``stream_endpoint`` points at."""
        return self._stream_server.url + self.stream_path

    # ----- what a vendor declares ------------------------------------------------------------------

    def stream_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake's HTTP side: None to upgrade, or the vendor's HTTP refusal."""
        if request.path.split("?", 1)[0] != self.stream_path:
            return connection.respond(404, f"no such path: {request.path.split('?', 1)[0]}\n")
        return None

    def stream_headers(self) -> dict[str, str]:
        """Headers the vendor adds to its handshake answers (e.g. a log id)."""
        return {}

    def serve_stream(self, connection: ServerConnection) -> None:
        """One connection, in the vendor's protocol."""
        raise NotImplementedError

    # ----- shared mechanics --------------------------------------------------------------------------

    def begin_stream(self, params: dict[str, Any]) -> StreamRecord | None:
        """Record a stream; None when ``stream_concurrency`` streams are already open (the caller refuses)."""
        record = StreamRecord(params=dict(params))
        with self._lock:
            if self._streams_open >= self.config.stream_concurrency:
                return None
            self._streams_open += 1
            self.streams.append(record)
        return record

    def end_stream(self, record: StreamRecord) -> None:
        with self._lock:
            self._streams_open -= 1
        record.done.set()

    def play(
        self,
        record: StreamRecord,
        chunks: list[bytes],
        *,
        send: Callable[[bytes, bool], None],
        fail: Callable[[int | None], None],
        drop: Callable[[], None],
    ) -> bool:
        """Send ``chunks`` as the knobs say: ``send(chunk, is_last)`` each; True when all were sent.

        A knob may end the stream first: ``fail(code)`` sends the vendor's error frame
        (``code``: the knob's, None for the vendor's own), ``drop()`` closes the connection
        without the final frame. Delays and holds end early when the sandbox stops.
        """
        config = self.config
        record.chunks_total = len(chunks)
        self._stopped.wait(config.stream_first_chunk_delay_ms / 1000)
        for index, chunk in enumerate(chunks):
            # The outcome is recorded before the client can see it.
            if config.stream_fail_after_chunks == index:
                record.outcome = f"failed {config.stream_fail_code or ''}".strip()
                fail(config.stream_fail_code)
                return False
            if config.stream_drop_after_chunks == index:
                record.outcome = "dropped"
                drop()
                return False
            if config.stream_hold_after_chunks == index:
                self._release.wait(HOLD_LIMIT_SECONDS)
            if index:
                self._stopped.wait(config.stream_chunk_delay_ms / 1000)
            last = index == len(chunks) - 1
            # Counted as the chunk goes out, so a client that holds it finds it counted.
            record.chunks_sent += 1
            if last:
                record.last_chunk_sent.set()
            send(chunk, last)
        return True

    def release_streams(self) -> None:
        """Let the streams held by ``stream_hold_after_chunks`` go on (and any held later)."""
        self._release.set()

    def hold_streams(self) -> None:
        """Hold streams again at ``stream_hold_after_chunks`` (after a release_streams)."""
        self._release.clear()

    # ----- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        self._stream_server.start()
        return super().start()

    def serve_forever(self) -> None:
        self._stream_server.start()
        super().serve_forever()

    def stop(self) -> None:
        was_closed = self._closed
        super().stop()  # sets _stopped: delays end at once
        if not was_closed:
            self._release.set()
            self._stream_server.stop()
