"""CDK entry point: `cdk synth` / `cdk deploy` build the voiceclone stack, checked by cdk-nag."""

from aws_cdk import App, Aspects, Tags
from cdk_nag import AwsSolutionsChecks

from infra.constants import STACK_NAME, TAGS
from infra.stack import VoicecloneStack

app = App()
VoicecloneStack(app, STACK_NAME, description="voiceclone: one API in front of several voice-cloning vendors")
for key, value in TAGS.items():
    Tags.of(app).add(key, value)
Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
