"""The one wrapper of every workflow step: Powertools, the run's id in the logs, its vendor in the metrics.

A step's row in voiceclone.handlers.table says where its input names the run (``job_id``, or
``speech.speech_id``) and the vendor (``vendor``, ``speech.vendor``); without a vendor path
(expire_job's schedule names the job alone) the job is read to learn it. The input is validated
with the row's model, each of its fields passed to the step function as the argument of that
name, and a model returned is dumped as JSON: the state machine's next input.

Errors propagate untouched: their class name is the error Step Functions retries or catches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.lazy import lazy_module
from voiceclone.observability import log_metrics, logger, tag_vendor

if TYPE_CHECKING:
    from pydantic import BaseModel

    from voiceclone.handlers.table import Function
    from voiceclone.logic.core import services as core_services
else:  # the services (store, clients, settings): bound now, loaded on the first step
    core_services = lazy_module("voiceclone.logic.core.services")

StepFunction = Callable[..., Any]
StepHandler = Callable[[dict[str, Any], LambdaContext], Any]


def wrap(row: Function, step: StepFunction, model: type[BaseModel]) -> StepHandler:
    """The Lambda entry of the step ``row`` describes, calling ``step`` with its input ``model``'s fields."""
    fields = tuple(model.model_fields)

    @logger.inject_lambda_context(correlation_id_path=row.run_id, log_event=False)
    @log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        tag_vendor(vendor_of(event, row.vendor))
        given = model.model_validate(event)
        result = step(core_services.services(), **{name: getattr(given, name) for name in fields})
        return result.model_dump(mode="json") if hasattr(result, "model_dump") else result

    handler.__name__ = row.name
    return handler


def vendor_of(event: dict[str, Any], path: str) -> str | None:
    """The vendor where the input names it (``path``, dotted); else its job's, read once; None if neither."""
    if path:
        value: Any = event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, str) and value else None
    job_id = event.get("job_id")
    return job_vendor(job_id) if isinstance(job_id, str) and job_id else None


def job_vendor(job_id: str) -> str | None:
    """The vendor on the job's record (one read); None for a job that does not exist: the step itself
    then fails as it would have."""
    job = core_services.services().store.jobs.get(job_id)
    return job.vendor if job is not None else None
