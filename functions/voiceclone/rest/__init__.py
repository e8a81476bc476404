"""The REST API: one resolver over a Powertools ``Router`` per resource, and the function's handler.

Routers: jobs (and a vendor's training texts), comparisons, blind listening on a comparison, voices,
speech, account (usage, the webhook secret), labels (what a file's labels say, the tenant's label
policy); the OpenAPI document is the resolver's own. Request hardening (voiceclone.rest.hardening)
runs before routing and the exception-to-answer mapping (voiceclone.rest.errors) is registered
once, for every route. The function's entry (voiceclone.handlers.table, ``api``) resolves
:func:`handle` on its first call, or before the SnapStart snapshot.

The OpenAPI document is generated from the routes and models (GET /v1/openapi.json); with
VOICECLONE_SWAGGER_UI=true (the local stack) Swagger UI is served at /v1/docs.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger
from voiceclone.rest import (
    account,
    comparisons,
    errors,
    jobs,
    labels,
    listening,
    speech,
    speech_stream,
    voices,
)
from voiceclone.rest.hardening import refuse_unreadable_body, reject_unknown_query_parameters
from voiceclone.rest.openapi import openapi_options

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
        expose_headers=["Location", "Voiceclone-Speech-Id", "Voiceclone-Stream", "Voiceclone-Sample-Rate"],
        max_age=600,
    )


def swagger_ui_where_turned_on(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Swagger UI only where the deployment turns it on, read per request: the environment may be set
    after this module was imported (a process that imported it before a local stack started)."""
    if os.environ.get("VOICECLONE_SWAGGER_UI", "").lower() != "true":
        raise NotFoundError("Not found")  # as any route the API does not have
    return next_middleware(app)


app = APIGatewayRestResolver(enable_validation=True, cors=cors_config())
app.enable_swagger(path="/v1/docs", middlewares=[swagger_ui_where_turned_on], **openapi_options())
app.use([reject_unknown_query_parameters])
for router in (
    errors.router,
    jobs.router,
    comparisons.router,
    listening.router,
    voices.router,
    speech.router,
    speech_stream.router,
    account.router,
    labels.router,
):
    app.include_router(router)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    """The OpenAPI document of this API, generated from the routes (no API key needed)."""
    base = app._get_base_path()  # the stage, e.g. /prod, so "Try it out" calls the right URL
    body = app.get_openapi_json_schema(servers=[Server(url=base or "/")], **openapi_options())
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


# The resolver keeps the request it resolves on itself: one request at a time per process (Lambda's
# one invocation per environment; the api and the streaming function, when they share a process).
_resolving = threading.Lock()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@log_metrics
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One API Gateway proxy event: refused if its body cannot be read, otherwise routed."""
    with _resolving:
        return refuse_unreadable_body(event) or app.resolve(event, context)
