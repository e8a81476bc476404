"""A handler that streams: how it is declared, what it writes to, and how one streamed invocation ends.

Node's runtime marks a streaming handler with ``awslambda.streamifyResponse`` and hands it a
writable stream; here :func:`streaming` marks it and it gets a :class:`ResponseBody` to ``write``
bytes to. The body opens its sink (the Runtime API's chunked POST in Lambda, the client's
connection on the local stack) at the first byte and sends every write on at once as one chunk:
nothing is held back, so the caller sees each chunk as the handler produces it, and a handler
that writes faster than the far end reads waits in ``write`` (the socket's backpressure).

:func:`run_streaming` runs one invocation and says how it ended. The runtime and the local stack
act on that the same way Lambda signals it: a failure before the first byte is an ordinary
invocation error (nothing was sent, so the caller can still be told plainly), a failure after it
ends the stream with the error trailers (the bytes sent cannot be taken back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from voiceclone.runtime.errors import ErrorReport

OCTET_STREAM = "application/octet-stream"


class InvocationContext(Protocol):
    """What the runtime reads of a handler's context: Lambda's (voiceclone.runtime.context) or the
    local stack's, which has the same attributes."""

    @property
    def aws_request_id(self) -> str: ...


class ResponseStream(Protocol):
    """What a streaming handler writes its response to."""

    def write(self, data: bytes) -> None: ...


class StreamSink(Protocol):
    """Where a streamed response goes once its first byte exists."""

    def send(self, chunk: bytes) -> None:
        """Send one chunk now (never empty)."""

    def finish(self) -> None:
        """End the response: it is complete."""

    def fail(self, report: ErrorReport) -> None:
        """End the response as failed, after some of it was sent."""


class StreamClosed(Exception):
    """The far end of a stream is gone: nothing more can be written or reported there."""


StreamFunction = Callable[[Any, InvocationContext, ResponseStream], None]


class StreamingHandler:
    """A handler the runtime calls with a response body to write to, instead of taking its result.

    ``content_type`` is the media type of the whole stream, which Lambda passes on to the caller
    (API Gateway reads ``application/vnd.awslambda.http-integration-response`` as prelude + body).
    """

    def __init__(self, fn: StreamFunction, content_type: str = OCTET_STREAM) -> None:
        self.fn = fn
        self.content_type = content_type

    def __call__(self, event: Any, context: InvocationContext, body: ResponseStream) -> None:
        self.fn(event, context, body)


def streaming(fn: StreamFunction) -> StreamingHandler:
    """Mark ``fn(event, context, body)`` as a handler that streams raw bytes."""
    return StreamingHandler(fn)


class ResponseBody:
    """The stream a handler writes to: opens its sink at the first byte, then passes each write on."""

    def __init__(self, open_sink: Callable[[], StreamSink]) -> None:
        self._open_sink = open_sink
        self.sink: StreamSink | None = None

    def write(self, data: bytes) -> None:
        if not data:  # an empty chunk would end a chunked stream: a write of nothing sends nothing
            return
        if self.sink is None:
            self.sink = self._open_sink()
        self.sink.send(bytes(data))


class Outcome:
    """How a streamed invocation ended: ``error`` is None on success; ``streamed`` once a byte was sent."""

    __slots__ = ("error", "streamed")

    def __init__(self, error: ErrorReport | None, streamed: bool) -> None:
        self.error = error
        self.streamed = streamed


def run_streaming(
    handler: StreamingHandler, event: Any, context: InvocationContext, open_sink: Callable[[], StreamSink]
) -> Outcome:
    """Run ``handler`` once. A failure after the first byte ends the stream with the error (``fail``);
    a failure before it leaves the sink unopened and is the caller's to report. A sink whose far end
    is gone (:class:`StreamClosed`) can report nothing: that propagates."""
    body = ResponseBody(open_sink)
    try:
        handler(event, context, body)
    except StreamClosed:
        raise
    except Exception as exc:  # noqa: BLE001 - any handler failure is the invocation's error, as in Lambda
        report = ErrorReport.of(exc)
        if body.sink is not None:
            body.sink.fail(report)
        return Outcome(report, streamed=body.sink is not None)
    if body.sink is None:  # a handler that wrote nothing still answers: an empty stream
        body.sink = open_sink()
    body.sink.finish()
    return Outcome(None, streamed=True)
