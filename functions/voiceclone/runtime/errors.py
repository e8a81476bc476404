"""An error as a runtime reports it to Lambda: one JSON body, sent to an error endpoint or as trailers.

The body has the fields AWS's own Python runtime client posts (``errorMessage``, ``errorType``,
``stackTrace``; awslambdaric ``bootstrap.make_error``), so Lambda, the logs and callers read our
errors as they read any Python function's. After a streamed response has begun, the same body goes
base64-encoded in the ``Lambda-Runtime-Function-Error-Body`` trailer and its type in
``Lambda-Runtime-Function-Error-Type``, as the Node.js runtime client does (``ResponseStream.js``).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import traceback

ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
# The runtime's own frames lead every handler's traceback; a report starts at the handler's.
_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class ErrorReport:
    """What went wrong, in the form Lambda takes: a type (a header value), a message, a stack."""

    __slots__ = ("error_type", "message", "stack_trace")

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        self.error_type = _header_safe(error_type) or "Unknown"
        self.message = message
        self.stack_trace = stack_trace or []

    @classmethod
    def of(cls, exc: BaseException, error_type: str | None = None) -> ErrorReport:
        """The report of an exception; ``error_type`` names runtime faults (``Runtime.ImportModuleError``)."""
        frames = traceback.extract_tb(exc.__traceback__)
        first = next((i for i, f in enumerate(frames) if os.path.dirname(f.filename) != _RUNTIME_DIR), 0)
        return cls(error_type or type(exc).__name__, str(exc), traceback.format_list(frames[first:]))

    def with_message(self, message: str) -> ErrorReport:
        return ErrorReport(self.error_type, message, self.stack_trace)

    def body(self) -> bytes:
        document = {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": self.stack_trace,
        }
        return json.dumps(document).encode()

    def trailers(self) -> dict[str, str]:
        """The two trailers that end a streamed response that failed after its first byte."""
        return {ERROR_TYPE: self.error_type, ERROR_BODY: base64.b64encode(self.body()).decode("ascii")}

    def log(self, message: str, request_id: str | None = None) -> None:
        """One JSON line on stderr, which Lambda sends to the function's log group."""
        line = {
            "level": "ERROR",
            "message": message,
            "requestId": request_id,
            "errorType": self.error_type,
            "errorMessage": self.message,
            "stackTrace": self.stack_trace,
        }
        sys.stderr.write(json.dumps(line) + "\n")


def _header_safe(value: str) -> str:
    """An HTTP header value: printable ASCII only (an exception's name could be anything)."""
    return "".join(c if " " <= c <= "~" else "?" for c in value).strip()
