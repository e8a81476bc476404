"""The CDK app of voiceclone. Importing it first keeps jsii's Node end-of-life banner off the console."""

from infra import node_banner as _node_banner  # noqa: F401 - silences the banner as a side effect
