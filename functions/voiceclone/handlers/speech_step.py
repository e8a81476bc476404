"""What every speech-workflow entry point shares: Powertools wiring, speech id as correlation id, vendor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger, tag_vendor

StepHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def speech_step(fn: StepHandler) -> StepHandler:
    """Wrap a step: logs keyed by speech id, metrics by the vendor the input names (infra/speech_workflow.py).

    Errors propagate untouched: their class name is the error Step Functions retries or catches.
    """

    @logger.inject_lambda_context(correlation_id_path="speech.speech_id", log_event=False)
    @log_metrics
    @wraps(fn)
    def wrapped(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        speech = event.get("speech")
        tag_vendor(speech.get("vendor") if isinstance(speech, dict) else None)
        return fn(event, context)

    return wrapped
