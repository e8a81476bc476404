"""Vendor callback entry point: POST /v1/callbacks/{vendor}/{job_id}?token=..."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger, metrics, tag_vendor

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from voiceclone.logic.callbacks import CallbackResult


# The event is not logged: its query string holds the callback token.
@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from voiceclone.vendors.registry import vendor_ids

    event = APIGatewayProxyEvent(raw_event)
    params = event.path_parameters or {}
    job_id, vendor = params.get("job_id", ""), params.get("vendor", "")
    logger.append_keys(job_id=job_id)
    # Only a known vendor becomes a dimension: anyone can POST to any path here.
    tag_vendor(vendor if vendor in vendor_ids() else None)
    result = _answer(event, vendor, job_id)
    metrics.add_metric(name=f"Callback{result.status_code}", unit="Count", value=1)
    return {
        "statusCode": result.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(result.body()),
    }


def _answer(event: APIGatewayProxyEvent, vendor: str, job_id: str) -> CallbackResult:
    """handle_callback's answer; what it raises becomes a 5xx the vendor retries, with a body."""
    from botocore.exceptions import BotoCoreError, ClientError

    from voiceclone.domain.errors import VendorError
    from voiceclone.logic.callbacks import CallbackResult, handle_callback
    from voiceclone.logic.services import services

    body = event.body or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode()
    except (binascii.Error, UnicodeEncodeError):  # not base64, or a lone surrogate in the text
        return CallbackResult(400, "the callback body is not readable", "BadCallback")
    token = (event.query_string_parameters or {}).get("token")
    try:
        return handle_callback(services(), vendor, job_id, token, raw)
    except VendorError as exc:  # confirming with the vendor failed: it may call again, or we poll
        logger.warning("vendor error on callback", extra={"vendor": vendor, "code": exc.code})
        return CallbackResult(503 if exc.retryable else 502, exc.message, exc.code)
    except (ClientError, BotoCoreError) as exc:
        logger.warning("AWS error on callback", extra={"error": type(exc).__name__})
        return CallbackResult(
            503, "the service's storage did not answer; try again shortly", "ServiceUnavailable"
        )
