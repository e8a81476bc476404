"""Routes of comparisons: create (the takes to record once, one job per vendor), read, list."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from voiceclone.domain.api_models import ComparisonPage, ComparisonView, CreateComparisonRequest
from voiceclone.logic.comparisons import comparisons
from voiceclone.logic.core.services import services
from voiceclone.observability import metrics
from voiceclone.rest.openapi import (
    CONFLICT,
    ERRORS,
    ID_PATTERN,
    JSON_ONLY,
    NOT_FOUND,
    VENDOR,
    answers,
    caller_of,
    tenant_of,
)

router = Router()  # type: ignore[no-untyped-call]


@router.post(
    "/v1/comparisons",
    summary="Clone one speaker's voice at several vendors from one recording session",
    description="Returns the takes to record once (the first, `consent`, is one statement naming every "
    "chosen vendor), each with a presigned S3 POST, the documents the vendors require, and one job per "
    "vendor (an ordinary job: GET /v1/jobs/{job_id}). The fewest takes that serve every vendor are asked "
    "for: a vendor with a script of its own gets its sentences, one that reads any text reuses the others' "
    "takes. When every take is in, each vendor's job is checked and trained from its share of them; one "
    "vendor failing or being slow holds none of the others. Every problem of the request is named at once "
    "(422).",
    tags=["comparisons"],
    responses=answers(
        ComparisonView,
        {400: ERRORS},
        NOT_FOUND,
        CONFLICT,
        JSON_ONLY,
        VENDOR,
        status=201,
        description="The comparison",
    ),
)
def create_comparison(body: CreateComparisonRequest) -> Response[ComparisonView]:
    view = comparisons.create_comparison(services(), caller_of(router), body)
    metrics.add_metric(name="ComparisonCreated", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=view)


@router.get(
    "/v1/comparisons",
    summary="List comparisons, newest first",
    tags=["comparisons"],
    responses=answers(ComparisonPage, NOT_FOUND),
)
def list_comparisons(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ComparisonPage:
    return comparisons.list_comparisons(services(), tenant_of(router), limit, cursor)


@router.get(
    "/v1/comparisons/<comparison_id>",
    summary="Get a comparison: its takes and, per vendor, its job, voice, error and time to ready",
    tags=["comparisons"],
    responses=answers(ComparisonView, NOT_FOUND),
)
def get_comparison(comparison_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]) -> ComparisonView:
    return comparisons.get_comparison(services(), tenant_of(router), comparison_id)
