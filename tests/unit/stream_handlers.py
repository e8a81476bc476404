"""Handlers the runtime tests load by name, as Lambda loads a function's handler from ``_HANDLER``."""

from __future__ import annotations

import os
import sys
from typing import Any

from voiceclone.runtime.http_stream import HttpResponseStream, http_stream


@http_stream
def speech(event: dict[str, Any], context: Any, stream: HttpResponseStream) -> None:
    """Streams ``event["chunks"]`` as audio. With ``gate``, it reads a line from stdin before the last
    chunk: the test that runs it as a process decides when it may go on."""
    stream.start(200, {"Content-Type": "audio/mpeg", "X-Request-Id": context.aws_request_id})
    chunks: list[str] = event["chunks"]
    for index, chunk in enumerate(chunks):
        if event.get("gate") and index == len(chunks) - 1:
            sys.stdin.readline()
        stream.write(chunk.encode())


def buffered(event: Any, context: Any) -> dict[str, Any]:
    """A handler that returns its result, as every other voiceclone function does."""
    return {"echo": event, "trace": os.environ.get("_X_AMZN_TRACE_ID")}
