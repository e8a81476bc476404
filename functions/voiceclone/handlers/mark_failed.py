"""Workflow step MarkFailed: job FAILED with the error the workflow caught."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.steps import MarkFailedStep
    from voiceclone.logic import workflow
    from voiceclone.logic.services import services

    step = MarkFailedStep.model_validate(event)
    return workflow.mark_failed(services(), step.job_id, step.error or {})
