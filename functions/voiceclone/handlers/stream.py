"""The streaming speech function: the route resolved as the api resolves it, then the audio as it comes.

It runs on voiceclone.runtime (docs/streaming-runtime.md), which streams what this handler writes
through API Gateway. The request goes through the API's one resolver (``voiceclone.rest.handle``:
hardening, validation, the authorizer's tenant, every refusal's answer); the streaming route
leaves the checked request behind (voiceclone.rest.speech_stream), and this handler calls the
vendor, answers the vendor's error before the first audio as the resolver would, or starts the
answer with the stream's head and plays the audio. A failure after that ends the stream unclean
(the runtime's error trailers; API Gateway cuts the client's answer), the speech recorded FAILED.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from voiceclone import rest
from voiceclone.rest.speech_stream import PENDING, PendingStream, error_answer
from voiceclone.runtime.http_stream import HttpResponseStream, http_stream

# Time kept back from the function's own to record the speech and end the answer.
MARGIN_SECONDS = 5.0


def _stream(event: dict[str, Any], context: Any, stream: HttpResponseStream) -> None:
    started = time.monotonic()
    pending = PendingStream()
    token = PENDING.set(pending)
    try:
        result = rest.handle(event, context)
    finally:
        PENDING.reset(token)
    prepared = pending.prepared
    if prepared is None or result.get("statusCode") != 200:
        _answer_whole(stream, result)
        return
    cors = {k: v for k, v in _headers(result).items() if k.lower().startswith("access-control-")}
    deadline = started + context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    try:
        speech = prepared.open(started=started, deadline=deadline)
    except Exception as exc:
        answer = error_answer(exc)
        if answer is None:
            raise  # the runtime's 500 answer, logged with the request id
        body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        stream.start(
            answer.status_code, {**cors, **_flat(answer.headers), "Content-Type": "application/json"}
        )
        stream.write(body.encode("utf-8"))
        return
    try:
        stream.start(200, {**cors, **speech.head().headers})
    except Exception:
        speech.close()  # the vendor's stream, opened (or opening) for nothing
        raise
    speech.play(stream.write)


def _headers(result: dict[str, Any]) -> dict[str, str]:
    """A proxy answer's headers, the multi-valued ones joined."""
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(v) for v in values)
    return headers


def _flat(headers: Any) -> dict[str, str]:
    return {str(k): ", ".join(v) if isinstance(v, list) else str(v) for k, v in dict(headers or {}).items()}


def _answer_whole(stream: HttpResponseStream, result: dict[str, Any]) -> None:
    """The resolver's own answer (a refusal, an error), written as it is."""
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    stream.start(int(result.get("statusCode") or 200), _headers(result))
    stream.write(body)


handler = http_stream(_stream)
