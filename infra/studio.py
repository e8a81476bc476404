"""The browser studio in AWS: its files in a private bucket, served by CloudFront over HTTPS only.

The bucket is reached only through CloudFront's origin access control; every answer carries the
security headers of one response-headers policy, whose Content-Security-Policy lets the page talk to
the API and the audio bucket and nothing else. The API's CORS is limited to the studio's origin
(and the extra origins configured): the preflights and API Gateway's own error answers here, the api
function's answers through VOICECLONE_CORS_ORIGINS (Powertools' CORSConfig).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.api import Api
from infra.constants import REPO_ROOT
from infra.settings import StackSettings

STUDIO_DIR = REPO_ROOT / "studio"
# Output key of the studio's URL.
STUDIO_URL_OUTPUT = "StudioUrl"
# The api function's variable: the origins its answers allow (comma-separated).
ENV_CORS_ORIGINS = "VOICECLONE_CORS_ORIGINS"
ONE_YEAR = Duration.days(365)


def content_security_policy(api_origin: str, storage_origins: list[str]) -> str:
    """The page runs its own scripts only, and talks to the API and the audio bucket only."""
    storage = " ".join(storage_origins)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {api_origin} {storage}; media-src 'self' blob: {storage}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
    )


class Studio(Construct):
    """The studio's distribution; ``origin`` is its https origin, the one the API's CORS allows."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        *,
        api: Api,
        api_function: lambda_.Function,
        audio_bucket: s3.IBucket,
        access_logs: s3.IBucket,
        vendors: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = self._build_bucket(access_logs)
        self.logs = self._build_log_bucket()
        self.headers = self._build_headers(api, audio_bucket)
        self.distribution = self._build_distribution()
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        allowed = [self.origin, *settings.studio_extra_origins]
        api.allow_origins(allowed)
        api_function.add_environment(ENV_CORS_ORIGINS, ",".join(allowed))
        # The files, and a config.json that names the API (the key is typed in by the user).
        self.deployment = s3_deployment.BucketDeployment(
            self,
            "Files",
            sources=[
                s3_deployment.Source.asset(str(STUDIO_DIR), exclude=["config.json"]),
                s3_deployment.Source.json_data(
                    "config.json", {"apiUrl": api.base_url, "apiKey": "", "vendors": list(vendors)}
                ),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        output = CfnOutput(self, "Url", value=f"{self.origin}/", description="voiceclone studio")
        output.override_logical_id(STUDIO_URL_OUTPUT)
        self._acknowledge_nag_findings()

    def _build_bucket(self, access_logs: s3.IBucket) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="studio/",
            # Built from the repository at every deploy: nothing in it is anyone's data.
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _build_log_bucket(self) -> s3.Bucket:
        """CloudFront's standard logs, delivered with an ACL: so here alone the writer owns its objects."""
        return s3.Bucket(
            self,
            "CdnLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(id="expire-cdn-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_headers(self, api: Api, audio_bucket: s3.IBucket) -> cloudfront.ResponseHeadersPolicy:
        stack = Stack.of(self)
        # The API's origin from its id alone (its URL names the stage, which depends on the api function).
        api_origin = f"https://{api.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        storage = [
            f"https://{audio_bucket.bucket_regional_domain_name}",
            f"https://{audio_bucket.bucket_domain_name}",
        ]
        return cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="voiceclone studio: security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(api_origin, storage), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy",
                        value="microphone=(self), camera=(), geolocation=()",
                        override=True,
                    )
                ]
            ),
        )

    def _build_distribution(self) -> cloudfront.Distribution:
        return cloudfront.Distribution(
            self,
            "Distribution",
            comment="voiceclone studio",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="studio/",
        )

    def _acknowledge_nag_findings(self) -> None:
        # CDK's own deployment function (one per stack, at its root): it copies the files and invalidates.
        deployer_reason = (
            "CDK's BucketDeployment handler: it reads the studio's files from the CDK assets bucket "
            "(<bucket>/*), "
            "writes the studio bucket (<StudioSite>/*) and creates CloudFront invalidations, which have no "
            "resource-level permissions (Resource::*); its Python runtime is the one CDK pins for it."
        )
        stack = Stack.of(self)
        site = stack.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                NagSuppressions.add_resource_suppressions(
                    child,
                    [
                        NagPackSuppression(id="AwsSolutions-L1", reason=deployer_reason),
                        NagPackSuppression(
                            id="AwsSolutions-IAM5",
                            reason=deployer_reason,
                            applies_to=[
                                "Resource::*",
                                f"Resource::<{site}.Arn>/*",
                                "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
                            ],
                        ),
                    ],
                    apply_to_children=True,
                )
        NagSuppressions.add_resource_suppressions(
            self.logs,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason="This bucket holds CloudFront's access logs; logging its own accesses would "
                    "only log the log delivery.",
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.distribution,
            [
                NagPackSuppression(
                    id="AwsSolutions-CFR1",
                    reason="The studio is a static page for the speakers of every tenant, wherever they "
                    "are; the API behind it authenticates every call with an API key.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR2",
                    reason="Static files only (no forms, no server code) behind CloudFront; a WAF web ACL "
                    "is an account-level choice left to the operator, as for the API.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR4",
                    reason="Served on CloudFront's own domain and certificate until an operator adds a "
                    "custom domain; TLSv1.2_2021 is set and applies as soon as one is.",
                ),
            ],
        )
