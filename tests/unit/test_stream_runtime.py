"""The streaming runtime against a local Runtime API: what Lambda receives, in what order, and when.

Each test runs the runtime's loop (voiceclone.runtime.bootstrap.Runtime) on a thread of its own,
or the whole bootstrap as a process started through its exec wrapper, as Lambda starts it, against
voiceclone_local.runtime_api, which reads a streamed response chunk by chunk as it arrives.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from voiceclone.handlers.table import function
from voiceclone.runtime.bootstrap import InitError, Runtime, load_handler
from voiceclone.runtime.http_stream import (
    DELIMITER,
    INTEGRATION_RESPONSE,
    HttpResponseStream,
    Prelude,
    http_stream,
)
from voiceclone.runtime.runtime_api import RuntimeApi
from voiceclone.runtime.streaming import ResponseStream, StreamingHandler, streaming
from voiceclone_local.runtime_api import Answer, LocalRuntimeApi

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "functions" / "voiceclone" / "runtime" / "exec-wrapper"
# Guards against a hang only: every wait below ends on an event long before this.
WAIT = 20.0


@pytest.fixture
def lambda_api() -> Iterator[LocalRuntimeApi]:
    api = LocalRuntimeApi()
    api.start()
    yield api
    api.stop()


def serve(api: LocalRuntimeApi, handler: Any, invocations: int = 1) -> Callable[[], None]:
    """Run the runtime's loop for ``invocations`` events on a thread; returns a join that re-raises."""
    runtime = Runtime(RuntimeApi(api.address), handler, environ={"AWS_LAMBDA_FUNCTION_NAME": "speech"})
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            for _ in range(invocations):
                runtime.handle_next()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(WAIT)
        assert not thread.is_alive(), "the runtime did not finish its invocations"
        if failure:
            raise failure[0]

    return join


def split_prelude(body: bytes) -> tuple[Prelude, bytes]:
    end = body.index(DELIMITER)
    return Prelude.decode(body[:end]), body[end + len(DELIMITER) :]


def error_body(answer: Answer) -> dict[str, Any]:
    encoded = answer.trailers["lambda-runtime-function-error-body"]
    document: dict[str, Any] = json.loads(base64.b64decode(encoded))
    return document


def test_the_first_chunk_reaches_lambda_before_the_handler_writes_the_last(
    lambda_api: LocalRuntimeApi,
) -> None:
    # Given a handler that writes a chunk, then waits for the test before it writes the last
    gate, order = threading.Event(), []

    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200, {"Content-Type": "audio/mpeg"})
        stream.write(b"first audio")
        assert gate.wait(WAIT)
        order.append("handler wrote the last chunk")
        stream.write(b"last audio")

    request_id = lambda_api.invoke({})
    join = serve(lambda_api, handler)
    # When Lambda has received the prelude and the first chunk
    received = lambda_api.chunks(request_id, count=2)
    order.append("Lambda received the first chunk")
    gate.set()
    join()
    # Then that happened while the handler still held its last chunk back
    assert received[1] == b"first audio"
    assert order == ["Lambda received the first chunk", "handler wrote the last chunk"]
    assert lambda_api.answer(request_id).chunks[2:] == [b"last audio"]


def test_an_http_answer_is_the_prelude_eight_nuls_then_the_body_in_order(lambda_api: LocalRuntimeApi) -> None:
    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(201, {"Content-Type": "audio/mpeg"}, cookies=["seen=1"])
        for chunk in (b"one", b"", b"two", b"three"):  # an empty write sends nothing
            stream.write(chunk)

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    answer = lambda_api.answer(request_id)
    # The runtime posted a stream, as Lambda documents for a custom runtime
    assert answer.kind == "response" and answer.streamed
    assert answer.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert answer.headers["content-type"] == INTEGRATION_RESPONSE
    assert "lambda-runtime-function-error-body" in answer.headers["trailer"].lower()
    # The prelude and its delimiter first, each write of the body a chunk of its own, nothing after
    assert answer.chunks[0].endswith(DELIMITER) and answer.chunks[1:] == [b"one", b"two", b"three"]
    prelude, body = split_prelude(answer.body)
    assert (prelude.status, prelude.headers, prelude.cookies) == (
        201,
        {"Content-Type": "audio/mpeg"},
        ["seen=1"],
    )
    assert body == b"onetwothree"
    assert answer.trailers == {}


def test_a_failure_after_two_chunks_ends_the_stream_with_the_error_trailers(
    lambda_api: LocalRuntimeApi,
) -> None:
    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200, {"Content-Type": "audio/mpeg"})
        stream.write(b"chunk 1")
        stream.write(b"chunk 2")
        raise ConnectionAbortedError("the vendor hung up")

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    answer = lambda_api.answer(request_id)
    # The bytes sent stay sent; the stream ends with the error, not as a success
    assert answer.kind == "response" and answer.chunks[1:] == [b"chunk 1", b"chunk 2"]
    assert answer.trailers["lambda-runtime-function-error-type"] == "ConnectionAbortedError"
    error = error_body(answer)
    assert (error["errorType"], error["errorMessage"]) == ("ConnectionAbortedError", "the vendor hung up")
    assert any("in handler" in frame for frame in error["stackTrace"])


def test_a_failure_before_the_first_byte_is_an_invocation_error(lambda_api: LocalRuntimeApi) -> None:
    @streaming
    def handler(event: Any, context: Any, body: ResponseStream) -> None:
        raise LookupError("no such voice")

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    answer = lambda_api.answer(request_id)
    # Nothing was streamed: Lambda is told on the error endpoint, with the error's type
    assert answer.kind == "error" and not answer.streamed
    assert answer.headers["lambda-runtime-function-error-type"] == "LookupError"
    assert json.loads(answer.body) | {"stackTrace": []} == {
        "errorType": "LookupError",
        "errorMessage": "no such voice",
        "stackTrace": [],
    }


def test_an_http_handler_failing_before_start_answers_the_client_in_json(lambda_api: LocalRuntimeApi) -> None:
    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        raise KeyError("voice")

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    answer = lambda_api.answer(request_id)
    # The client gets a whole answer: 500 and the API's error shape, naming the request
    prelude, body = split_prelude(answer.body)
    assert (prelude.status, prelude.headers["Content-Type"]) == (500, "application/json")
    error = json.loads(body)
    assert error["error"] == "InternalError" and error["details"] == {"request_id": request_id}
    assert answer.trailers == {}


def test_several_streamed_invocations_in_a_row_on_one_process(lambda_api: LocalRuntimeApi) -> None:
    events = [{"chunks": [f"{n}a", f"{n}b"]} for n in range(4)]
    request_ids = [lambda_api.invoke(event) for event in events]
    serve(lambda_api, load_handler("tests.unit.stream_handlers.speech"), invocations=len(events))()
    for n, request_id in enumerate(request_ids):
        prelude, body = split_prelude(lambda_api.answer(request_id).body)
        # Each answer is its own invocation's, with its own context
        assert body == f"{n}a{n}b".encode() and prelude.headers["X-Request-Id"] == request_id
        # posted on the connection its ``next`` came on, which the runtime closed once Lambda took
        # the stream (as the developer guide asks); the next ``next`` came on a new one
        connection = lambda_api.answers[request_id].connection
        assert lambda_api.next_requests[n][1] == connection == n + 1
        assert lambda_api.connection_ended(connection)


def test_answers_that_are_not_streamed_share_one_kept_alive_connection(lambda_api: LocalRuntimeApi) -> None:
    request_ids = [lambda_api.invoke({"n": n}) for n in range(4)]
    serve(lambda_api, load_handler("tests.unit.stream_handlers.buffered"), invocations=len(request_ids))()
    assert [json.loads(lambda_api.answer(r).body)["echo"] for r in request_ids] == [
        {"n": n} for n in range(4)
    ]
    connections = {c for _, c in lambda_api.next_requests} | {
        lambda_api.answers[r].connection for r in request_ids
    }
    assert connections == {1}


def test_a_connection_lost_between_invocations_is_opened_again() -> None:
    # Given a Runtime API that drops the connection after each answer it takes, without a word
    api = LocalRuntimeApi(drop_connections=True)
    api.start()
    try:
        request_ids = [api.invoke({"n": n}) for n in range(3)]
        serve(api, load_handler("tests.unit.stream_handlers.buffered"), invocations=3)()
        # Then every invocation is still answered, each on a connection opened for it
        assert [json.loads(api.answer(r).body)["echo"] for r in request_ids] == [{"n": n} for n in range(3)]
        assert len({api.answers[r].connection for r in request_ids}) == 3
    finally:
        api.stop()


def test_a_handler_that_returns_its_result_still_works(lambda_api: LocalRuntimeApi) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    ok = lambda_api.invoke({"say": "hello"}, trace_id=trace)
    request_ids = [ok, lambda_api.invoke(["not", "a", "dict"])]

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"echo": event["say"], "trace": os.environ.get("_X_AMZN_TRACE_ID")}

    serve(lambda_api, handler, invocations=2)()
    answer = lambda_api.answer(ok)
    # A JSON result in one body, with the invocation's trace header where X-Ray looks for it
    assert answer.kind == "response" and not answer.streamed
    assert json.loads(answer.body) == {"echo": "hello", "trace": trace}
    # And a failure is an invocation error
    failed = lambda_api.answer(request_ids[1])
    assert failed.kind == "error" and failed.headers["lambda-runtime-function-error-type"] == "TypeError"


def test_the_context_carries_the_invocation_and_the_function(lambda_api: LocalRuntimeApi) -> None:
    seen: dict[str, Any] = {}

    def handler(event: Any, context: Any) -> None:
        seen.update(
            request_id=context.aws_request_id,
            arn=context.invoked_function_arn,
            remaining=context.get_remaining_time_in_millis(),
            client=context.client_context,
            name=context.function_name,
        )

    request_id = lambda_api.invoke({}, client_context={"client": {"app": "cli"}})
    serve(lambda_api, handler)()
    assert lambda_api.answer(request_id).body == b"null"
    assert seen["request_id"] == request_id and seen["arn"] == lambda_api.function_arn
    assert 0 < seen["remaining"] <= lambda_api.timeout_seconds * 1000
    assert seen["client"] == {"client": {"app": "cli"}} and seen["name"] == "speech"


@pytest.mark.parametrize(
    ("spec", "error_type"),
    [
        ("handler", "Runtime.MalformedHandlerName"),
        ("tests.unit.no_such_module.handler", "Runtime.ImportModuleError"),
        ("tests.unit.stream_handlers.no_such_handler", "Runtime.HandlerNotFound"),
        ("broken_at_import.handler", "ZeroDivisionError"),
    ],
)
def test_a_handler_that_cannot_be_loaded_is_named_as_aws_python_runtime_names_it(
    spec: str, error_type: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_at_import.py").write_text("RATE = 1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InitError) as failed:
        load_handler(spec)
    assert failed.value.report.error_type == error_type


def run_bootstrap(api: LocalRuntimeApi, handler: str) -> subprocess.Popen[str]:
    """The bootstrap as Lambda starts it: the exec wrapper, given the managed runtime's command."""
    environ = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
        "PYTHONPATH": str(ROOT),  # the tests' handlers
    }
    command = [str(WRAPPER), sys.executable, "/var/runtime/bootstrap.py"]
    return subprocess.Popen(command, env=environ, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_bootstrap_process_streams_as_lambda_runs_it(lambda_api: LocalRuntimeApi) -> None:
    # Given two invocations, the first held back by its handler before its last chunk
    gated = lambda_api.invoke({"chunks": ["first", "second", "last"], "gate": True})
    plain = lambda_api.invoke({"chunks": ["again"]})
    process = run_bootstrap(lambda_api, "tests.unit.stream_handlers.speech")
    try:
        # When Lambda has the first two chunks of the body, the process is still writing: let it go on
        assert lambda_api.chunks(gated, count=3)[1:] == [b"first", b"second"]
        assert process.stdin is not None
        process.stdin.write("go on\n")
        process.stdin.flush()
        # Then both invocations are answered in full, one after the other, by the one process
        assert split_prelude(lambda_api.answer(gated).body)[1] == b"firstsecondlast"
        assert split_prelude(lambda_api.answer(plain).body)[1] == b"again"
        assert process.poll() is None  # waiting for the next invocation, as in Lambda
    finally:
        process.kill()
        process.communicate(timeout=WAIT)


def test_the_bootstrap_process_reports_an_init_failure_and_exits(lambda_api: LocalRuntimeApi) -> None:
    process = run_bootstrap(lambda_api, "tests.unit.stream_handlers.no_such_handler")
    _, stderr = process.communicate(timeout=WAIT)
    error = lambda_api.init_error()
    assert process.returncode == 1 and not lambda_api.next_requests
    assert error.headers["lambda-runtime-function-error-type"] == "Runtime.HandlerNotFound"
    assert (
        json.loads(error.body)["errorMessage"]
        == "Handler 'no_such_handler' missing on module 'tests.unit.stream_handlers'"
    )
    assert "Runtime.HandlerNotFound" in stderr


def test_a_prelude_larger_than_api_gateway_reads_is_refused_before_anything_is_sent(
    lambda_api: LocalRuntimeApi,
) -> None:
    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200, {"X-Padding": "x" * 20_000})

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    prelude, body = split_prelude(lambda_api.answer(request_id).body)
    assert prelude.status == 500 and json.loads(body)["error"] == "InternalError"


def test_an_error_type_that_is_no_header_value_is_made_one(lambda_api: LocalRuntimeApi) -> None:
    class Störung(Exception):  # a name that is no HTTP header value
        pass

    @http_stream
    def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
        stream.start(200)
        stream.write(b"audio")
        raise Störung("mid-stream")

    request_id = lambda_api.invoke({})
    serve(lambda_api, handler)()
    answer = lambda_api.answer(request_id)
    assert answer.trailers["lambda-runtime-function-error-type"] == "St?rung"
    assert error_body(answer)["errorMessage"] == "mid-stream"


# ----- the service's streaming function, as Lambda runs it ---------------------------------------------


def test_the_stream_functions_entry_streams_its_answer_through_the_runtime(
    lambda_api: LocalRuntimeApi,
) -> None:
    # Given the runtime loading the streaming function's handler as Lambda names it (_HANDLER)
    handler = load_handler(function("stream").handler)
    assert isinstance(handler, StreamingHandler) and handler.content_type == INTEGRATION_RESPONSE
    join = serve(lambda_api, handler)
    # When API Gateway invokes it with a proxy event its resolver refuses (no tenant from an authorizer)
    event = {
        "resource": "/v1/voices/{voice_id}/speech/stream",
        "path": "/v1/voices/vo-1/speech/stream",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "pathParameters": {"voice_id": "vo-1"},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "body": json.dumps({"text": "你好。", "format": "pcm"}),
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/v1/voices/{voice_id}/speech/stream", "httpMethod": "POST",
                           "path": "/v1/voices/vo-1/speech/stream", "stage": "prod", "requestId": "r-1"},
    }  # fmt: skip
    answer = lambda_api.answer(lambda_api.invoke(event))
    join()
    # Then Lambda got a streamed answer: the API's error as API Gateway reads a streamed one
    assert answer.streamed and answer.headers["content-type"] == INTEGRATION_RESPONSE
    prelude, body = split_prelude(answer.body)
    assert prelude.status == 401
    assert json.loads(body)["error"] == "Unauthenticated"
