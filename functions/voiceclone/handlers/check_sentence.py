"""Workflow step CheckSentence (one Map iteration): check one recording."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.steps import CheckSentenceStep
    from voiceclone.logic import workflow
    from voiceclone.logic.services import services

    step = CheckSentenceStep.model_validate(event)
    return workflow.check_sentence(services(), step.job_id, step.text_id)
