"""An HTTP answer streamed through API Gateway: a JSON prelude, eight NUL bytes, then the body as written.

API Gateway's REST API streams a Lambda proxy integration (``responseTransferMode: STREAM``) when
the function's stream has the media type ``application/vnd.awslambda.http-integration-response``:
a JSON object with ``statusCode``, ``headers``, ``multiValueHeaders`` and ``cookies``, then a
delimiter of 8 NUL bytes, then the payload, streamed to the client as it arrives (API Gateway
developer guide, "Set up a Lambda proxy integration with payload response streaming"). It is the
format function URLs read too: AWS's Node runtime writes it in ``HttpResponseStream.from`` (the
prelude, then ``new Uint8Array(8)``), the Rust runtime in ``requests.rs``, and aws-lambda-go's
``events.APIGatewayProxyStreamingResponse``, made for this REST API integration, writes exactly it.

A handler gets an :class:`HttpResponseStream`: ``start(status, headers)`` once, then ``write``.
Raising before ``start`` gets the client a plain JSON error answer (500, the API's error shape);
raising after it ends the stream with Lambda's error trailers, since the status is already sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from voiceclone.runtime.errors import ErrorReport
from voiceclone.runtime.streaming import InvocationContext, ResponseStream, StreamClosed, StreamingHandler

INTEGRATION_RESPONSE = "application/vnd.awslambda.http-integration-response"
DELIMITER = b"\x00" * 8
# API Gateway reads the prelude from the first 16 KB of the stream.
MAX_PRELUDE_BYTES = 16 * 1024


class Prelude:
    """The status line and headers of a streamed answer."""

    __slots__ = ("cookies", "headers", "multi_value_headers", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        cookies: Sequence[str] = (),
        multi_value_headers: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if not 100 <= status <= 599:
            raise ValueError(f"not an HTTP status: {status}")
        self.status = status
        self.headers = dict(headers or {})
        self.cookies = list(cookies)
        self.multi_value_headers = {k: list(v) for k, v in (multi_value_headers or {}).items()}

    def encode(self) -> bytes:
        """The prelude and its delimiter. JSON escapes every control character, so the text holds no
        NUL byte and the first 8 NULs of the stream are the delimiter."""
        document: dict[str, Any] = {"statusCode": self.status, "headers": self.headers}
        if self.multi_value_headers:
            document["multiValueHeaders"] = self.multi_value_headers
        if self.cookies:
            document["cookies"] = self.cookies
        encoded = json.dumps(document).encode()
        if len(encoded) + len(DELIMITER) > MAX_PRELUDE_BYTES:
            raise ValueError(f"the prelude is {len(encoded)} bytes; API Gateway reads {MAX_PRELUDE_BYTES}")
        return encoded + DELIMITER

    @classmethod
    def decode(cls, encoded: bytes) -> Prelude:
        """Read a prelude (without its delimiter), as API Gateway does."""
        document = json.loads(encoded)
        if not isinstance(document, dict):
            raise ValueError("the prelude is not a JSON object")
        return cls(
            int(document.get("statusCode") or 200),
            {str(k): str(v) for k, v in (document.get("headers") or {}).items()},
            [str(c) for c in document.get("cookies") or ()],
            {str(k): [str(v) for v in vs] for k, vs in (document.get("multiValueHeaders") or {}).items()},
        )


class HttpResponseStream:
    """What an HTTP streaming handler writes to: ``start`` sends the status and headers, once."""

    def __init__(self, body: ResponseStream) -> None:
        self._body = body
        self.started = False

    def start(
        self, status: int, headers: Mapping[str, str] | None = None, cookies: Sequence[str] = ()
    ) -> None:
        if self.started:
            raise RuntimeError("the answer has started already")
        prelude = Prelude(status, headers, cookies).encode()
        self.started = True
        self._body.write(prelude)

    def write(self, data: bytes) -> None:
        if not self.started:
            raise RuntimeError("start() the answer before writing its body")
        self._body.write(data)


HttpStreamFunction = Callable[[Any, InvocationContext, HttpResponseStream], None]


def http_stream(fn: HttpStreamFunction) -> StreamingHandler:
    """Mark ``fn(event, context, stream)`` as a handler that streams an HTTP answer through API Gateway."""

    def run(event: Any, context: InvocationContext, body: ResponseStream) -> None:
        stream = HttpResponseStream(body)
        try:
            fn(event, context, stream)
        except StreamClosed:
            raise
        except Exception as exc:
            if stream.started:
                raise  # the runtime ends the stream with the error trailers
            ErrorReport.of(exc).log("the answer failed before it started", context.aws_request_id)
            _error_answer(stream, context)
            return
        if not stream.started:
            ErrorReport("NoAnswer", "the handler returned without starting its answer").log(
                "the handler gave no answer", context.aws_request_id
            )
            _error_answer(stream, context)

    return StreamingHandler(run, INTEGRATION_RESPONSE)


def _error_answer(stream: HttpResponseStream, context: InvocationContext) -> None:
    """The API's error shape (``error``, ``message``, ``details``), naming the request for support."""
    body = {
        "error": "InternalError",
        "message": "the service failed before it could answer; try again",
        "details": {"request_id": context.aws_request_id},
    }
    stream.start(500, {"Content-Type": "application/json"})
    stream.write(json.dumps(body).encode())
