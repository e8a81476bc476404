"""Routes of speech: speak with a cloned voice (JSON with its URL, or the audio itself), read, list."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from voiceclone.domain.api_models import SpeechPage, SpeechRequest, SpeechView
from voiceclone.domain.errors import InvalidField
from voiceclone.domain.models import FORMAT_OF_MEDIA_TYPE, SPEECH_CONTENT_TYPES, SpeechStatus
from voiceclone.logic.core.services import services
from voiceclone.logic.speech import service as speech
from voiceclone.observability import metrics, tag_vendor
from voiceclone.rest.errors import NotAcceptable
from voiceclone.rest.openapi import (
    CONFLICT,
    ERRORS,
    ID_PATTERN,
    JSON_ONLY,
    NOT_FOUND,
    VENDOR,
    answers,
    tenant_of,
)

router = Router()  # type: ignore[no-untyped-call]

AUDIO_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {
        "description": "The speech, its audio stored (JSON); with `Accept: audio/wav` or `audio/mpeg`, "
        "the audio itself",
        "content": {
            "application/json": {"model": SpeechView},
            "audio/wav": {"schema": {"type": "string", "format": "binary"}},
            "audio/mpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    202: {
        "description": "An asynchronous vendor (the Tencent gateway, Huawei) is making it: the speech "
        'is RUNNING (audio_url ""); poll the Location (GET /v1/speech/{id}) until SUCCEEDED or FAILED',
        "content": {"application/json": {"model": SpeechView}},
    },
    406: ERRORS,
}


@router.post(
    "/v1/voices/<voice_id>/speech",
    summary="Speak text with a cloned voice",
    description="Synthesizes the text at the voice's vendor (split at sentence boundaries where it is "
    "longer than the vendor takes in one call, the pieces joined into one file), stores the audio and "
    "returns it behind a short-lived presigned `audio_url`. 409 for a deleted voice, a voice whose job "
    "did not succeed, or a vendor whose speech voiceclone does not offer (the message says how the "
    "voice is used there); 422 for a format or sample rate the vendor lacks (naming what it takes). "
    "Send `Accept: audio/wav` or `audio/mpeg` to get the audio bytes in the response (short text). "
    "An asynchronous vendor answers 202 with the speech RUNNING (406 for `Accept: audio/...`): poll "
    "GET /v1/speech/{id} until it is SUCCEEDED (audio_url set) or FAILED (error says why); a "
    "`notify_url` receives its Speech Succeeded / Speech Failed event.",
    tags=["speech"],
    responses={
        **answers(SpeechView, NOT_FOUND, CONFLICT, VENDOR, JSON_ONLY, status=201, description="The speech"),
        **AUDIO_RESPONSES,
    },
)
def create_speech(
    voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)],
    body: Annotated[SpeechRequest, Body()],
) -> Response[Any]:
    wanted = _audio_accepted(body.format)
    if wanted is not None:
        if "format" in body.model_fields_set and body.format != wanted:
            raise InvalidField(
                ("body", "format"),
                "FormatMismatch",
                f"Accept asks for {wanted} audio but the body asks for {body.format}",
            )
        if len(body.text) > speech.MAX_DIRECT_CHARS:
            raise NotAcceptable(
                "TextTooLongForAudioResponse",
                f"audio in the response is for text of at most {speech.MAX_DIRECT_CHARS} characters; "
                "ask for application/json and download audio_url",
            )
        body = body.model_copy(update={"format": wanted})
    try:
        view, audio = speech.speak(
            services(), tenant_of(router), voice_id, body, audio_response=wanted is not None
        )
    except speech.AudioNotReady as exc:
        raise NotAcceptable(exc.code, exc.message, **exc.details) from exc
    tag_vendor(view.vendor)
    metrics.add_metric(name="SpeechCreated", unit="Count", value=1)
    metrics.add_metric(name="SpeechCharacters", unit="Count", value=view.characters)
    if wanted is not None:
        # Encoded here, not by Powertools: its response validation would take bytes for UTF-8 text.
        response: Response[Any] = Response(
            status_code=201,
            content_type=SPEECH_CONTENT_TYPES[view.format],
            body=base64.b64encode(audio).decode("ascii"),
            headers={"Location": f"/v1/speech/{view.speech_id}", "Voiceclone-Speech-Id": view.speech_id},
        )
        response.base64_encoded = True
        return response
    if view.status is SpeechStatus.RUNNING:
        return Response(
            status_code=202,
            content_type=content_types.APPLICATION_JSON,
            body=view,
            headers={"Location": f"/v1/speech/{view.speech_id}"},
        )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=view)


def _audio_accepted(body_format: str) -> str | None:
    """The audio format the Accept header asks for (wav or mp3), None for JSON; 406 when it takes neither.

    Content negotiation as HTTP defines it: each media type gets the quality of the most specific range
    that matches it (``audio/wav`` over ``audio/*`` over ``*/*``), ``q=0`` means "not this", and the
    highest quality wins; on a tie the range written first wins, then JSON, then the body's own format.
    """
    accept = router.current_event.headers.get("accept") or router.current_event.headers.get("Accept") or ""
    audio = sorted(FORMAT_OF_MEDIA_TYPE, key=lambda t: FORMAT_OF_MEDIA_TYPE[t] != body_format)
    chosen = negotiate(accept, [content_types.APPLICATION_JSON, *audio])
    if chosen is None:
        raise NotAcceptable(
            "NotAcceptable",
            "this route answers application/json, or the audio itself as audio/wav or audio/mpeg; "
            f"Accept allows none of them: {accept[:200]}",
        )
    return FORMAT_OF_MEDIA_TYPE.get(chosen)


def negotiate(accept: str, offered: list[str]) -> str | None:
    """The type of ``offered`` an Accept header prefers; None if it refuses all (none sent: the first)."""
    ranges: list[tuple[str, str, float]] = []
    for part in accept.split(","):
        media_range, *params = (p.strip() for p in part.split(";"))
        if "/" not in media_range:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0  # an unreadable weight accepts nothing
        kind, _, subtype = media_range.lower().partition("/")
        ranges.append((kind, subtype, quality))
    if not ranges:
        return offered[0] if offered else None
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, media_type in enumerate(offered):
        kind, _, subtype = media_type.partition("/")
        matches = [
            (specificity, position, quality)
            for position, (k, s, quality) in enumerate(ranges)
            for specificity in [2 if (k, s) == (kind, subtype) else 1 if (k, s) == (kind, "*") else 0]
            if (k, s) in ((kind, subtype), (kind, "*"), ("*", "*"))
        ]
        if not matches:
            continue
        _, position, quality = max(matches, key=lambda m: (m[0], -m[1]))
        if quality <= 0:
            continue
        key = (-quality, position, rank)
        if best is None or key < best:
            best, chosen = key, media_type
    return chosen


@router.get(
    "/v1/speech/<speech_id>",
    summary="Get a speech, with a fresh URL of its audio",
    tags=["speech"],
    responses=answers(SpeechView, NOT_FOUND),
)
def get_speech(speech_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> SpeechView:
    return speech.get_speech(services(), tenant_of(router), speech_id)


@router.get(
    "/v1/voices/<voice_id>/speech",
    summary="List what a voice spoke, newest first",
    tags=["speech"],
    responses=answers(SpeechPage, NOT_FOUND),
)
def list_speech(
    voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> SpeechPage:
    return speech.list_speech(services(), tenant_of(router), voice_id, limit, cursor)
