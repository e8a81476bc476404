"""Vendor callback entry point: POST /v1/callbacks/{vendor}/{job_id}?token=..."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.logic.callbacks import handle_callback
from voiceclone.logic.services import services
from voiceclone.observability import log_metrics, logger, metrics, tag_vendor
from voiceclone.vendors.registry import vendor_ids


# The event is not logged: its query string holds the callback token.
@logger.inject_lambda_context(log_event=False)
@log_metrics
@event_source(data_class=APIGatewayProxyEvent)
def handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict[str, Any]:
    params = event.path_parameters or {}
    job_id, vendor = params.get("job_id", ""), params.get("vendor", "")
    logger.append_keys(job_id=job_id)
    # Only a known vendor becomes a dimension: anyone can POST to any path here.
    tag_vendor(vendor if vendor in vendor_ids() else None)
    body = event.body or ""
    raw = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    token = (event.query_string_parameters or {}).get("token")
    result = handle_callback(services(), vendor, job_id, token, raw)
    metrics.add_metric(name=f"Callback{result.status_code}", unit="Count", value=1)
    return {
        "statusCode": result.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": result.message}),
    }
