"""Workflow step AwaitCallback (.waitForTaskToken): park the task token on the job."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.steps import AwaitCallbackStep
    from voiceclone.logic import workflow
    from voiceclone.logic.services import services

    step = AwaitCallbackStep.model_validate(event)
    return workflow.await_training(services(), step.job_id, step.task_token)
