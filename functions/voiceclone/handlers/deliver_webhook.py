"""SQS entry point: job events POSTed to the jobs' notify_url, signed; failures retried with backoff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from voiceclone.logic.services import services
    from voiceclone.logic.webhooks import process_queue

    return process_queue(services(), event, context)
