"""S3 ObjectCreated: one record per uploaded recording or document (voiceclone.logic.training.intake),
or per take of a comparison (its id in the key: voiceclone.logic.comparisons.intake)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.logic.comparisons import intake as comparison_intake
from voiceclone.logic.core.ids import is_comparison_id
from voiceclone.logic.core.keys import parse_upload_key
from voiceclone.logic.core.services import services
from voiceclone.logic.training.intake import handle_upload
from voiceclone.observability import log_metrics, logger, metrics


@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = S3Event(raw_event)
    outcomes = []
    for record in event.records:
        obj = record.s3.get_object
        # Keys arrive URL-encoded in S3 events (a space is "+").
        key = unquote_plus(obj.key)
        parsed = parse_upload_key(key)
        if parsed is not None and is_comparison_id(parsed[1]):
            tenant_id, comparison_id, name, kind = parsed
            outcome = comparison_intake.handle_upload(
                services(), tenant_id, comparison_id, name, kind, key, obj.size or 0, obj.etag or ""
            )
        else:
            outcome = handle_upload(services(), key=key, size=obj.size or 0, etag=obj.etag or "")
        metrics.add_metric(name=f"Upload{outcome.value.title().replace('_', '')}", unit="Count", value=1)
        outcomes.append(outcome.value)
    return {"outcomes": outcomes}
