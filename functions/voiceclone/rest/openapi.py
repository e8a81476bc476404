"""What every route declares and needs: the OpenAPI document's parts, the id pattern, the caller's tenant."""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from voiceclone.domain.api_models import ErrorBody, GatewayMessage
from voiceclone.domain.consent import Requester
from voiceclone.rest.errors import Unauthenticated

TITLE = "voiceclone"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "One REST API in front of several voice-cloning vendors. Every route but this document takes "
    "`Authorization: Bearer <API key>`; the key names the tenant, and a tenant sees only its own jobs "
    "and voices."
)

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


def openapi_options() -> dict[str, Any]:
    """What the OpenAPI document says about the API as a whole."""
    return {
        "title": TITLE,
        "version": API_VERSION,
        "description": DESCRIPTION,
        "security_schemes": {"apiKey": HTTPBearer(description="An API key: `Authorization: Bearer vck_...`")},
        "security": [{"apiKey": []}],
    }


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


def _authorizer(router: Router) -> dict[str, Any]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    ctx = event.request_context
    return (ctx.authorizer.raw_event if ctx.authorizer else None) or {}


def tenant_of(router: Router) -> str:
    """The caller's tenant, from the authorizer's context: nothing the client sends names it."""
    tenant = _authorizer(router).get("tenant_id")
    if not tenant:
        raise Unauthenticated("Unauthenticated", "send Authorization: Bearer <API key>")
    return str(tenant)


def caller_of(router: Router) -> Requester:
    """The caller's tenant and the id of the key it used (what a job records as who asked for it)."""
    tenant = tenant_of(router)
    key_id = _authorizer(router).get("api_key_id")
    if not key_id:
        raise Unauthenticated("Unauthenticated", "send Authorization: Bearer <API key>")
    return Requester(tenant_id=tenant, api_key_id=str(key_id))
