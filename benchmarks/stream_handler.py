"""The handler benchmarks/stream_runtime.py starts: a streamed HTTP answer of three chunks, nothing more."""

from __future__ import annotations

from typing import Any

from voiceclone.runtime.http_stream import HttpResponseStream, http_stream


@http_stream
def handler(event: Any, context: Any, stream: HttpResponseStream) -> None:
    stream.start(200, {"Content-Type": "audio/mpeg"})
    for chunk in (b"\xff\xf3" * 200, b"\xff\xf3" * 200, b"\xff\xf3" * 200):
        stream.write(chunk)
