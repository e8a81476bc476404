"""Synthesize the stack in-process and hand back its CloudFormation template (tests, the local stack)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

# infra/__init__ has silenced jsii's Node banner (infra/node_banner.py) before aws_cdk loads here.
from aws_cdk import App, Aspects, Tags
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.constants import SKIP_BUNDLING, STACK_NAME, TAGS
from infra.stack import VoicecloneStack


def build_app(
    context: Mapping[str, Any] | None = None, *, nag: bool = False, outdir: str | None = None
) -> tuple[App, VoicecloneStack]:
    """The app as app.py builds it, with `context` (e.g. local waits) and optionally the cdk-nag checks.

    Nothing is synthesized yet: call ``app.synth()`` (or ``Template.from_stack``). Unless
    `context` holds ``SKIP_BUNDLING``, synthesis runs pip to package the functions. Without
    `outdir` CDK writes the cloud assembly to a new temporary directory.
    """
    app = App(context=dict(context or {}), outdir=outdir)
    stack = VoicecloneStack(app, STACK_NAME)
    for key, value in TAGS.items():
        Tags.of(app).add(key, value)
    if nag:
        Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def synthesize_template(context: Mapping[str, Any] | None = None, *, bundle: bool = False) -> dict[str, Any]:
    """The stack's template as a dict, synthesized with `context` over the defaults of infra.settings.

    Packaging the code is skipped unless `bundle` is true (it only changes the asset's hash,
    and whoever reads the template in-process runs the code from source). The cloud assembly
    is written to a temporary directory that is removed again.
    """
    with tempfile.TemporaryDirectory(prefix="voiceclone-cdk-") as outdir:
        _, stack = build_app({**({} if bundle else SKIP_BUNDLING), **(context or {})}, outdir=outdir)
        template = dict(Template.from_stack(stack).to_json())
    return template
