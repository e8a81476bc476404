"""API Gateway's side of a streamed answer, for the local stack: read the prelude, answer in HTTP/1.1 chunks.

The local gateway runs a function in-process; a streaming one writes the same bytes it writes to
Lambda (prelude, 8 NULs, body: voiceclone.runtime.http_stream) into an
:class:`IntegrationResponseRelay`, which does what API Gateway does with them: it holds the bytes
until the delimiter, answers the client with the prelude's status and headers, then passes every
later write to the client at once as one HTTP/1.1 chunk. So a local client sees the first audio
while the function still synthesizes the rest, as it would through AWS.

Endings, as a client of API Gateway sees them: a complete stream ends with the last chunk; a
function that fails (or streams no valid prelude) before the answer began gets the 502 API
Gateway answers for a failed Lambda integration; one that fails after it leaves the answer
unterminated, and the gateway must close the connection (curl then reports "transfer closed with
outstanding read data remaining", as API Gateway's troubleshooting guide describes for a cut
stream).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from voiceclone.runtime.http_stream import DELIMITER, MAX_PRELUDE_BYTES, Prelude
from voiceclone.runtime.streaming import Outcome, StreamClosed, StreamingHandler, run_streaming

if TYPE_CHECKING:
    from voiceclone.runtime.errors import ErrorReport
    from voiceclone.runtime.streaming import InvocationContext

# The answer's framing belongs to the gateway: a function's own values for these are dropped.
HOP_BY_HOP = frozenset(
    {"connection", "content-length", "keep-alive", "transfer-encoding", "trailer", "upgrade"}
)
INTEGRATION_FAILURE = (502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}')


class ClientOutput(Protocol):
    """The client's connection: a request handler's ``wfile``."""

    def write(self, data: bytes, /) -> Any: ...

    def flush(self) -> Any: ...


class InvalidPrelude(ValueError):
    """The stream does not start with a prelude API Gateway would read."""


class IntegrationResponseRelay:
    """A stream sink (voiceclone.runtime.streaming.StreamSink) that answers an HTTP client as it goes.

    ``answered`` once the status line went out; ``cut`` when the answer was left unterminated (the
    caller then closes the connection instead of reusing it).
    """

    def __init__(self, out: ClientOutput) -> None:
        self._out = out
        self._pending = b""
        self.answered = False
        self.cut = False
        self.status: int | None = None

    def run(self, handler: StreamingHandler, event: Any, context: InvocationContext) -> Outcome:
        """Invoke ``handler`` with this relay as its stream and answer the client, however it ends.

        A failure before the first byte is answered here (502); :class:`StreamClosed` (the client
        went away) propagates.
        """
        outcome = run_streaming(handler, event, context, lambda: self)
        if outcome.error is not None and not outcome.streamed:
            self.fail(outcome.error)
        return outcome

    def send(self, chunk: bytes) -> None:
        if self.answered:
            self._write_chunk(chunk)
            return
        self._pending += chunk
        end = self._pending.find(DELIMITER)
        if end < 0:
            if len(self._pending) >= MAX_PRELUDE_BYTES:
                raise InvalidPrelude(f"no prelude delimiter in the first {MAX_PRELUDE_BYTES} bytes")
            return
        try:
            prelude = Prelude.decode(self._pending[:end])
        except ValueError as exc:
            raise InvalidPrelude(f"the prelude is not valid: {exc}") from exc
        body, self._pending = self._pending[end + len(DELIMITER) :], b""
        self._answer(prelude)
        if body:
            self._write_chunk(body)

    def finish(self) -> None:
        if not self.answered:  # the stream ended before its prelude did
            self._answer_whole(*INTEGRATION_FAILURE)
            return
        self._write(b"0\r\n\r\n")

    def fail(self, report: ErrorReport) -> None:
        if not self.answered:
            self._answer_whole(*INTEGRATION_FAILURE)
            return
        self.cut = True

    def _answer(self, prelude: Prelude) -> None:
        lines = [f"HTTP/1.1 {prelude.status} {_reason(prelude.status)}"]
        lines += [f"{k}: {v}" for k, v in prelude.headers.items() if k.lower() not in HOP_BY_HOP]
        for name, values in prelude.multi_value_headers.items():
            if name.lower() not in HOP_BY_HOP and name not in prelude.headers:
                lines += [f"{name}: {value}" for value in values]
        lines += [f"Set-Cookie: {cookie}" for cookie in prelude.cookies]
        lines += ["Transfer-Encoding: chunked", "Connection: close"]
        self.status = prelude.status
        self.answered = True
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _answer_whole(self, status: int, headers: dict[str, str], body: bytes) -> None:
        lines = [f"HTTP/1.1 {status} {_reason(status)}", *(f"{k}: {v}" for k, v in headers.items())]
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        self.status = status
        self.answered = True
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _write_chunk(self, chunk: bytes) -> None:
        self._write(b"%X\r\n%b\r\n" % (len(chunk), chunk))

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
            self._out.flush()
        except OSError as exc:
            raise StreamClosed(f"the client went away: {exc}") from exc


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
