"""The REST API: client routes behind an API-key authorizer, the vendor callback behind its per-job token.

Why a Lambda TOKEN authorizer over API keys (README "Authentication" says it for users):
API Gateway's own API keys identify usage plans, not callers, and are no authentication;
IAM (SigV4) would make every tenant an AWS principal; Cognito machine-to-machine clients
add a token exchange per client and a user pool to run. A bearer key the service issues,
looked up by its SHA-256 in the jobs table and cached by API Gateway per key, is what
server-to-server API clients expect (as with the voice platforms they already use).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constants import API_STAGE

# Output key of the API's URL (README: `aws cloudformation describe-stacks ... OutputKey=='ApiUrl'`).
API_URL_OUTPUT = "ApiUrl"
THROTTLING_RATE_LIMIT = 50
THROTTLING_BURST_LIMIT = 100
# (method, path) of each client route; all go to the api function behind the authorizer.
CLIENT_ROUTES = (
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{job_id}"),
    ("POST", "/v1/jobs/{job_id}/cancel"),
    ("POST", "/v1/jobs/{job_id}/sentences/{text_id}/upload-url"),
    ("POST", "/v1/comparisons"),
    ("GET", "/v1/comparisons"),
    ("GET", "/v1/comparisons/{comparison_id}"),
    ("POST", "/v1/comparisons/{comparison_id}/pairs"),
    ("POST", "/v1/comparisons/{comparison_id}/votes"),
    ("GET", "/v1/comparisons/{comparison_id}/ranking"),
    ("POST", "/v1/comparisons/{comparison_id}/keep"),
    ("GET", "/v1/voices"),
    ("GET", "/v1/voices/{voice_id}"),
    ("PATCH", "/v1/voices/{voice_id}"),
    ("DELETE", "/v1/voices/{voice_id}"),
    ("GET", "/v1/voices/{voice_id}/consent"),
    ("POST", "/v1/voices/{voice_id}/speech"),
    ("GET", "/v1/voices/{voice_id}/speech"),
    ("GET", "/v1/speech/{speech_id}"),
    ("GET", "/v1/usage"),
    ("GET", "/v1/vendors/{vendor}/training-texts"),
    ("GET", "/v1/webhooks/secret"),
    ("POST", "/v1/webhooks/secret/rotate"),
    ("POST", "/v1/provenance"),
    ("GET", "/v1/labels/policy"),
    ("PUT", "/v1/labels/policy"),
    ("GET", "/v1/settings"),
    ("PATCH", "/v1/settings"),
)
# Bodies API Gateway passes as bytes, base64-encoded both ways: speech audio asked for with `Accept:
# audio/wav` or `audio/mpeg`, and the audio file POST /v1/provenance takes (voiceclone.rest.hardening).
BINARY_MEDIA_TYPES = ("audio/wav", "audio/mpeg", "audio/x-wav", "audio/wave", "application/octet-stream")
# The machine-readable description of the API: public, like any API's documentation.
OPENAPI_ROUTE = ("GET", "/v1/openapi.json")
# Swagger UI, only where StackSettings.swagger_ui is on (the local stack).
SWAGGER_ROUTE = ("GET", "/v1/docs")
CALLBACK_ROUTE = ("POST", "/v1/callbacks/{vendor}/{job_id}")
# Streaming speech: its own function, whose answer API Gateway streams to the client as it is written
# (README "Streaming speech", docs/streaming-runtime.md); behind the same authorizer as every client route.
STREAM_ROUTE = ("POST", "/v1/voices/{voice_id}/speech/stream")
# How long API Gateway lets a streamed answer run (streamed integrations may run up to 15 minutes).
STREAM_TIMEOUT = Duration.minutes(5)
# The header the authorizer reads the API key from.
AUTH_HEADER = "Authorization"
# What a browser page on an allowed origin may send and read (allow_origins).
CORS_HEADERS = (AUTH_HEADER, "Content-Type", "Accept")
CORS_EXPOSED_HEADERS = ("Location", "Voiceclone-Speech-Id", "Voiceclone-Stream", "Voiceclone-Sample-Rate")


class Api(Construct):
    """One REST API for clients and vendors; the routes' handlers are Lambda proxy integrations."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        api_function: lambda_.IFunction,
        callback_function: lambda_.IFunction,
        authorizer_function: lambda_.IFunction,
        *,
        authorizer_cache_seconds: int = 300,
        swagger_ui: bool = False,
        stream_function: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._build_rest_api()
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "ApiKeyAuthorizer",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header(AUTH_HEADER),
            results_cache_ttl=Duration.seconds(authorizer_cache_seconds),
        )
        self._build_client_routes(api_function)
        self._build_public_routes(api_function, swagger_ui)
        self._build_callback_route(callback_function)
        if stream_function is not None:
            self._build_stream_route(stream_function)
        output = CfnOutput(self, "Url", value=self.rest_api.url, description="voiceclone REST API")
        output.override_logical_id(API_URL_OUTPUT)

    @property
    def base_url(self) -> str:
        """The stage URL, built from the API's id alone.

        `rest_api.url` refers to the deployment stage, and the deployment depends on every
        method: callback route → callback function → its grant on the state machine → the
        state machine → submit_training, which gets this URL. The id breaks that cycle.
        """
        stack = Stack.of(self)
        return (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{API_STAGE}/"
        )

    def _build_rest_api(self) -> apigw.RestApi:
        rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name="voiceclone",
            description="voiceclone: one API in front of several voice-cloning vendors",
            cloud_watch_role=True,
            binary_media_types=list(BINARY_MEDIA_TYPES),
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE,
                tracing_enabled=True,
                # Errors only, and never request data: callback URLs carry tokens, bodies carry audio links.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                # The resource path is the route template (/v1/jobs/{job_id}); no query strings.
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=THROTTLING_RATE_LIMIT,
                throttling_burst_limit=THROTTLING_BURST_LIMIT,
            ),
        )
        NagSuppressions.add_resource_suppressions(
            rest_api.deployment_stage,
            [
                NagPackSuppression(
                    id="AwsSolutions-APIG3",
                    reason="No WAF web ACL yet: every client route needs an API key checked by the "
                    "authorizer, the callback route an unguessable per-job token, and the stage is "
                    "throttled. A web ACL is an account-level choice left to the operator.",
                )
            ],
        )
        return rest_api

    def _resource(self, path: str) -> apigw.IResource:
        resource: apigw.IResource = self.rest_api.root
        for part in path.strip("/").split("/"):
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource

    def allow_origins(self, origins: list[str]) -> None:
        """CORS for browsers on `origins` only (the studio, infra/studio.py): a preflight on each client
        and public route, and API Gateway's own errors (401 from the authorizer...) readable there.

        The api function's answers carry the same origins (VOICECLONE_CORS_ORIGINS, Powertools).
        """
        paths = sorted({path for _, path in (*CLIENT_ROUTES, OPENAPI_ROUTE, STREAM_ROUTE)})
        methods = sorted({verb for verb, _ in CLIENT_ROUTES})
        reason = "CORS preflight (OPTIONS): answered by API Gateway itself, carries no credentials by design."
        for path in paths:
            preflight = self._resource(path).add_cors_preflight(
                allow_origins=origins,
                allow_methods=methods,
                allow_headers=list(CORS_HEADERS),
                expose_headers=list(CORS_EXPOSED_HEADERS),
                max_age=Duration.minutes(10),
            )
            NagSuppressions.add_resource_suppressions(
                preflight,
                [
                    NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
                    NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
                ],
            )
        for kind, name in (
            (apigw.ResponseType.DEFAULT_4_XX, "Cors4xx"),
            (apigw.ResponseType.DEFAULT_5_XX, "Cors5xx"),
        ):
            self.rest_api.add_gateway_response(
                name,
                type=kind,
                response_headers={"Access-Control-Allow-Origin": f"'{origins[0]}'", "Vary": "'Origin'"},
            )

    def _build_client_routes(self, fn: lambda_.IFunction) -> None:
        integration = apigw.LambdaIntegration(fn, allow_test_invoke=False)
        for verb, path in CLIENT_ROUTES:
            self._client_method(verb, path, integration)

    def _build_stream_route(self, fn: lambda_.IFunction) -> None:
        """The streamed integration: API Gateway invokes the function with InvokeWithResponseStream
        (the ``response-streaming-invocations`` URI) and passes its answer on as it is written."""
        integration = apigw.LambdaIntegration(
            fn,
            allow_test_invoke=False,
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=STREAM_TIMEOUT,
        )
        self._client_method(*STREAM_ROUTE, integration)

    def _client_method(self, verb: str, path: str, integration: apigw.Integration) -> None:
        """A client route: the API key checked by the TOKEN authorizer first."""
        method = self._resource(path).add_method(
            verb,
            integration,
            authorization_type=apigw.AuthorizationType.CUSTOM,
            authorizer=self.authorizer,
            request_validator=self.validator,
        )
        NagSuppressions.add_resource_suppressions(
            method,
            [
                NagPackSuppression(
                    id="AwsSolutions-COG4",
                    reason="Clients authenticate with an API key checked by a Lambda TOKEN authorizer "
                    "that yields the tenant id (why not Cognito: infra/api.py docstring, README).",
                )
            ],
        )

    def _build_public_routes(self, fn: lambda_.IFunction, swagger_ui: bool) -> None:
        integration = apigw.LambdaIntegration(fn, allow_test_invoke=False)
        routes = [OPENAPI_ROUTE, *([SWAGGER_ROUTE] if swagger_ui else [])]
        reason = (
            "The API's documentation (OpenAPI document, Swagger UI): public by design, it holds no "
            "tenant data and is generated from the code."
        )
        for verb, path in routes:
            method = self._resource(path).add_method(
                verb, integration, authorization_type=apigw.AuthorizationType.NONE
            )
            NagSuppressions.add_resource_suppressions(
                method,
                [
                    NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
                    NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
                ],
            )

    def _build_callback_route(self, fn: lambda_.IFunction) -> None:
        verb, path = CALLBACK_ROUTE
        method = self._resource(path).add_method(
            verb,
            apigw.LambdaIntegration(fn, allow_test_invoke=False),
            authorization_type=apigw.AuthorizationType.NONE,
        )
        reason = (
            "Vendors cannot hold a tenant's API key or obtain Cognito tokens, so the callback route is "
            "open; the callback URL carries an unguessable per-job token that the callback function "
            "compares in constant time, and it confirms the result with the vendor's status API."
        )
        NagSuppressions.add_resource_suppressions(
            method,
            [
                NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
                NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
            ],
        )
