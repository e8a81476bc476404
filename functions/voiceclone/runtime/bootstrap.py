"""The runtime's loop: load the handler, then take each invocation from the Runtime API and answer it.

It does what AWS's Python runtime client does (awslambdaric ``bootstrap.run``: init errors to
``/runtime/init/error`` with its ``Runtime.*`` error types, the trace header into
``_X_AMZN_TRACE_ID``, a JSON result to ``/response``, a failure to ``/error``) and one thing it
cannot: a handler marked as streaming (voiceclone.runtime.streaming) writes its response to
Lambda chunk by chunk. docs/streaming-runtime.md explains how Lambda starts it.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from voiceclone.runtime.context import TRACE_ID, LambdaContext
from voiceclone.runtime.errors import ErrorReport
from voiceclone.runtime.runtime_api import RuntimeApi
from voiceclone.runtime.streaming import StreamingHandler, run_streaming

Handler = Callable[[Any, LambdaContext], Any] | StreamingHandler
TRACE_ENV = "_X_AMZN_TRACE_ID"


class InitError(Exception):
    """The handler could not be loaded; ``report`` is what Lambda is told."""

    def __init__(self, report: ErrorReport) -> None:
        super().__init__(report.message)
        self.report = report


def load_handler(spec: str) -> Handler:
    """Import ``module.attribute`` (Lambda's ``_HANDLER``), naming failures as AWS's Python runtime does."""
    module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise InitError(
            ErrorReport("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not module.function")
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise InitError(
            ErrorReport.of(exc, "Runtime.ImportModuleError").with_message(
                f"Unable to import module '{module_name}': {exc}"
            )
        ) from exc
    except SyntaxError as exc:
        raise InitError(ErrorReport.of(exc, "Runtime.UserCodeSyntaxError")) from exc
    except Exception as exc:  # whatever the module raises while it loads fails the init
        raise InitError(ErrorReport.of(exc)) from exc
    handler = getattr(module, attribute, None)
    if handler is None or not callable(handler):
        raise InitError(
            ErrorReport("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'")
        )
    return handler  # type: ignore[no-any-return]


class Runtime:
    """Answers invocations one at a time, as Lambda hands them out to an execution environment."""

    def __init__(self, api: RuntimeApi, handler: Handler, environ: Mapping[str, str] = os.environ) -> None:
        self.api = api
        self.handler = handler
        self.environ = environ

    def handle_next(self) -> None:
        """Wait for the next invocation, run the handler on it and send Lambda its outcome."""
        invocation = self.api.next_invocation()
        request_id = invocation.request_id
        _set_trace_id(invocation.headers.get(TRACE_ID.lower()))
        try:
            context = LambdaContext(invocation.headers, self.environ)
        except ValueError as exc:
            self._fail(request_id, ErrorReport.of(exc, "Runtime.LambdaContextUnmarshalError"))
            return
        try:
            event = json.loads(invocation.body)
        except ValueError as exc:
            self._fail(request_id, ErrorReport.of(exc, "Runtime.UnmarshalError"))
            return
        if isinstance(self.handler, StreamingHandler):
            self._stream(self.handler, request_id, event, context)
        else:
            self._respond(self.handler, request_id, event, context)

    def _respond(
        self,
        handler: Callable[[Any, LambdaContext], Any],
        request_id: str,
        event: Any,
        context: LambdaContext,
    ) -> None:
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - any handler failure is the invocation's error
            self._fail(request_id, ErrorReport.of(exc))
            return
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            self._fail(request_id, ErrorReport.of(exc, "Runtime.MarshalError"))
            return
        self.api.post_response(request_id, payload)

    def _stream(self, handler: StreamingHandler, request_id: str, event: Any, context: LambdaContext) -> None:
        outcome = run_streaming(
            handler, event, context, lambda: self.api.open_stream(request_id, handler.content_type)
        )
        if outcome.error is None:
            return
        if outcome.streamed:  # the stream ended with the error trailers
            outcome.error.log("Invoke Error after the response began", request_id)
        else:
            self._fail(request_id, outcome.error)

    def _fail(self, request_id: str, report: ErrorReport) -> None:
        report.log("Invoke Error", request_id)
        self.api.post_error(request_id, report)


def _set_trace_id(trace_id: str | None) -> None:
    """The X-Ray trace header, where the X-Ray SDK and Powertools read it (as AWS's runtimes set it)."""
    if trace_id:
        os.environ[TRACE_ENV] = trace_id
    else:
        os.environ.pop(TRACE_ENV, None)


def main() -> None:
    """The process Lambda starts: init, then invocations until Lambda stops the environment."""
    if isinstance(sys.stdout, io.TextIOWrapper):  # each log line reaches Lambda when it is printed
        sys.stdout.reconfigure(line_buffering=True)
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except InitError as exc:
        exc.report.log("Init Error")
        api.post_init_error(exc.report)
        sys.exit(1)
    runtime = Runtime(api, handler)
    while True:
        runtime.handle_next()
