"""Routes of jobs: create (the sentences to record), read, list, cancel, new upload URLs; vendor texts."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from voiceclone.domain.api_models import CreateJobRequest, JobPage, JobView, TrainingTexts, UploadTarget
from voiceclone.logic.core.services import services
from voiceclone.logic.training import jobs
from voiceclone.observability import metrics, tag_vendor
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
    "/v1/jobs",
    summary="Create a voice-cloning job",
    description="Returns the sentences to record, each with a presigned S3 POST for its recording. The "
    "first, `consent`, is the speaker's consent statement (`consent.statement`), naming the speaker, your "
    "organisation (PATCH /v1/settings; 409 `OrganisationNameMissing` until set) and the vendor, with a "
    "one-time phrase: no vendor task is created until it is recorded and passes its check.",
    tags=["jobs"],
    responses=answers(
        JobView, {400: ERRORS}, NOT_FOUND, CONFLICT, JSON_ONLY, status=201, description="The job"
    ),
)
def create_job(body: CreateJobRequest) -> Response[JobView]:
    view = jobs.create_job(services(), caller_of(router), body)
    tag_vendor(view.vendor)
    metrics.add_metric(name="JobCreated", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=view)


@router.get(
    "/v1/jobs",
    summary="List jobs, newest first",
    tags=["jobs"],
    responses=answers(JobPage, NOT_FOUND),
)
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> JobPage:
    return jobs.list_jobs(services(), tenant_of(router), limit, cursor)


@router.get(
    "/v1/jobs/<job_id>",
    summary="Get a job with its sentences and their check results",
    tags=["jobs"],
    responses=answers(JobView, NOT_FOUND),
)
def get_job(job_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]) -> JobView:
    return jobs.get_job(services(), tenant_of(router), job_id)


@router.post(
    "/v1/jobs/<job_id>/cancel",
    summary="Cancel a job",
    description="Stops the workflow and, where the vendor's API allows, the vendor's training task; the "
    "job ends CANCELLED and nothing moves it afterwards. `note` says what the vendor could not stop.",
    tags=["jobs"],
    responses=answers(JobView, NOT_FOUND, CONFLICT, VENDOR),
)
def cancel_job(job_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]) -> JobView:
    view = jobs.cancel_job(services(), tenant_of(router), job_id)
    tag_vendor(view.vendor)
    metrics.add_metric(name="JobCancelled", unit="Count", value=1)
    return view


@router.post(
    "/v1/jobs/<job_id>/sentences/<text_id>/upload-url",
    summary="A new upload URL for one sentence",
    description="To record a rejected sentence again (the job is CHECK_FAILED) or replace a lapsed URL. "
    "When every rejected sentence is uploaded again, only those are checked and the job goes on.",
    tags=["jobs"],
    responses=answers(UploadTarget, NOT_FOUND, CONFLICT),
)
def new_upload_url(
    job_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    text_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=32)],
) -> UploadTarget:
    return jobs.new_upload_url(services(), tenant_of(router), job_id, text_id)


@router.get(
    "/v1/vendors/<vendor>/training-texts",
    summary="The sentences a speaker records for a vendor",
    tags=["vendors"],
    responses=answers(TrainingTexts, NOT_FOUND, VENDOR),
)
def training_texts(vendor: Annotated[str, Path(pattern=ID_PATTERN, max_length=32)]) -> TrainingTexts:
    return jobs.training_texts(services(), vendor)
