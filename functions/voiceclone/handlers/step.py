"""What every workflow-step entry point shares: Powertools wiring and the job id as correlation id."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import logger, metrics

StepHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def workflow_step(fn: StepHandler) -> StepHandler:
    """Wrap a step: structured logs keyed by job id, a trace segment, metrics flushed at the end.

    Errors propagate untouched: their class name is the error Step Functions retries or catches.
    """

    @logger.inject_lambda_context(correlation_id_path="job_id", log_event=False)
    @metrics.log_metrics
    @wraps(fn)
    def wrapped(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return fn(event, context)

    return wrapped
