"""SQS: events POSTed to their job's or speech's notify_url, signed; failures retried with backoff."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.logic.core.services import services
from voiceclone.logic.notifications.webhooks import process_queue
from voiceclone.observability import log_metrics, logger


@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_queue(services(), event, context)
