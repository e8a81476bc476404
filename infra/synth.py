"""Synthesize the stack in-process and hand back its CloudFormation template (tests, the local stack)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from typing import Any

# jsii names the variable after the condition: END_OF_LIFE is the banner Node 20 gets (its DEPRECATED
# and UNTESTED siblings, for a Node near its end or newer than jsii knows, are left to speak).
SILENCE_END_OF_LIFE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def silence_node_banner() -> None:
    """Keep jsii's Node-support banner off the console before its kernel starts (first aws_cdk import).

    Synthesis needs Node only to run CDK's jsii kernel on this machine; jsii's warning that the
    installed Node is past jsii's support window says nothing a user of the local stack can act on,
    and it arrived as raw Python bytes before anything of ours. Silenced for the Node that runs
    here only (jsii takes a list of major versions), and never over a value the user set.
    """
    node = shutil.which(os.environ.get("JSII_NODE") or "node")
    if node is None:
        return
    try:
        version = subprocess.run(  # noqa: S603 - the Node jsii itself would run
            [node, "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    major = version.strip().lstrip("v").split(".")[0]
    if major.isdigit():
        os.environ.setdefault(SILENCE_END_OF_LIFE, major)


silence_node_banner()

from aws_cdk import App, Aspects, Tags  # noqa: E402 - after the banner is silenced
from aws_cdk.assertions import Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.constants import SKIP_BUNDLING, STACK_NAME, TAGS  # noqa: E402
from infra.stack import VoicecloneStack  # noqa: E402


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
