"""EventBridge Scheduler entry point: a job's one-time schedule came due (voiceclone.logic.expiry)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.step import workflow_step


@workflow_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.logic import expiry
    from voiceclone.logic.services import services

    request = expiry.event_of(event)
    return expiry.expire_job(services(), request.job_id, due_at=request.due_at).model_dump(mode="json")
