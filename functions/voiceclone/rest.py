"""The REST API: routes, validation and error mapping over voiceclone.logic.

``voiceclone.handlers.api`` is the Lambda entry point; it imports this module on its first call
(or before the SnapStart snapshot), so the entry's own import stays short (README, "Cold starts").

The OpenAPI document is generated from these routes and models (GET /v1/openapi.json);
with VOICECLONE_SWAGGER_UI=true (the local stack) Swagger UI is served at /v1/docs.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, date, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from voiceclone.domain.api_models import (
    CreateJobRequest,
    ErrorBody,
    GatewayMessage,
    JobPage,
    JobView,
    RenameVoiceRequest,
    SpeechPage,
    SpeechRequest,
    SpeechView,
    TrainingTexts,
    UploadTarget,
    UsageView,
    VoicePage,
    VoiceView,
    WebhookSecret,
)
from voiceclone.domain.errors import (
    Conflict,
    InvalidField,
    InvalidRequest,
    NotFound,
    StorageError,
    VendorError,
    VoicecloneError,
)
from voiceclone.domain.models import SpeechStatus, VoiceState
from voiceclone.logic import jobs, voices
from voiceclone.logic.services import services
from voiceclone.observability import log_metrics, logger, metrics, tag_vendor

# The browser origins allowed to call the API (the studio's CloudFront origin; infra/studio.py sets it).
ENV_CORS_ORIGINS = "VOICECLONE_CORS_ORIGINS"


def cors_config() -> CORSConfig | None:
    """CORS limited to the configured origins; none configured, no CORS header at all (read at import)."""
    origins = [o.strip() for o in os.environ.get(ENV_CORS_ORIGINS, "").split(",") if o.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type", "Accept"],
        expose_headers=["Location", "Voiceclone-Speech-Id"],
        max_age=600,
    )


app = APIGatewayRestResolver(enable_validation=True, cors=cors_config())
TITLE = "voiceclone"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "One REST API in front of several voice-cloning vendors. Every route but this document takes "
    "`Authorization: Bearer <API key>`; the key names the tenant, and a tenant sees only its own jobs "
    "and voices."
)


def openapi_options() -> dict[str, Any]:
    """What the OpenAPI document says about the API as a whole (its models load only when asked for)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {
        "title": TITLE,
        "version": API_VERSION,
        "description": DESCRIPTION,
        "security_schemes": {"apiKey": HTTPBearer(description="An API key: `Authorization: Bearer vck_...`")},
        "security": [{"apiKey": []}],
    }


if os.environ.get("VOICECLONE_SWAGGER_UI", "").lower() == "true":
    app.enable_swagger(path="/v1/docs", **openapi_options())

# Job, voice, sentence and vendor ids: letters, digits, '_' and '-' (what the service issues).
ID_PATTERN = r"^[A-Za-z0-9_-]+$"

# The error responses each route declares in the OpenAPI document, besides 422 (validation).
ERRORS: OpenAPIResponse = {
    "description": "An error: what went wrong and what to do",
    "content": {"application/json": {"model": ErrorBody}},
}
UNAUTHENTICATED: dict[int, OpenAPIResponse] = {
    401: {
        "description": "No API key, or an unknown or revoked one (answered by API Gateway)",
        "content": {"application/json": {"model": GatewayMessage}},
    }
}
NOT_FOUND: dict[int, OpenAPIResponse] = {404: ERRORS}
CONFLICT: dict[int, OpenAPIResponse] = {409: ERRORS}
VENDOR: dict[int, OpenAPIResponse] = {502: ERRORS, 503: ERRORS}
# Routes that take a JSON body refuse any other media type, and a body over MAX_BODY_BYTES.
JSON_ONLY: dict[int, OpenAPIResponse] = {413: ERRORS, 415: ERRORS}
# Any route: the service's storage (DynamoDB, S3, Step Functions) failed or did not answer; retry.
UNAVAILABLE: dict[int, OpenAPIResponse] = {503: ERRORS}


def answers(
    model: type[Any], *errors: dict[int, OpenAPIResponse], status: int = 200, description: str = "OK"
) -> dict[int, OpenAPIResponse]:
    """A route's documented responses: its success (`model`), the errors named, 401 and 503."""
    documented: dict[int, OpenAPIResponse] = {
        status: {"description": description, "content": {"application/json": {"model": model}}}
    }
    for group in (*errors, UNAUTHENTICATED, UNAVAILABLE):
        documented.update(group)
    return documented


class Unauthenticated(VoicecloneError):
    pass


def tenant_id() -> str:
    """The caller's tenant, from the authorizer's context: nothing the client sends names it."""
    ctx = app.current_event.request_context
    authorizer = (ctx.authorizer.raw_event if ctx.authorizer else None) or {}
    tenant = authorizer.get("tenant_id")
    if not tenant:
        raise Unauthenticated("Unauthenticated", "send Authorization: Bearer <API key>")
    return str(tenant)


def _error(status: int, exc: VoicecloneError) -> Response[Any]:
    body = ErrorBody(error=exc.code, message=exc.message, details={k: v for k, v in exc.details.items()})
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


# A request body larger than any this API takes is refused before it is parsed; so is JSON nested
# deeper than any request model goes (a parser's recursion must not be the client's to spend).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16


def _refuse_unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a body that is not small, UTF-8, sanely nested JSON text (an API Gateway proxy response).

    413 over MAX_BODY_BYTES, 415 for another declared media type, 422 (in the validation error's
    shape) for bytes that are not UTF-8, JSON nested deeper than MAX_JSON_DEPTH, or a string
    holding a lone surrogate (valid JSON escapes, but no Unicode text: nothing downstream can
    encode it). JSON syntax errors are left to the validation, which names where they are.
    """
    raw = event.get("body")
    if not raw:
        return None
    if _body_bytes(raw, bool(event.get("isBase64Encoded"))) > MAX_BODY_BYTES:
        error = ErrorBody(
            error="PayloadTooLarge", message=f"the body is over {MAX_BODY_BYTES} bytes; no request needs that"
        )
        return _proxy_response(413, error.model_dump_json())
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json":
        return _proxy_response(415, _unsupported_media_type(media_type).model_dump_json())
    text = raw
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(raw, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _invalid_body(["body"], "the body is not UTF-8 encoded JSON", "json_invalid")
    try:
        value = json.loads(text)
    except ValueError:
        return None  # the validation names the syntax error
    except RecursionError:  # nested deeper than the parser goes
        return _invalid_body(["body"], f"JSON nested deeper than {MAX_JSON_DEPTH} levels", "json_depth")
    problem = _json_problem(value)
    return _invalid_body(*problem) if problem else None


def _body_bytes(raw: str, base64_encoded: bool) -> int:
    """The body's size in bytes as the client sent it (a character of text may take up to four)."""
    if base64_encoded:
        return len(raw) * 3 // 4
    if len(raw) > MAX_BODY_BYTES:
        return len(raw)  # over the limit whatever the encoding: no need to encode it
    return len(raw.encode("utf-8", "surrogatepass"))


def _json_problem(value: Any) -> tuple[list[str | int], str, str] | None:
    """(loc, msg, type) of the first value too deeply nested or holding a lone surrogate, else None."""
    stack: list[tuple[list[str | int], Any]] = [(["body"], value)]
    while stack:
        loc, item = stack.pop()
        if len(loc) - 1 > MAX_JSON_DEPTH:
            return loc[: MAX_JSON_DEPTH + 1], f"JSON nested deeper than {MAX_JSON_DEPTH} levels", "json_depth"
        children: list[tuple[Any, Any]] = []
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        for key, child in children:
            if isinstance(key, str) and _has_surrogate(key):
                return loc, "a key holds a lone surrogate: not Unicode text", "string_unicode"
            stack.append(([*loc, _safe(key)], child))
        if isinstance(item, str) and _has_surrogate(item):
            return loc, "the string holds a lone surrogate (e.g. \\ud800): not Unicode text", "string_unicode"
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe(key: Any) -> str | int:
    return key if isinstance(key, int) else key.encode("utf-8", "backslashreplace").decode()[:64]


def _invalid_body(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return _proxy_response(422, json.dumps(validation_error_body([{"loc": loc, "msg": msg, "type": kind}])))


def _unsupported_media_type(media_type: str) -> ErrorBody:
    shown = media_type.encode("ascii", "backslashreplace").decode()[:100] or "no media type"
    return ErrorBody(error="UnsupportedMediaType", message=f"send the body as application/json, not {shown}")


def _proxy_response(status: int, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def reject_unknown_query_parameters(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """A query parameter the route does not take is an error, not silently ignored (`?limt=5`)."""
    route = app.context.get("_route")  # the matched route, as Powertools' own validation reads it
    known = {p.alias for p in route.dependant.query_params} if route is not None else set()
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter; this route takes {takes}",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
    return next_middleware(app)


app.use([reject_unknown_query_parameters])


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _validation_error(exc: RequestValidationError) -> Response[Any]:
    """422 in the documented shape (Powertools' own drops `msg`, which its schema requires)."""
    detail = [
        {"loc": list(e["loc"]), "msg": _message(e), "type": str(e.get("type", ""))} for e in exc.errors()
    ]
    return Response(
        status_code=422, content_type=content_types.APPLICATION_JSON, body=validation_error_body(detail)
    )


def _message(error: dict[str, Any]) -> str:
    """A validation error's message; an unknown body field says which fields the body takes."""
    if error.get("type") == "extra_forbidden" and len(error["loc"]) == 2 and error["loc"][0] == "body":
        return f"unknown field; this body takes {', '.join(_body_fields())}"
    return str(error.get("msg", ""))


def _body_fields() -> list[str]:
    """The fields of the matched route's body model."""
    route = app.context.get("_route")
    params = route.dependant.body_params if route is not None else []
    model = params[0].type_ if params else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ["only the fields its schema lists"]
    return sorted(model.model_fields)


def validation_error_body(detail: list[dict[str, Any]], error: str = "InvalidRequest") -> dict[str, Any]:
    """A 422's body: Powertools' documented `detail` list ({loc, msg, type}), and a one-line summary."""
    summary = "; ".join(f"{'.'.join(str(x) for x in d['loc'])}: {d['msg']}" for d in detail)
    return {"error": error, "message": summary or "the request is not valid", "detail": detail}


@app.exception_handler(InvalidField)  # type: ignore[untyped-decorator]
def _invalid_field(exc: InvalidField) -> Response[Any]:
    """A rule beyond the schema (e.g. the vendor's name length): a 422 like the schema's own."""
    detail = [{"loc": list(exc.loc), "msg": exc.message, "type": exc.code}]
    return Response(
        status_code=422,
        content_type=content_types.APPLICATION_JSON,
        body={**validation_error_body(detail, exc.code), "message": exc.message, "details": exc.details},
    )


@app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    media_type = app.current_event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return Response(
        status_code=415,
        content_type=content_types.APPLICATION_JSON,
        body=_unsupported_media_type(media_type).model_dump_json(),
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


@app.exception_handler(StorageError)  # type: ignore[untyped-decorator]
def _storage_error(exc: StorageError) -> Response[Any]:
    logger.warning("storage error", extra={"code": exc.code})
    return _error(503, exc)


@app.exception_handler(ClientError)  # type: ignore[untyped-decorator]
def _aws_error(exc: ClientError) -> Response[Any]:
    """DynamoDB, S3 or Step Functions refused or failed a call: the client may retry, so 503."""
    code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
    logger.warning("AWS error", extra={"operation": exc.operation_name, "code": code})
    return _unavailable()


@app.exception_handler(BotoCoreError)  # type: ignore[untyped-decorator]
def _aws_unreachable(exc: BotoCoreError) -> Response[Any]:
    """An AWS endpoint did not answer (EndpointConnectionError, timeouts): 503 as well."""
    logger.warning("AWS unreachable", extra={"error": type(exc).__name__})
    return _unavailable()


def _unavailable() -> Response[Any]:
    error = StorageError("ServiceUnavailable", "the service's storage did not answer; try again shortly")
    response = _error(503, error)
    response.headers["Retry-After"] = "1"
    return response


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
    responses=answers(JobView, {400: ERRORS}, NOT_FOUND, JSON_ONLY, status=201, description="The job"),
)
def create_job(body: CreateJobRequest) -> Response[JobView]:
    view = jobs.create_job(services(), tenant_id(), body)
    tag_vendor(view.vendor)
    metrics.add_metric(name="JobCreated", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=view)


@app.get(
    "/v1/jobs",
    summary="List jobs, newest first",
    tags=["jobs"],
    responses=answers(JobPage, NOT_FOUND),
)
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> JobPage:
    return jobs.list_jobs(services(), tenant_id(), limit, cursor)


@app.get(
    "/v1/jobs/<job_id>",
    summary="Get a job with its sentences and their check results",
    tags=["jobs"],
    responses=answers(JobView, NOT_FOUND),
)
def get_job(job_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]) -> JobView:
    return jobs.get_job(services(), tenant_id(), job_id)


@app.post(
    "/v1/jobs/<job_id>/cancel",
    summary="Cancel a job",
    description="Stops the workflow and, where the vendor's API allows, the vendor's training task; the "
    "job ends CANCELLED and nothing moves it afterwards. `note` says what the vendor could not stop.",
    tags=["jobs"],
    responses=answers(JobView, NOT_FOUND, CONFLICT, VENDOR),
)
def cancel_job(job_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]) -> JobView:
    view = jobs.cancel_job(services(), tenant_id(), job_id)
    tag_vendor(view.vendor)
    metrics.add_metric(name="JobCancelled", unit="Count", value=1)
    return view


@app.post(
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
    return jobs.new_upload_url(services(), tenant_id(), job_id, text_id)


@app.get(
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
    return voices.list_voices(services(), tenant_id(), limit, cursor, vendor, state)


@app.get(
    "/v1/voices/<voice_id>",
    summary="Get a voice with what a TTS call at its vendor needs",
    tags=["voices"],
    responses=answers(VoiceView, NOT_FOUND),
)
def get_voice(voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> VoiceView:
    return voices.get_voice(services(), tenant_id(), voice_id)


@app.patch(
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
    return voices.rename_voice(services(), tenant_id(), voice_id, body.name)


@app.delete(
    "/v1/voices/<voice_id>",
    summary="Delete a voice",
    description="Deleted at the vendor where its API allows (else `note` says it remains there), its "
    "recordings deleted from S3, and the voice kept as DELETED. Deleting again changes nothing.",
    tags=["voices"],
    responses=answers(VoiceView, NOT_FOUND, VENDOR),
)
def delete_voice(voice_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> VoiceView:
    view = voices.delete_voice(services(), tenant_id(), voice_id)
    tag_vendor(view.vendor)
    metrics.add_metric(name="VoiceDeleted", unit="Count", value=1)
    return view


# Speech. voiceclone.logic.speech is imported inside these routes: no other route loads it.
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


@app.post(
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
    from voiceclone.logic import speech

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
        view, audio = speech.speak(services(), tenant_id(), voice_id, body, audio_response=wanted is not None)
    except speech.AudioNotReady as exc:
        raise NotAcceptable(exc.code, exc.message, **exc.details) from exc
    tag_vendor(view.vendor)
    metrics.add_metric(name="SpeechCreated", unit="Count", value=1)
    metrics.add_metric(name="SpeechCharacters", unit="Count", value=view.characters)
    if wanted is not None:
        # Encoded here, not by Powertools: its response validation would take bytes for UTF-8 text.
        response: Response[Any] = Response(
            status_code=201,
            content_type=speech.CONTENT_TYPES[view.format],
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


class NotAcceptable(VoicecloneError):
    pass


@app.exception_handler(NotAcceptable)  # type: ignore[untyped-decorator]
def _not_acceptable(exc: NotAcceptable) -> Response[Any]:
    return _error(406, exc)


def _audio_accepted(body_format: str) -> str | None:
    """The audio format the Accept header asks for (wav or mp3), None for JSON; 406 when it takes neither.

    Content negotiation as HTTP defines it: each media type gets the quality of the most specific range
    that matches it (``audio/wav`` over ``audio/*`` over ``*/*``), ``q=0`` means "not this", and the
    highest quality wins; on a tie the range written first wins, then JSON, then the body's own format.
    """
    from voiceclone.logic.speech import FORMAT_OF_MEDIA_TYPE

    accept = app.current_event.headers.get("accept") or app.current_event.headers.get("Accept") or ""
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


@app.get(
    "/v1/speech/<speech_id>",
    summary="Get a speech, with a fresh URL of its audio",
    tags=["speech"],
    responses=answers(SpeechView, NOT_FOUND),
)
def get_speech(speech_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=80)]) -> SpeechView:
    from voiceclone.logic import speech

    return speech.get_speech(services(), tenant_id(), speech_id)


@app.get(
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
    from voiceclone.logic import speech

    return speech.list_speech(services(), tenant_id(), voice_id, limit, cursor)


# A day as YYYY-MM-DD and nothing else (a date type would also take a Unix time such as "0").
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@app.get(
    "/v1/usage",
    summary="What the tenant used per vendor: characters synthesized and voices cloned",
    description="Whole days (UTC), both ends included; `from` defaults to the first of `to`'s month, "
    "`to` to today. At most 366 days.",
    tags=["usage"],
    responses=answers(UsageView, {400: ERRORS}),
)
def get_usage(
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN, description="YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=DAY_PATTERN, description="YYYY-MM-DD")] = None,
) -> UsageView:
    from voiceclone.logic import speech

    return speech.usage(services(), tenant_id(), _day(start), _day(end), datetime.now(tz=UTC).date())


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest("InvalidDate", f"{value} is no day of the calendar (YYYY-MM-DD)") from exc


@app.get(
    "/v1/vendors/<vendor>/training-texts",
    summary="The sentences a speaker records for a vendor",
    tags=["vendors"],
    responses=answers(TrainingTexts, NOT_FOUND, VENDOR),
)
def training_texts(vendor: Annotated[str, Path(pattern=ID_PATTERN, max_length=32)]) -> TrainingTexts:
    return jobs.training_texts(services(), vendor)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    """The OpenAPI document of this API, generated from the routes above (no API key needed)."""
    from aws_lambda_powertools.event_handler.openapi.models import Server

    base = app._get_base_path()  # the stage, e.g. /prod, so "Try it out" calls the right URL
    body = app.get_openapi_json_schema(servers=[Server(url=base or "/")], **openapi_options())
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get(
    "/v1/webhooks/secret",
    summary="The secret that signs this tenant's webhooks",
    description="Made on first use. Verify each delivery's Voiceclone-Signature with it (docs/events.md).",
    tags=["webhooks"],
    responses=answers(WebhookSecret),
)
def get_webhook_secret() -> WebhookSecret:
    secret, created_at = services().repo.webhook_secret(tenant_id())
    return WebhookSecret(secret=secret, created_at=created_at)


@app.post(
    "/v1/webhooks/secret/rotate",
    summary="Replace the webhook signing secret",
    description="Deliveries from now on are signed with the new secret only.",
    tags=["webhooks"],
    responses=answers(WebhookSecret),
)
def rotate_webhook_secret() -> WebhookSecret:
    secret, created_at = services().repo.rotate_webhook_secret(tenant_id())
    metrics.add_metric(name="WebhookSecretRotated", unit="Count", value=1)
    return WebhookSecret(secret=secret, created_at=created_at)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@log_metrics
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One API Gateway proxy event: refused if its body cannot be read, otherwise routed."""
    return _refuse_unreadable_body(event) or app.resolve(event, context)
