"""CDK entry point: `cdk synth` / `cdk deploy` build the voiceclone stack with cdk-nag checks."""

from aws_cdk import Aspects
from cdk_nag import AwsSolutionsChecks

from infra.synth import build_app

app, _ = build_app()
Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
