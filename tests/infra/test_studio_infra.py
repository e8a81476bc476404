"""The studio in AWS (infra/studio.py): CloudFront over a private bucket with origin access control, HTTPS
only, security headers, and the API's CORS limited to the studio's origin; cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from infra.api import CLIENT_ROUTES, OPENAPI_ROUTE, STREAM_ROUTE
from infra.constants import REPO_ROOT, SKIP_BUNDLING, handler_of
from infra.settings import StackSettings
from infra.synth import build_app
from infra.template_tools import resources_of_type
from tests.infra.test_cfn_lint import CFN_LINT_MAIN, IGNORED_RULES

NAG_FINDING = Match.string_like_regexp("AwsSolutions-.*")


@pytest.fixture(scope="module")
def studio_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    app, stack = build_app(
        {**SKIP_BUNDLING, "voiceclone:studio": True}, nag=True, outdir=str(tmp_path_factory.mktemp("studio"))
    )
    app.synth()
    return stack


@pytest.fixture(scope="module")
def studio(studio_stack: Any) -> dict[str, Any]:
    return dict(Template.from_stack(studio_stack).to_json())


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources_of_type(template, kind).items()
    return item


def test_cloudfront_serves_the_private_bucket_over_https_only(studio: dict[str, Any]) -> None:
    distribution_id, distribution = _one(studio, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["Logging"]["Prefix"] == "studio/"
    (origin,) = config["Origins"]
    # Origin access control (signed requests), not a legacy origin access identity
    oac_id, oac = _one(studio, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    site = origin["DomainName"]["Fn::GetAtt"][0]
    bucket = studio["Resources"][site]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    # Only this distribution reads the files, only over TLS
    (policy,) = [
        p
        for p in resources_of_type(studio, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": site}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    # The files and the config.json naming the API, deployed there
    deployment = resources_of_type(studio, "Custom::CDKBucketDeployment")
    (props,) = [d["Properties"] for d in deployment.values()]
    assert props["DestinationBucketName"] == {"Ref": site}
    assert props["DistributionId"] == {"Ref": distribution_id}
    assert studio["Outputs"]["StudioUrl"]["Value"]["Fn::Join"][1][1] == {
        "Fn::GetAtt": [distribution_id, "DomainName"]
    }


def test_every_answer_carries_the_security_headers(studio: dict[str, Any]) -> None:
    policy_id, policy = _one(studio, "AWS::CloudFront::ResponseHeadersPolicy")
    _, distribution = _one(studio, "AWS::CloudFront::Distribution")
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'none'; script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # The page may talk to the API (by its id: no stage) and the audio bucket, nothing else
    assert '".execute-api."' in csp and '"RegionalDomainName"' in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp.replace("'*'", "")
    (permissions,) = config["CustomHeadersConfig"]["Items"]
    assert permissions["Header"] == "Permissions-Policy" and "microphone=(self)" in permissions["Value"]


def test_the_api_allows_the_studio_origin_only(studio: dict[str, Any]) -> None:
    distribution_id, _ = _one(studio, "AWS::CloudFront::Distribution")
    studio_origin = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}
    quoted = {"Fn::Join": ["", ["'https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "'"]]}
    # The api function's answers (Powertools CORSConfig from VOICECLONE_CORS_ORIGINS)
    (api_fn,) = [
        f for f in resources_of_type(studio, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler_of("api")
    ]  # fmt: skip
    assert api_fn["Properties"]["Environment"]["Variables"]["VOICECLONE_CORS_ORIGINS"] == studio_origin
    # API Gateway's preflights, on every client route, answer that origin and no other
    methods = resources_of_type(studio, "AWS::ApiGateway::Method").values()
    preflights = [m["Properties"] for m in methods if m["Properties"]["HttpMethod"] == "OPTIONS"]
    assert len(preflights) == len({path for _, path in (*CLIENT_ROUTES, OPENAPI_ROUTE, STREAM_ROUTE)})
    for preflight in preflights:
        (answer,) = preflight["Integration"]["IntegrationResponses"]
        headers = answer["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == quoted
        assert "Authorization" in headers["method.response.header.Access-Control-Allow-Headers"]
    # ...and API Gateway's own errors (a 401 from the authorizer) are readable there
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseParameters"]
        for r in resources_of_type(studio, "AWS::ApiGateway::GatewayResponse").values()
    }
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert responses[kind]["gatewayresponse.header.Access-Control-Allow-Origin"] == quoted
    assert "'*'" not in json.dumps(preflights) + json.dumps(responses)


def test_cdk_nag_finds_nothing_unacknowledged(studio_stack: Any) -> None:
    annotations = Annotations.from_stack(studio_stack)
    findings = annotations.find_error("*", NAG_FINDING) + annotations.find_warning("*", NAG_FINDING)
    assert not findings, "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


def test_cfn_lint_finds_nothing(studio: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "Voiceclone.template.json"
    path.write_text(json.dumps(studio))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CFN_LINT_MAIN,
            "--format",
            "json",
            "--ignore-checks",
            *IGNORED_RULES,
            "--",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode & 1 == 0, result.stderr
    findings = json.loads(result.stdout)
    assert not findings, "\n".join(
        f"{f['Rule']['Id']}: {f['Message']} ({f['Location']['Path']})" for f in findings
    )


def test_the_local_gateway_reads_the_studio_template(studio: dict[str, Any]) -> None:
    # The local stack emulates none of CloudFront: its gateway still finds every route, no preflight
    from voiceclone_local.template import api_routes

    routes = {(r.method, r.path) for r in api_routes(studio)}
    assert routes >= {*CLIENT_ROUTES, OPENAPI_ROUTE}
    assert not any(method == "OPTIONS" for method, _ in routes)


def test_studio_is_on_for_cdk_deploy_and_extra_origins_are_https_origins() -> None:
    assert StackSettings().studio is False  # tests and the local stack: the local gateway serves studio/
    assert json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["voiceclone:studio"] is True
    settings = StackSettings.from_mapping(
        {"voiceclone:studioExtraOrigins": "https://a.example, https://b.example:8443"}
    )
    assert settings.studio_extra_origins == ["https://a.example", "https://b.example:8443"]
    for bad in ("http://a.example", "https://a.example/path", "*"):
        with pytest.raises(ValueError, match="no https origin"):
            StackSettings.from_mapping({"voiceclone:studioExtraOrigins": [bad]})
