"""The REST API: client routes behind IAM authorization, the vendor callback behind its per-job token."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constants import API_STAGE


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        api_function: lambda_.IFunction,
        callback: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._build_rest_api()
        self._build_client_routes(api_function)
        self._build_callback_route(callback)
        CfnOutput(
            self, "Url", value=self.rest_api.url, description="voiceclone REST API (VOICECLONE_API_URL)"
        )

    @property
    def base_url(self) -> str:
        """The stage URL built from the API's id alone: referring to the deployment would make a cycle
        (deployment -> callback route -> callback function -> state machine -> submit_training -> URL)."""
        stack = Stack.of(self)
        return (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{API_STAGE}/"
        )

    def _build_rest_api(self) -> apigw.RestApi:
        return apigw.RestApi(
            self,
            "RestApi",
            rest_api_name="voiceclone",
            description="voiceclone: one API in front of several voice-cloning vendors",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
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
                throttling_rate_limit=50,
                throttling_burst_limit=100,
            ),
        )

    def _build_client_routes(self, fn: lambda_.IFunction) -> None:
        # The tenant is the calling AWS account (requestContext.identity.accountId): IAM
        # authorization needs no user store and every AWS SDK can sign for it.
        integration = apigw.LambdaIntegration(fn)
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        options = {"authorization_type": apigw.AuthorizationType.IAM, "request_validator": validator}
        v1 = self.rest_api.root.add_resource("v1")
        jobs = v1.add_resource("jobs")
        jobs.add_method("POST", integration, **options)  # type: ignore[arg-type]
        jobs.add_method("GET", integration, **options)  # type: ignore[arg-type]
        jobs.add_resource("{job_id}").add_method("GET", integration, **options)  # type: ignore[arg-type]
        texts = v1.add_resource("vendors").add_resource("{vendor}").add_resource("training-texts")
        texts.add_method("GET", integration, **options)  # type: ignore[arg-type]

    def _build_callback_route(self, fn: lambda_.IFunction) -> None:
        method = (
            self.rest_api.root.resource_for_path("v1")
            .add_resource("callbacks")
            .add_resource("{vendor}")
            .add_resource("{job_id}")
            .add_method("POST", apigw.LambdaIntegration(fn), authorization_type=apigw.AuthorizationType.NONE)
        )
        reason = (
            "Vendors call back unsigned (Tencent documents no signature); the callback URL carries a per-job "
            "unguessable token that the callback function compares in constant time, and it confirms the "
            "result with the vendor's status API before acting."
        )
        NagSuppressions.add_resource_suppressions(
            method,
            [NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
             NagPackSuppression(id="AwsSolutions-COG4", reason=reason)],
        )  # fmt: skip
