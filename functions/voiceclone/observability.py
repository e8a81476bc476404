"""Logger, tracer and metrics, created once and shared by every handler."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="voiceclone")
tracer = Tracer(service="voiceclone")
metrics = Metrics(namespace="Voiceclone", service="voiceclone")
