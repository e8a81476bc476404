"""The context a handler gets: the invocation's Runtime API headers and the function's environment.

It has the attributes handlers and Powertools read on the context of AWS's Python runtime
(awslambdaric ``lambda_context.LambdaContext``), built from the same sources: the ``next``
answer's ``Lambda-Runtime-*`` headers and the ``AWS_LAMBDA_*`` variables Lambda sets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
DEADLINE_MS = "Lambda-Runtime-Deadline-Ms"
FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn"
TRACE_ID = "Lambda-Runtime-Trace-Id"
CLIENT_CONTEXT = "Lambda-Runtime-Client-Context"
COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity"
TENANT_ID = "Lambda-Runtime-Aws-Tenant-Id"


class LambdaContext:
    """One invocation's context; ``get_remaining_time_in_millis`` counts down to Lambda's deadline."""

    def __init__(self, headers: Mapping[str, str], environ: Mapping[str, str]) -> None:
        """``headers``: the ``next`` answer's, with lower-case names (HTTP names are case-insensitive)."""
        self.aws_request_id = headers.get(REQUEST_ID.lower(), "")
        self.invoked_function_arn = headers.get(FUNCTION_ARN.lower(), "")
        self.deadline_ms = int(headers.get(DEADLINE_MS.lower()) or 0)
        self.tenant_id = headers.get(TENANT_ID.lower())
        self.client_context = _json_header(headers.get(CLIENT_CONTEXT.lower()))
        self.identity = _json_header(headers.get(COGNITO_IDENTITY.lower()))
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _json_header(value: str | None) -> Any:
    return json.loads(value) if value else None
