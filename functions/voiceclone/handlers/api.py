"""REST API entry point: routes, validation and error mapping over voiceclone.logic.jobs."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.domain.api_models import (
    CreateJobRequest,
    ErrorBody,
    JobPage,
    JobView,
    TrainingTexts,
    UploadTarget,
)
from voiceclone.domain.errors import Conflict, InvalidRequest, NotFound, VendorError, VoicecloneError
from voiceclone.logic import jobs
from voiceclone.logic.services import services
from voiceclone.observability import logger, metrics

app = APIGatewayRestResolver(enable_validation=True)


class Unauthenticated(VoicecloneError):
    pass


def tenant_id() -> str:
    """The caller's tenant: an authorizer's tenant id, else the IAM caller's AWS account."""
    ctx = app.current_event.request_context
    authorizer = ctx.authorizer.raw_event if ctx.authorizer else {}
    tenant = (authorizer or {}).get("tenant_id") or ctx.identity.account_id
    if not tenant:
        raise Unauthenticated("Unauthenticated", "sign the request (AWS SigV4) or use the local stack's key")
    return str(tenant)


def _error(status: int, exc: VoicecloneError) -> Response[Any]:
    body = ErrorBody(error=exc.code, message=exc.message, details={k: v for k, v in exc.details.items()})
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


@app.exception_handler(NotFound)  # type: ignore[untyped-decorator]
def _not_found(exc: NotFound) -> Response[Any]:
    return _error(404, exc)


@app.exception_handler(Conflict)  # type: ignore[untyped-decorator]
def _conflict(exc: Conflict) -> Response[Any]:
    return _error(409, exc)


@app.exception_handler(InvalidRequest)  # type: ignore[untyped-decorator]
def _invalid(exc: InvalidRequest) -> Response[Any]:
    return _error(400, exc)


@app.exception_handler(Unauthenticated)  # type: ignore[untyped-decorator]
def _unauthenticated(exc: Unauthenticated) -> Response[Any]:
    return _error(401, exc)


@app.exception_handler(VendorError)  # type: ignore[untyped-decorator]
def _vendor_error(exc: VendorError) -> Response[Any]:
    # The vendor's own code stays visible; 503 when retrying may help, 502 when it will not.
    logger.warning("vendor error", extra={"vendor": exc.vendor, "code": exc.code})
    return _error(503 if exc.retryable else 502, exc)


@app.post(
    "/v1/jobs",
    summary="Create a voice-cloning job",
    description="Returns the sentences to record, each with a presigned S3 POST for its recording.",
    tags=["jobs"],
    responses={201: {"description": "The job", "content": {"application/json": {"model": JobView}}}},
)
def create_job(body: CreateJobRequest) -> Response[JobView]:
    view = jobs.create_job(services(), tenant_id(), body)
    metrics.add_metric(name="JobCreated", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=view)


@app.get("/v1/jobs", summary="List jobs, newest first", tags=["jobs"])
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: Annotated[str | None, Query()] = None
) -> JobPage:
    return jobs.list_jobs(services(), tenant_id(), limit, cursor)


@app.get("/v1/jobs/<job_id>", summary="Get a job with its sentences and their check results", tags=["jobs"])
def get_job(job_id: Annotated[str, Path(min_length=1, max_length=64)]) -> JobView:
    return jobs.get_job(services(), tenant_id(), job_id)


@app.post(
    "/v1/jobs/<job_id>/sentences/<text_id>/upload-url",
    summary="A new upload URL for one sentence",
    description="To record a rejected sentence again (the job is CHECK_FAILED) or replace a lapsed URL. "
    "When every rejected sentence is uploaded again, only those are checked and the job goes on.",
    tags=["jobs"],
)
def new_upload_url(
    job_id: Annotated[str, Path(min_length=1, max_length=64)],
    text_id: Annotated[str, Path(min_length=1, max_length=32)],
) -> UploadTarget:
    return jobs.new_upload_url(services(), tenant_id(), job_id, text_id)


@app.get(
    "/v1/vendors/<vendor>/training-texts",
    summary="The sentences a speaker records for a vendor",
    tags=["vendors"],
)
def training_texts(vendor: Annotated[str, Path(min_length=1, max_length=32)]) -> TrainingTexts:
    return jobs.training_texts(services(), vendor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
