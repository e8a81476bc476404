"""Workflow step Finalize: record the voice, job SUCCEEDED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.steps import JobStep
    from voiceclone.logic import workflow
    from voiceclone.logic.services import services

    step = JobStep.model_validate(event)
    return workflow.finalize(services(), step.job_id)
