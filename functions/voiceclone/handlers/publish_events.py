"""DynamoDB stream entry point: each status change of a job is put on the event bus once (docs/events.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from voiceclone.logic.events import process_stream
    from voiceclone.logic.services import services

    return process_stream(services(), event, context)
