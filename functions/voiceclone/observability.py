"""Logger and metrics, created once and shared by every handler; every metric carries its vendor.

Every metric has a ``vendor`` dimension and the logs of an invocation that concerns one vendor a
``vendor`` key, so "jobs failed at Volcengine today" is one query (the JobFailed metric with
vendor=volcengine, or ``filter vendor = "volcengine"`` in Logs Insights). An invocation about one
vendor (a workflow step, an API call on one job, a callback) names it with ``tag_vendor``; one whose
records span vendors (a stream or queue batch) counts each record with ``count``. Metrics of
invocations that concern no vendor (the authorizer, the webhook-secret routes, a callback to a path
naming no vendor) carry ``vendor=none`` (``NO_VENDOR``): handlers flush with ``log_metrics`` below,
which sees to it that no metric leaves without the dimension.

Tracing is Lambda's active X-Ray tracing (set in infra/functions.py) together with
API Gateway's and Step Functions': the service map and each function's segment
come without the X-Ray SDK, whose import alone costs about 330 ms of every cold
start here (benchmarks/run.py). Powertools' Tracer would add per-call
subsegments; it is left out on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

# httpx logs every request URL at INFO: vendor URLs can hold presigned signatures and tokens.
logging.getLogger("httpx").setLevel(logging.WARNING)

SERVICE = "voiceclone"
NAMESPACE = "Voiceclone"
# The metric dimension and the log key that name the vendor (infra/monitoring.py alarms on it).
VENDOR = "vendor"
# Its value where no (known) vendor is concerned.
NO_VENDOR = "none"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])

# The vendor of the running invocation, as tag_vendor named it; the metric set gets it once, at the
# end (log_metrics). A context variable, not the metric set's shared dimensions: tagging twice (a
# vendor learnt late) is no overwrite, and the local stack's functions, which run side by side on
# threads of one process and share one metric set, do not write each other's vendor into it.
_invocation_vendor: ContextVar[str | None] = ContextVar("voiceclone_vendor", default=None)


def tag_vendor(vendor: str | None) -> None:
    """Name the vendor of this invocation: a dimension of each of its metrics, a key of its later logs.

    The dimension is added when the invocation's metrics are flushed, so metrics added before
    this call carry the vendor too.
    """
    value = vendor or NO_VENDOR
    _invocation_vendor.set(value)
    logger.append_keys(**{VENDOR: value})


def count(name: str, vendor: str | None) -> None:
    """Count one event of one vendor, published at once: for invocations whose records span vendors.

    The invocation's own metric set can hold one vendor dimension only; this one has its own.
    """
    one = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    one.add_dimension(name=VENDOR, value=vendor or NO_VENDOR)
    one.add_metric(name=name, unit=MetricUnit.Count, value=1)
    one.flush_metrics()


def observe(vendor: str | None, values: dict[str, tuple[float, str]]) -> None:
    """Publish one event's measurements at once (name -> (value, unit)), with their vendor dimension:
    for an invocation whose measurements come after its answer began (a stream)."""
    one = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    one.add_dimension(name=VENDOR, value=vendor or NO_VENDOR)
    for name, (value, unit) in values.items():
        one.add_metric(name=name, unit=unit, value=value)
    one.flush_metrics()


def log_metrics(handler: Handler) -> Handler:
    """``metrics.log_metrics`` for every handler: no metric leaves without the vendor dimension.

    A warm container keeps the logger's keys and, when nothing was published, the metric set's
    dimensions: the previous invocation's vendor is dropped, and the dimension is added once, as
    the invocation ends, with the vendor it named (``vendor=none`` if it named none). Where
    metrics are disabled (the local stack) nothing is published and the invocation's metrics are
    dropped.
    """

    @metrics.log_metrics
    @wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _invocation_vendor.set(None)
        logger.remove_keys([VENDOR])
        try:
            return handler(*args, **kwargs)
        finally:
            vendor = _invocation_vendor.get() or NO_VENDOR
            _invocation_vendor.reset(token)
            if not is_metrics_disabled():
                metrics.dimension_set.pop(VENDOR, None)
                metrics.add_dimension(name=VENDOR, value=vendor)
            else:
                # Disabled, Powertools' flush neither prints nor clears the set, while add_metric
                # prints it anyway once a metric holds 100 values (aws-lambda-powertools 3.x): a
                # busy local stack printed vendor-less metric blobs. Nothing is published: drop them.
                metrics.metric_set.clear()

    return wrapped  # type: ignore[return-value]
