"""Every exception a route may raise, and the one answer each becomes: status, ``error``, ``message``.

The mapping, in one place (registered on the resolver by voiceclone.rest):

==========================================  ====  =================================================
RequestValidationError, InvalidField        422   ``detail`` lists each field and what is wrong
RequestUnsupportedContentType               415   the body must be application/json
InvalidRequest                              400
Unauthenticated                             401   (API Gateway's authorizer answers first in AWS)
NotFound                                    404   another tenant's record is reported as missing
NotAcceptable                               406   the Accept header takes nothing the route serves
Conflict                                    409   the record's state forbids it
VendorError                                 503   retryable (throttled, unavailable), else 502;
                                                  the vendor's own code stays visible
StorageError, ClientError, BotoCoreError    503   with Retry-After: the service's storage failed
LabelError                                  503   SigningFailed (KMS did not sign): retry;
                                            500   else the deployment cannot label (its
                                                  configuration): no unlabelled audio goes out
==========================================  ====  =================================================
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from voiceclone.domain.api_models import ErrorBody
from voiceclone.domain.errors import (
    Conflict,
    InvalidField,
    InvalidFields,
    InvalidRequest,
    NotFound,
    StorageError,
    VendorError,
    VoicecloneError,
)
from voiceclone.observability import logger
from voiceclone.provenance.errors import LabelError

router = Router()  # type: ignore[no-untyped-call]


class Unauthenticated(VoicecloneError):
    """No tenant in the authorizer's context (no key, or no authorizer in front)."""


class NotAcceptable(VoicecloneError):
    """The client's Accept header takes nothing the route can serve."""


def error_response(status: int, exc: VoicecloneError) -> Response[Any]:
    body = ErrorBody(error=exc.code, message=exc.message, details={k: v for k, v in exc.details.items()})
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


def validation_error_body(detail: list[dict[str, Any]], error: str = "InvalidRequest") -> dict[str, Any]:
    """A 422's body: Powertools' documented `detail` list ({loc, msg, type}), and a one-line summary."""
    summary = "; ".join(f"{'.'.join(str(x) for x in d['loc'])}: {d['msg']}" for d in detail)
    return {"error": error, "message": summary or "the request is not valid", "detail": detail}


def unsupported_media_type(media_type: str) -> ErrorBody:
    shown = media_type.encode("ascii", "backslashreplace").decode()[:100] or "no media type"
    return ErrorBody(error="UnsupportedMediaType", message=f"send the body as application/json, not {shown}")


@router.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
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
    route = router.context.get("_route")  # the matched route, as Powertools' own validation reads it
    params = route.dependant.body_params if route is not None else []
    model = params[0].type_ if params else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ["only the fields its schema lists"]
    return sorted(model.model_fields)


@router.exception_handler(InvalidField)  # type: ignore[untyped-decorator]
def _invalid_field(exc: InvalidField) -> Response[Any]:
    """A rule beyond the schema (e.g. the vendor's name length): a 422 like the schema's own."""
    detail = [{"loc": list(exc.loc), "msg": exc.message, "type": exc.code}]
    return Response(
        status_code=422,
        content_type=content_types.APPLICATION_JSON,
        body={**validation_error_body(detail, exc.code), "message": exc.message, "details": exc.details},
    )


@router.exception_handler(InvalidFields)  # type: ignore[untyped-decorator]
def _invalid_fields(exc: InvalidFields) -> Response[Any]:
    """Every field's problem at once, each in a validation error's shape."""
    detail = [{"loc": list(loc), "msg": msg, "type": code} for loc, code, msg in exc.problems]
    return Response(
        status_code=422, content_type=content_types.APPLICATION_JSON, body=validation_error_body(detail)
    )


@router.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    media_type = router.current_event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return Response(
        status_code=415,
        content_type=content_types.APPLICATION_JSON,
        body=unsupported_media_type(media_type).model_dump_json(),
    )


@router.exception_handler(NotFound)  # type: ignore[untyped-decorator]
def _not_found(exc: NotFound) -> Response[Any]:
    return error_response(404, exc)


@router.exception_handler(Conflict)  # type: ignore[untyped-decorator]
def _conflict(exc: Conflict) -> Response[Any]:
    return error_response(409, exc)


@router.exception_handler(InvalidRequest)  # type: ignore[untyped-decorator]
def _invalid(exc: InvalidRequest) -> Response[Any]:
    return error_response(400, exc)


@router.exception_handler(Unauthenticated)  # type: ignore[untyped-decorator]
def _unauthenticated(exc: Unauthenticated) -> Response[Any]:
    return error_response(401, exc)


@router.exception_handler(NotAcceptable)  # type: ignore[untyped-decorator]
def _not_acceptable(exc: NotAcceptable) -> Response[Any]:
    return error_response(406, exc)


@router.exception_handler(StorageError)  # type: ignore[untyped-decorator]
def _storage_error(exc: StorageError) -> Response[Any]:
    logger.warning("storage error", extra={"code": exc.code})
    return error_response(503, exc)


@router.exception_handler(ClientError)  # type: ignore[untyped-decorator]
def _aws_error(exc: ClientError) -> Response[Any]:
    """DynamoDB, S3 or Step Functions refused or failed a call: the client may retry, so 503."""
    code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
    logger.warning("AWS error", extra={"operation": exc.operation_name, "code": code})
    return _unavailable()


@router.exception_handler(BotoCoreError)  # type: ignore[untyped-decorator]
def _aws_unreachable(exc: BotoCoreError) -> Response[Any]:
    """An AWS endpoint did not answer (EndpointConnectionError, timeouts): 503 as well."""
    logger.warning("AWS unreachable", extra={"error": type(exc).__name__})
    return _unavailable()


def _unavailable() -> Response[Any]:
    error = StorageError("ServiceUnavailable", "the service's storage did not answer; try again shortly")
    response = error_response(503, error)
    response.headers["Retry-After"] = "1"
    return response


@router.exception_handler(VendorError)  # type: ignore[untyped-decorator]
def _vendor_error(exc: VendorError) -> Response[Any]:
    # The vendor's own code stays visible; 503 when retrying may help, 502 when it will not.
    logger.warning("vendor error", extra={"vendor": exc.vendor, "code": exc.code})
    return error_response(503 if exc.retryable else 502, exc)


@router.exception_handler(LabelError)  # type: ignore[untyped-decorator]
def _label_error(exc: LabelError) -> Response[Any]:
    """The audio could not be labelled (or a file checked): nothing unlabelled is handed out."""
    logger.error("labelling failed", extra={"code": exc.code, "reason": exc.message})
    if exc.code == "SigningFailed":
        response = error_response(503, exc)
        response.headers["Retry-After"] = "1"
        return response
    return error_response(500, exc)
