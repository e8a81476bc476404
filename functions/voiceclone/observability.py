"""Logger and metrics, created once and shared by every handler.

Tracing is Lambda's active X-Ray tracing (set in infra/functions.py) together with
API Gateway's and Step Functions': the service map and each function's segment
come without the X-Ray SDK, whose import alone costs about 330 ms of every cold
start here (benchmarks/run.py). Powertools' Tracer would add per-call
subsegments; it is left out on purpose.
"""

import logging

from aws_lambda_powertools import Logger, Metrics

# httpx logs every request URL at INFO: vendor URLs can hold presigned signatures and tokens.
logging.getLogger("httpx").setLevel(logging.WARNING)

logger = Logger(service="voiceclone")
metrics = Metrics(namespace="Voiceclone", service="voiceclone")
