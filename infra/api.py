"""The REST API: client routes behind IAM authorization, the vendor callback behind its per-job token."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
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
# (method, path) of each client route; all go to the api function.
CLIENT_ROUTES = (
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{job_id}"),
    ("POST", "/v1/jobs/{job_id}/sentences/{text_id}/upload-url"),
    ("GET", "/v1/vendors/{vendor}/training-texts"),
)
CALLBACK_ROUTE = ("POST", "/v1/callbacks/{vendor}/{job_id}")


class Api(Construct):
    """One REST API for clients and vendors; the routes' handlers are Lambda proxy integrations."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        api_function: lambda_.IFunction,
        callback_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._build_rest_api()
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        self._build_client_routes(api_function)
        self._build_callback_route(callback_function)
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
                    reason="No WAF web ACL yet: every client route needs a SigV4 signature, the callback "
                    "route an unguessable per-job token, and the stage is throttled. A web ACL is an "
                    "account-level choice left to the operator.",
                )
            ],
        )
        return rest_api

    def _resource(self, path: str) -> apigw.IResource:
        resource: apigw.IResource = self.rest_api.root
        for part in path.strip("/").split("/"):
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource

    def _build_client_routes(self, fn: lambda_.IFunction) -> None:
        # The tenant is the calling AWS account (requestContext.identity.accountId): IAM authorization
        # needs no user store, and every AWS SDK and the CLI sign requests with SigV4 already.
        integration = apigw.LambdaIntegration(fn, allow_test_invoke=False)
        for verb, path in CLIENT_ROUTES:
            method = self._resource(path).add_method(
                verb,
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=self.validator,
            )
            NagSuppressions.add_resource_suppressions(
                method,
                [
                    NagPackSuppression(
                        id="AwsSolutions-COG4",
                        reason="Clients authenticate with IAM (SigV4), not Cognito: a tenant is an AWS "
                        "account, and API Gateway verifies the signature before the function runs.",
                    )
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
            "Vendors cannot sign requests with SigV4 or obtain Cognito tokens, so the callback route is "
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
