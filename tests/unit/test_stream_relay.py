"""The local stack's stand-in for API Gateway's streaming: the relay answers a real HTTP client as a
handler writes, ending each answer as a client of API Gateway would see it end."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.runtime.http_stream import MAX_PRELUDE_BYTES, HttpResponseStream, http_stream
from voiceclone.runtime.relay import IntegrationResponseRelay
from voiceclone.runtime.streaming import Outcome, ResponseStream, StreamingHandler, streaming

WAIT = 20.0  # a guard against a hang, never reached when the code works


class Gateway:
    """A minimal gateway wired as the local one will be: each request runs ``handler`` through a relay."""

    def __init__(self) -> None:
        self.handler: StreamingHandler | None = None
        self.outcomes: list[tuple[Outcome, IntegrationResponseRelay]] = []
        self._done = threading.Semaphore(0)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                relay = IntegrationResponseRelay(self.wfile)
                assert gateway.handler is not None
                outcome = relay.run(gateway.handler, event, SimpleNamespace(aws_request_id="req-1"))
                gateway.outcomes.append((outcome, relay))
                gateway._done.release()
                self.close_connection = True  # one request per connection, and a cut answer ends here

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def outcome(self) -> tuple[Outcome, IntegrationResponseRelay]:
        """How the last request's invocation ended, once the gateway is done with it."""
        assert self._done.acquire(timeout=WAIT)
        return self.outcomes[-1]

    def request(self, event: Any) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=WAIT)
        connection.request(
            "POST", "/v1/voices/v1/speech", json.dumps(event), {"Content-Type": "application/json"}
        )
        return connection.getresponse()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()


def test_the_client_has_the_first_chunk_before_the_handler_writes_the_last(gateway: Gateway) -> None:
    gate, order = threading.Event(), []

    @http_stream
    def speech(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200, {"Content-Type": "audio/mpeg", "Content-Length": "999"}, cookies=["a=1", "b=2"])
        stream.write(b"first audio")
        assert gate.wait(WAIT)
        order.append("handler wrote the last chunk")
        stream.write(b"last audio")

    gateway.handler = speech
    response = gateway.request({})
    # The prelude became the status line and headers; the body is chunked, whatever length it claimed
    assert response.status == 200 and response.getheader("Content-Type") == "audio/mpeg"
    assert (
        response.getheader("Transfer-Encoding") == "chunked" and response.getheader("Content-Length") is None
    )
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.read1() == b"first audio"
    order.append("client read the first chunk")
    gate.set()
    assert response.read() == b"last audio"
    assert order == ["client read the first chunk", "handler wrote the last chunk"]
    assert gateway.outcome()[0].error is None


def test_a_failure_after_the_answer_began_leaves_it_unterminated(gateway: Gateway) -> None:
    @http_stream
    def speech(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200, {"Content-Type": "audio/mpeg"})
        stream.write(b"some audio")
        raise TimeoutError("the vendor went quiet")

    gateway.handler = speech
    response = gateway.request({})
    assert response.status == 200
    # The client can tell: the answer stops short of its last chunk
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial == b"some audio"
    outcome, relay = gateway.outcome()
    assert relay.cut and outcome.error is not None and outcome.error.error_type == "TimeoutError"


def test_a_failure_before_start_is_a_json_error_answer(gateway: Gateway) -> None:
    @http_stream
    def speech(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(99)  # not a status: nothing starts

    gateway.handler = speech
    response = gateway.request({})
    assert response.status == 500 and response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read()) == {
        "error": "InternalError",
        "message": "the service failed before it could answer; try again",
        "details": {"request_id": "req-1"},
    }


@pytest.mark.parametrize(
    "writes",
    [
        [],  # a raw handler failing before its first byte
        [b"no prelude at all"],  # a stream that ends before any delimiter
        [b"x" * MAX_PRELUDE_BYTES],  # more than API Gateway reads for a prelude
        [b"[1, 2]\x00\x00\x00\x00\x00\x00\x00\x00body"],  # a prelude that is not an object
    ],
)
def test_no_valid_prelude_is_answered_as_api_gateway_answers_a_failed_integration(
    gateway: Gateway, writes: list[bytes]
) -> None:
    @streaming
    def raw(event: Any, context: Any, body: ResponseStream) -> None:
        for data in writes:
            body.write(data)
        if not writes:
            raise RuntimeError("failed first")

    gateway.handler = raw
    response = gateway.request({})
    assert response.status == 502
    assert json.loads(response.read()) == {"message": "Internal server error"}


def test_multi_value_headers_and_cookies_reach_the_client_as_header_lines(gateway: Gateway) -> None:
    prelude = {
        "statusCode": 206,
        "headers": {"Content-Type": "audio/wav"},
        "multiValueHeaders": {"Vary": ["Accept", "Origin"], "Content-Type": ["ignored/duplicate"]},
        "cookies": ["session=1; HttpOnly"],
    }

    @streaming
    def raw(event: Any, context: Any, body: ResponseStream) -> None:
        body.write(json.dumps(prelude).encode() + b"\x00" * 8 + b"RIFF")

    gateway.handler = raw
    response = gateway.request({})
    assert response.status == 206 and response.headers.get_all("Content-Type") == ["audio/wav"]
    assert response.headers.get_all("Vary") == ["Accept", "Origin"]
    assert response.headers.get_all("Set-Cookie") == ["session=1; HttpOnly"]
    assert response.read() == b"RIFF"
