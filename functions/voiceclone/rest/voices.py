"""Routes of voices: list, read, rename and delete (at the vendor where its API allows it); their consent."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from voiceclone.domain.api_models import ConsentView, RenameVoiceRequest, VoicePage, VoiceView
from voiceclone.domain.models import VoiceState
from voiceclone.logic.core.services import services
from voiceclone.logic.training import voices
from voiceclone.observability import metrics, tag_vendor
from voiceclone.rest.openapi import CONFLICT, ID_PATTERN, JSON_ONLY, NOT_FOUND, VENDOR, answers, tenant_of

router = Router()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/voices",
    summary="List voices, newest first",
    tags=["voices"],
    responses=answers(VoicePage, NOT_FOUND),
)
def list_voices(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    vendor: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=32)] = None,
    state: Annotated[VoiceState | None, Query()] = None,
) -> VoicePage:
    return voices.list_voices(services(), tenant_of(router), limit, cursor, vendor, state)


@router.get(
    "/v1/voices/<voice_id>",
    summary="Get a voice with what a TTS call at its vendor needs",
    tags=["voices"],
    responses=answers(VoiceView, NOT_FOUND),
)
def get_voice(voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> VoiceView:
    return voices.get_voice(services(), tenant_of(router), voice_id)


@router.patch(
    "/v1/voices/<voice_id>",
    summary="Rename a voice",
    description="Renamed at the vendor where its API allows; else kept here only, and `note` says so.",
    tags=["voices"],
    responses=answers(VoiceView, NOT_FOUND, CONFLICT, VENDOR, JSON_ONLY),
)
def rename_voice(
    voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)],
    body: Annotated[RenameVoiceRequest, Body()],
) -> VoiceView:
    return voices.rename_voice(services(), tenant_of(router), voice_id, body.name)


@router.delete(
    "/v1/voices/<voice_id>",
    summary="Delete a voice",
    description="Deleted at the vendor where its API allows (else `note` says it remains there), its "
    "recordings deleted from S3, and the voice kept as DELETED. Deleting again changes nothing.",
    tags=["voices"],
    responses=answers(VoiceView, NOT_FOUND, VENDOR),
)
def delete_voice(voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> VoiceView:
    view = voices.delete_voice(services(), tenant_of(router), voice_id)
    tag_vendor(view.vendor)
    metrics.add_metric(name="VoiceDeleted", unit="Count", value=1)
    return view


@router.get(
    "/v1/voices/<voice_id>/consent",
    summary="The consent the voice's speaker gave",
    description="The statement, its one-time phrase, the SHA-256 of the take and a fresh presigned GET of "
    "it, who asked and when, and what was verified (the audio checks; whether the phrase was heard and "
    "whether it is the training speaker are `not_verified`: no verifier runs). After the voice was "
    "deleted: the audit entry, hashes and times only.",
    tags=["voices"],
    responses=answers(ConsentView, NOT_FOUND),
)
def get_consent(voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> ConsentView:
    return voices.get_consent(services(), tenant_of(router), voice_id)
