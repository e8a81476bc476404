"""Run Lambda functions in-process inside moto (no Docker): one replaced method, guarded by a test.

Both paths that run a function in the local stack, a Step Functions task and
an S3 notification, reach ``moto.awslambda.models.LambdaFunction.invoke``. The
replacement imports the function's configured ``Handler`` and answers as Lambda
does: the handler's JSON result, or on an exception the
``x-amz-function-error: Unhandled`` header with ``{"errorType", "errorMessage"}``
so that Retry/Catch match on error names exactly as in AWS.

Functions share one process here and run side by side, so what Lambda keeps apart per
execution environment is kept apart per invocation: the handler runs with moto's lock
(``moto_server.GATE``) set aside, since it calls moto over HTTP, and the keys Powertools
Logger adds to every line (``function_name``, ``correlation_id``...) are the invocation's
own (a context variable), not one dict every thread writes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from moto.awslambda.models import LambdaFunction
from voiceclone.runtime.relay import ClientOutput, IntegrationResponseRelay
from voiceclone.runtime.streaming import StreamClosed, StreamingHandler

from voiceclone_local.moto_server import GATE


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class InvocationLog:
    """What ran: counts per function, for tests and the benchmark."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, error: str | None) -> None:
        with self.lock:
            self.counts[name] += 1
            if error:
                self.errors[f"{name}:{error}"] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# In Lambda each function imports its code alone; here functions share one process and their first
# invocations may overlap. A function's entry (voiceclone.handlers.entries) resolves its import
# strings on its first call: here that is done once per function under one lock, so two functions
# starting at once never import the same modules side by side.
_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Loaded:
    fn: Callable[[Any, Any], Any]
    # Set for a handler whose code keeps a Powertools event-handler resolver (see _keeps_a_resolver).
    serial: threading.Lock | None


# Per handler, once its code is loaded: its serial lock, or None.
_SERIAL: dict[str, threading.Lock | None] = {}


def _load(handler: str) -> _Loaded:
    module_name, _, attr = handler.rpartition(".")
    fn: Callable[[Any, Any], Any] = getattr(import_module(module_name), attr)
    if handler not in _SERIAL:
        with _IMPORT_LOCK:
            if handler not in _SERIAL:
                # The service's entries resolve their target; another handler (a test's probe) is itself.
                load = getattr(fn, "load", None)
                if load is not None:
                    load()
                target = getattr(fn, "target_module", None) or sys.modules[module_name]
                _SERIAL[handler] = threading.Lock() if _keeps_a_resolver(target) else None
    return _Loaded(fn, _SERIAL[handler])


# A Powertools event-handler resolver (the api function's `app`, in voiceclone.rest) keeps the event it
# is resolving on the app object. Lambda gives an execution environment one event at a time, so here
# such a handler runs one invocation at a time too; other functions run side by side, as many Lambda
# environments would (two threads in one resolver mixed their requests under load).
def _keeps_a_resolver(module: Any) -> bool:
    app = getattr(module, "app", None)
    return app is not None and type(app).__module__.startswith("aws_lambda_powertools.event_handler")


# The log keys of the running invocation, per Powertools formatter (by id); None outside invocations.
_INVOCATION_LOG_KEYS: ContextVar[dict[int, dict[str, Any]] | None] = ContextVar(
    "voiceclone_local_log_keys", default=None
)
_BASE = "_voiceclone_local_log_format"


def _isolate_log_keys() -> Callable[[], None]:
    """Make Powertools' ``LambdaPowertoolsFormatter.log_format`` per invocation; returns the undo.

    Outside an invocation (at import, when the logger is built) the formatter's own dict is
    used; inside, the first access copies it for that invocation, so ``append_keys`` from
    ``inject_lambda_context`` in one thread never shows in another thread's lines.
    """
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    seen: weakref.WeakSet[Any] = weakref.WeakSet()

    def base(self: Any) -> dict[str, Any]:
        state = self.__dict__
        if _BASE not in state:
            state[_BASE] = state.pop("log_format", {})
            seen.add(self)
        keys: dict[str, Any] = state[_BASE]
        return keys

    def get(self: Any) -> dict[str, Any]:
        shared = base(self)
        per_invocation = _INVOCATION_LOG_KEYS.get()
        if per_invocation is None:
            return shared
        if id(self) not in per_invocation:
            per_invocation[id(self)] = dict(shared)
        return per_invocation[id(self)]

    def set_(self: Any, value: dict[str, Any]) -> None:
        per_invocation = _INVOCATION_LOG_KEYS.get()
        if per_invocation is None or _BASE not in self.__dict__:
            self.__dict__[_BASE] = value
            seen.add(self)
        else:
            per_invocation[id(self)] = value

    # Set on the class (it is an instance attribute in Powertools): a property wins over instance dicts.
    setattr(LambdaPowertoolsFormatter, "log_format", property(get, set_))  # noqa: B010

    def restore() -> None:
        delattr(LambdaPowertoolsFormatter, "log_format")
        for formatter in list(seen):
            formatter.__dict__["log_format"] = formatter.__dict__.pop(_BASE)

    return restore


def install(
    log: InvocationLog, on_error: Callable[[str, BaseException], None] | None = None
) -> Callable[[], None]:
    """Replace LambdaFunction.invoke; returns a function that puts the original back."""
    original = LambdaFunction.invoke

    def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        event = json.loads(body) if body else {}
        context = LocalLambdaContext(
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=int(self.memory_size or 128),
            timeout_seconds=int(self.timeout or 3),
        )
        try:
            with GATE.released():
                loaded = _load(str(self.handler))
                token = _INVOCATION_LOG_KEYS.set({})
                try:
                    with loaded.serial or nullcontext():
                        result = loaded.fn(event, context)
                finally:
                    _INVOCATION_LOG_KEYS.reset(token)
        except Exception as exc:  # noqa: BLE001 - Lambda reports any exception as an Unhandled error
            log.record(self.function_name, type(exc).__name__)
            if on_error is not None:
                on_error(self.function_name, exc)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            )
        log.record(self.function_name, None)
        return json.dumps(result)

    restore_log_keys = _isolate_log_keys()
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]

    def restore() -> None:
        LambdaFunction.invoke = original  # type: ignore[method-assign]
        restore_log_keys()

    return restore


def invoke_streaming(
    log: InvocationLog,
    handler: str,
    context: LocalLambdaContext,
    event: dict[str, Any],
    out: ClientOutput,
) -> bool:
    """Run a streaming function (its ``handler`` a voiceclone.runtime StreamingHandler) with the client's
    connection as its stream, as API Gateway relays a streamed integration; True when the answer was
    left unterminated (it failed after it began: the caller closes the connection).

    Called from the local gateway's request thread, not from inside moto: no lock to set aside. The
    invocation's outcome is recorded as ``invoke`` records it (a client gone away: ``StreamClosed``).
    """
    loaded = _load(handler)
    if not isinstance(loaded.fn, StreamingHandler):
        raise TypeError(f"{handler} does not stream: its route's integration must not be STREAM")
    relay = IntegrationResponseRelay(out)
    token = _INVOCATION_LOG_KEYS.set({})
    try:
        outcome = relay.run(loaded.fn, event, context)
    except StreamClosed:
        log.record(context.function_name, "StreamClosed")
        raise
    finally:
        _INVOCATION_LOG_KEYS.reset(token)
    log.record(context.function_name, outcome.error.error_type if outcome.error else None)
    return relay.cut
