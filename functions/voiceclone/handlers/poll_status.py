"""Workflow step PollStatus: ask the vendor where training stands; compute the next wait."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.polling import PollStatusEvent
    from voiceclone.logic import workflow
    from voiceclone.logic.services import services

    request = PollStatusEvent.model_validate(event)
    return workflow.poll_status(services(), request.job_id, request.poll).model_dump(mode="json")
