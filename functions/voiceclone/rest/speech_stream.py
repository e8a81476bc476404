"""The streaming speech route: speech's checks and errors through the one resolver, then audio as it comes.

``POST /v1/voices/{voice_id}/speech/stream`` is resolved like every route (hardening, the body's
model, the authorizer's tenant, the one exception-to-answer mapping), so everything that fails
before the vendor is called is the usual JSON error answer. What it hands on is the checked request
(:class:`~voiceclone.logic.speech.stream.PreparedStream`): the streaming function
(voiceclone.handlers.stream) sets :data:`PENDING` before resolving, and calls the vendor and writes
the stream once the resolver has returned (the resolver is not held while the vendor speaks; a
vendor error before the first audio is answered by :func:`error_answer`, as the resolver would).
Served by a function that cannot stream (no ``PENDING``), the route answers the same audio in one
buffered answer, whole.
"""

from __future__ import annotations

import base64
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentSchema

from voiceclone.domain.api_models import SpeechRequest
from voiceclone.logic.core.services import services
from voiceclone.logic.speech import stream as speech_stream
from voiceclone.observability import metrics, tag_vendor
from voiceclone.rest import errors
from voiceclone.rest.errors import NotAcceptable
from voiceclone.rest.openapi import (
    CONFLICT,
    ERRORS,
    ID_PATTERN,
    JSON_ONLY,
    NOT_FOUND,
    UNAUTHENTICATED,
    UNAVAILABLE,
    VENDOR,
    tenant_of,
)
from voiceclone.rest.speech import negotiate

router = Router()  # type: ignore[no-untyped-call]

# A buffered answer (no streaming function in front) waits this long for an async vendor's file.
BUFFERED_WAIT_SECONDS = 25.0


@dataclass
class PendingStream:
    """Where the route leaves the checked request for the streaming function that resolved it."""

    prepared: speech_stream.PreparedStream | None = None


PENDING: ContextVar[PendingStream | None] = ContextVar("voiceclone_pending_stream", default=None)

AUDIO: OpenAPIResponseContentSchema = {"schema": {"type": "string", "format": "binary"}}
STREAM_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The audio as the vendor makes it, in HTTP chunks, labelled as AI-generated: "
        "`audio/wav` (one header, its `AIGC` chunk holding the GB 45438 label before the `data` chunk, "
        "whose sizes are 0xFFFFFFFF, length unknown, then PCM), `audio/mpeg` (an ID3v2 tag whose "
        "`TXXX:AIGC` frame holds the label, then MP3 frames) or `audio/pcm` (16-bit signed little-endian "
        "mono, `rate` in the media type; only where the deployment allows raw PCM, the label then in the "
        "`X-AIGC` header). The audio starts with the audible label (1.5 s: the rhythm short-long-short-"
        "short) unless the tenant turned it off, sent before the vendor's first audio. The stored copy "
        "(GET /v1/speech/{id}'s `audio_url`) is the same audio with its C2PA manifest. Headers: "
        "`Voiceclone-Speech-Id`, `Voiceclone-Sample-Rate`, and `Voiceclone-Stream`: `live` (chunks as the "
        "vendor sends them) or `whole` (the vendor has no stream for cloned voices: the whole file once "
        "made). A stream that fails after its first audio (the label's included) ends without HTTP's "
        "last chunk (the connection is closed, never a clean end): GET /v1/speech/{id} then shows it "
        "FAILED with the vendor's code",
        "content": {"audio/pcm": AUDIO, "audio/mpeg": AUDIO, "audio/wav": AUDIO},
    },
    406: ERRORS,
}


@router.post(
    "/v1/voices/<voice_id>/speech/stream",
    summary="Speak text with a cloned voice, streamed as it is made",
    description="The same request as POST /v1/voices/{id}/speech, with `format` `wav`, `mp3` or `pcm`: "
    "the same checks (readable text, format, sample rate and speed the vendor's stream makes, 409 for "
    "a voice that cannot speak, Qiniu's included, 422 `PcmNotLabelled` for raw PCM where the deployment "
    "refuses it), counted in usage the same way once the stream completed. The answer starts with the "
    "audible label as soon as the request is checked (with the label off: with the vendor's first "
    "audio); a long text is split where sentences end and its pieces follow each other without a gap. "
    "Anything that fails before the first audio is the usual JSON error (the vendor's code in "
    "`error`). The speech is recorded when the stream ends: GET /v1/speech/{id} (the "
    "`Voiceclone-Speech-Id` header) has its stored audio, labelled whole, or why it failed.",
    tags=["speech"],
    responses={
        **STREAM_RESPONSES,
        **NOT_FOUND,
        **CONFLICT,
        **VENDOR,
        **JSON_ONLY,
        **UNAUTHENTICATED,
        **UNAVAILABLE,
    },
)
def stream_speech(
    voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)],
    body: Annotated[SpeechRequest, Body()],
) -> Response[Any]:
    _check_accept(body.format)
    tenant_id = tenant_of(router)
    prepared = speech_stream.prepare(services(), tenant_id, voice_id, body)
    tag_vendor(prepared.voice.vendor)
    metrics.add_metric(name="SpeechStreamStarted", unit="Count", value=1)
    pending = PENDING.get()
    if pending is not None:
        pending.prepared = prepared  # the streaming function calls the vendor and writes the audio
        return Response(status_code=200, body="")
    started = time.monotonic()
    speech = prepared.open(started=started, deadline=started + BUFFERED_WAIT_SECONDS)
    chunks: list[bytes] = []
    speech.play(chunks.append)
    response: Response[Any] = Response(
        status_code=200,
        headers={**speech.head().headers, speech_stream.DELIVERY_HEADER: "buffered"},
        body=base64.b64encode(b"".join(chunks)).decode("ascii"),
    )
    response.base64_encoded = True
    return response


def _check_accept(fmt: str) -> None:
    """406 when the Accept header takes no audio of the body's format (none sent: anything goes)."""
    accept = router.current_event.headers.get("accept") or router.current_event.headers.get("Accept") or ""
    media_type = speech_stream.MEDIA_TYPES[fmt]
    if accept and negotiate(accept, [media_type]) is None:
        raise NotAcceptable(
            "NotAcceptable",
            f"this stream answers {media_type} (the body's format {fmt}); Accept allows none of it: "
            f"{accept[:200]}",
        )


def error_answer(exc: Exception) -> Response[Any] | None:
    """The answer the resolver gives ``exc`` (voiceclone.rest.errors), for an error raised after it
    returned; None for one it has no answer for."""
    for kind in type(exc).__mro__:
        handler = errors.router._exception_handlers.get(kind)
        if handler is not None:
            answer: Response[Any] = handler(exc)
            return answer
    return None
