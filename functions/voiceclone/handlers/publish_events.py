"""DynamoDB stream: a job's status changes and a speech's end, put on the event bus once (docs/events.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.logic.core.services import services
from voiceclone.logic.notifications.bus import process_stream
from voiceclone.observability import log_metrics, logger


@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_stream(services(), event, context)
