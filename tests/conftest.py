"""Shared by every suite: infra is imported first so that jsii's Node banner stays off the test output."""

import infra  # noqa: F401 - its import silences jsii's Node end-of-life banner before aws_cdk loads
