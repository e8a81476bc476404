"""Lambda's Runtime API on 127.0.0.1: a runtime process (voiceclone.runtime) runs here as Lambda runs it.

It serves the endpoints a runtime calls (Lambda developer guide, "Using the Lambda runtime API
for custom runtimes"): ``next`` hands out the invocations queued with :meth:`LocalRuntimeApi.invoke`
with the headers Lambda sends, and ``response``, ``error`` and ``init/error`` take what the
runtime answers. A streamed response (``Transfer-Encoding: chunked``) is read chunk by chunk as
it arrives, each chunk recorded and announced at once, with the trailers that end it; so a caller
can watch a response arrive while the handler is still writing it, and tell a stream that failed
midway from one that completed.

Lambda keeps the runtime's connection open between requests; ``drop_connections`` makes this
server close it, without saying so, after each answer it takes, as a connection may be lost
between invocations, so that a runtime's handling of that can be seen too.
"""

from __future__ import annotations

import itertools
import json
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any, TypeVar

from voiceclone_local.loopback import LoopbackRequestHandler

PREFIX = "/2018-06-01/runtime"
DEFAULT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:local-streaming"
# How long waits for what a runtime sends may last before they give up (a guard against a hang).
WAIT_SECONDS = 30.0
T = TypeVar("T")


class Answer:
    """What the runtime sent for one invocation (or for its init): kind, headers, body, trailers.

    ``kind`` is ``response``, ``error`` or ``init-error``; header and trailer names are lower-case;
    ``chunks`` are the chunks of a streamed body as they arrived; ``complete`` once the body ended
    and the Runtime API acknowledged it.
    """

    def __init__(self, kind: str, request_id: str | None, headers: dict[str, str], connection: int) -> None:
        self.kind = kind
        self.request_id = request_id
        self.headers = headers
        self.connection = connection
        self.chunks: list[bytes] = []
        self.trailers: dict[str, str] = {}
        self.complete = False
        self.first_chunk_at: float | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def streamed(self) -> bool:
        return self.headers.get("transfer-encoding", "").lower() == "chunked"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when a runtime hangs up mid-request (a process stopped as Lambda stops one)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalRuntimeApi:
    """The Runtime API of one execution environment: invocations in, answers out, one at a time."""

    def __init__(
        self,
        function_arn: str = DEFAULT_FUNCTION_ARN,
        timeout_seconds: float = 30.0,
        drop_connections: bool = False,
    ) -> None:
        self.function_arn = function_arn
        self.timeout_seconds = timeout_seconds
        self.drop_connections = drop_connections
        self.answers: dict[str, Answer] = {}
        self.init_errors: list[Answer] = []
        # (perf_counter, connection) of each ``next`` request as it arrives
        self.next_requests: list[tuple[float, int]] = []
        # the connections that have ended (closed by the runtime, or dropped here), in that order
        self.ended_connections: list[int] = []
        self._pending: queue.Queue[tuple[str, bytes, dict[str, str]] | None] = queue.Queue()
        self._changed = threading.Condition()
        self._connections = itertools.count(1)
        self._server: _Server | None = None

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="local-runtime-api",
        ).start()
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._pending.put(None)  # a runtime waiting on ``next`` gets an answer and stops asking
            self._server.shutdown()
            self._server.server_close()

    def invoke(self, event: Any, trace_id: str | None = None, client_context: Any = None) -> str:
        """Queue an invocation; its request id."""
        request_id = str(uuid.uuid4())
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + self.timeout_seconds) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": trace_id or f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        }
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        self._pending.put((request_id, json.dumps(event).encode(), headers))
        return request_id

    def answer(self, request_id: str, timeout: float = WAIT_SECONDS) -> Answer:
        """The runtime's complete answer to an invocation, once it has arrived."""
        return self._wait(lambda: _complete(self.answers.get(request_id)), timeout)

    def chunks(self, request_id: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[bytes]:
        """The first ``count`` chunks of an invocation's streamed response, as soon as they have arrived."""
        return self._wait(lambda: _first(self.answers.get(request_id), count), timeout)

    def connection_ended(self, connection: int, timeout: float = WAIT_SECONDS) -> bool:
        """Whether the connection has ended, waiting for it to."""
        return self._wait(lambda: connection in self.ended_connections or None, timeout)

    def init_error(self, timeout: float = WAIT_SECONDS) -> Answer:
        return self._wait(lambda: next((a for a in self.init_errors if a.complete), None), timeout)

    def _wait(self, found: Callable[[], T | None], timeout: float) -> T:
        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise TimeoutError(f"the runtime sent nothing of the kind within {timeout} s")
            result = found()
            assert result is not None
            return result

    def _record(self, change: Callable[[], object]) -> None:
        with self._changed:
            change()
            self._changed.notify_all()

    def _handler_class(self) -> type[LoopbackRequestHandler]:
        api = self

        class Handler(LoopbackRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection_id = next(api._connections)

            def finish(self) -> None:
                super().finish()
                api._record(lambda: api.ended_connections.append(self.connection_id))

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, {"errorMessage": f"no such endpoint: {self.path}"})
                    return
                api._record(lambda: api.next_requests.append((time.perf_counter(), self.connection_id)))
                pending = api._pending.get()
                if pending is None:  # stopping: no more invocations
                    api._pending.put(None)
                    self._reply(500, {"errorMessage": "the environment is shutting down"}, close=True)
                    return
                request_id, event, headers = pending
                api._record(lambda: api.answers.setdefault(request_id, Answer("pending", request_id, {}, 0)))
                self.send_response(200)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(event)))
                self.end_headers()
                self.wfile.write(event)

            def do_POST(self) -> None:
                kind, request_id = _endpoint(self.path)
                if kind is None:
                    self._drain()
                    self._reply(404, {"errorMessage": f"no such endpoint: {self.path}"})
                    return
                known = request_id is None or (
                    request_id in api.answers and api.answers[request_id].kind == "pending"
                )
                answer = Answer(
                    kind, request_id, {k.lower(): v for k, v in self.headers.items()}, self.connection_id
                )
                if known:
                    api._record(lambda: self._file(answer))
                self._read_body(answer)
                if not known:
                    self._reply(400, {"errorType": "InvalidRequestID", "errorMessage": "no such invocation"})
                    return
                self._reply(202, {"status": "OK"}, close=api.drop_connections, announce=False)
                api._record(lambda: setattr(answer, "complete", True))

            def _file(self, answer: Answer) -> None:
                if answer.request_id is None:
                    api.init_errors.append(answer)
                else:
                    api.answers[answer.request_id] = answer

            def _read_body(self, answer: Answer) -> None:
                if answer.streamed:
                    for chunk in _chunks(self.rfile, answer.trailers):
                        api._record(partial(_add_chunk, answer, chunk))
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                    api._record(lambda: _add_chunk(answer, body) if body else None)

            def _drain(self) -> None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    for _ in _chunks(self.rfile, {}):
                        pass
                elif length := int(self.headers.get("Content-Length") or 0):
                    self.rfile.read(length)

            def _reply(
                self, status: int, body: dict[str, Any], close: bool = False, announce: bool = True
            ) -> None:
                """Answer; with ``close``, drop the connection after (saying so only when ``announce``)."""
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if close and announce:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = self.close_connection or close

        return Handler


def _endpoint(path: str) -> tuple[str | None, str | None]:
    """(kind, request id) of a POST path; (None, None) for a path the Runtime API does not have."""
    if path == f"{PREFIX}/init/error":
        return "init-error", None
    parts = path.removeprefix(f"{PREFIX}/invocation/").split("/")
    if path.startswith(f"{PREFIX}/invocation/") and len(parts) == 2 and parts[1] in ("response", "error"):
        return parts[1], parts[0]
    return None, None


def _chunks(rfile: BufferedIOBase, trailers: dict[str, str]) -> Iterator[bytes]:
    """Each chunk of an HTTP/1.1 chunked body as it arrives; the trailers go into ``trailers``."""
    while True:
        size_line = rfile.readline()
        if not size_line:
            raise ConnectionError("the body ended before its last chunk")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        data = rfile.read(size)
        rfile.read(2)  # the CRLF after the data
        yield data
    while (line := rfile.readline().strip()) != b"":
        name, _, value = line.decode("latin-1").partition(":")
        trailers[name.strip().lower()] = value.strip()


def _add_chunk(answer: Answer, chunk: bytes) -> None:
    if answer.first_chunk_at is None:
        answer.first_chunk_at = time.perf_counter()
    answer.chunks.append(chunk)


def _complete(answer: Answer | None) -> Answer | None:
    return answer if answer is not None and answer.complete else None


def _first(answer: Answer | None, count: int) -> list[bytes] | None:
    if answer is None or answer.kind == "pending" or len(answer.chunks) < count:
        return None
    return answer.chunks[:count]
