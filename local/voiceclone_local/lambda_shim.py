"""Run Lambda functions in-process inside moto (no Docker): one replaced method, guarded by a test.

Both paths that run a function in the local stack, a Step Functions task and
an S3 notification, reach ``moto.awslambda.models.LambdaFunction.invoke``. The
replacement imports the function's configured ``Handler`` and answers as Lambda
does: the handler's JSON result, or on an exception the
``x-amz-function-error: Unhandled`` header with ``{"errorType", "errorMessage"}``
so that Retry/Catch match on error names exactly as in AWS.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction


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
# invocations may overlap, and two threads importing the same package tree at once can see each
# other's half-initialized modules. Handler modules are imported one at a time (a dict lookup
# once imported).
_IMPORT_LOCK = threading.Lock()


def _load(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    with _IMPORT_LOCK:
        module = importlib.import_module(module_name)
    fn: Callable[[Any, Any], Any] = getattr(module, attr)
    return fn


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
            result = _load(str(self.handler))(event, context)
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

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]

    def restore() -> None:
        LambdaFunction.invoke = original  # type: ignore[method-assign]

    return restore
