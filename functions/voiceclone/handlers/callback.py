"""Vendor callbacks, ``POST /v1/callbacks/{vendor}/{id}?token=...``: a job's training or a speech's synthesis.

The id says whose task called (voiceclone.logic.core.ids): a speech's ids start with ``sp-``,
anything else names a job. Both kinds go through the one callback mechanism
(voiceclone.logic.core.tasks.handle).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from voiceclone.domain.errors import VendorError
from voiceclone.logic.core import tasks
from voiceclone.logic.core.ids import is_speech_id
from voiceclone.logic.core.services import services
from voiceclone.logic.speech.callbacks import SPEECH_CALLBACKS
from voiceclone.logic.training.callbacks import TRAINING_CALLBACKS
from voiceclone.observability import log_metrics, logger, metrics, tag_vendor
from voiceclone.vendors.registry import vendor_ids


# The event is not logged: its query string holds the callback token.
@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = APIGatewayProxyEvent(raw_event)
    params = event.path_parameters or {}
    owner_id, vendor = params.get("job_id", ""), params.get("vendor", "")
    logger.append_keys(job_id=owner_id)
    # Only a known vendor becomes a dimension: anyone can POST to any path here.
    tag_vendor(vendor if vendor in vendor_ids() else None)
    result = _answer(event, vendor, owner_id)
    metrics.add_metric(name=f"Callback{result.status_code}", unit="Count", value=1)
    return {
        "statusCode": result.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(result.body()),
    }


def _answer(event: APIGatewayProxyEvent, vendor: str, owner_id: str) -> tasks.CallbackResult:
    """The callback's answer; what it raises becomes a 5xx the vendor retries, with a body."""
    body = event.body or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode()
    except (binascii.Error, UnicodeEncodeError):  # not base64, or a lone surrogate in the text
        return tasks.CallbackResult(400, "the callback body is not readable", "BadCallback")
    token = (event.query_string_parameters or {}).get("token")
    svc = services()
    try:
        if is_speech_id(owner_id):
            return tasks.handle(svc, SPEECH_CALLBACKS, vendor, owner_id, token, raw)
        return tasks.handle(svc, TRAINING_CALLBACKS, vendor, owner_id, token, raw)
    except VendorError as exc:  # confirming with the vendor failed: it may call again, or we poll
        logger.warning("vendor error on callback", extra={"vendor": vendor, "code": exc.code})
        return tasks.CallbackResult(503 if exc.retryable else 502, exc.message, exc.code)
    except (ClientError, BotoCoreError) as exc:
        logger.warning("AWS error on callback", extra={"error": type(exc).__name__})
        return tasks.CallbackResult(
            503, "the service's storage did not answer; try again shortly", "ServiceUnavailable"
        )
