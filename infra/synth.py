"""Synthesize the stack in-process and return its CloudFormation template (tests and the local stack)."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Aspects
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.constants import STACK_NAME
from infra.stack import VoicecloneStack

# Feature flags the stack relies on, also in cdk.json: applied here for in-process synthesis.
FEATURE_FLAGS: dict[str, Any] = {
    # Access-log delivery through a bucket policy, not the legacy LogDeliveryWrite ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def build_app(context: dict[str, Any] | None = None, nag: bool = False) -> tuple[App, VoicecloneStack]:
    app = App(context={**FEATURE_FLAGS, **(context or {})})
    stack = VoicecloneStack(app, STACK_NAME)
    if nag:
        Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def synthesize_template(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template as a dict. Pass ``{"aws:cdk:bundling-stacks": []}`` to skip packaging the code."""
    _, stack = build_app(context)
    return dict(Template.from_stack(stack).to_json())
