"""A comparison's events from its table changes: one vendor's voice ready, one vendor failed, the end;
nothing for a write that ends nothing; each back from its EventBridge detail as itself."""

from __future__ import annotations

from typing import Any

import jsonschema
from voiceclone.domain.comparison import Comparison, ComparisonStatus, VendorOutcome
from voiceclone.domain.models import JobError, utcnow
from voiceclone.domain.notifications import ComparisonEvent, event_of_detail, json_schema
from voiceclone.logic.notifications.bus import event_of_change
from voiceclone.store.comparisons import ComparisonStore

from tests.unit.test_comparison_store import comparison


def image(record: Comparison) -> dict[str, Any]:
    """The item as the stream's deserialized image carries it."""
    from boto3.dynamodb.types import TypeDeserializer

    item = ComparisonStore.item(record)
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def ended(record: Comparison, vendor: str, outcome: VendorOutcome, **fields: Any) -> Comparison:
    vendors = [
        v.model_copy(update={"outcome": outcome, "ended_at": utcnow(), **fields}) if v.vendor == vendor else v
        for v in record.vendors
    ]
    return record.model_copy(update={"vendors": vendors, "version": record.version + 1})


def test_each_vendor_end_and_the_comparison_end_make_one_event() -> None:
    start = comparison("cmp-e", "12121212").model_copy(
        update={"status": ComparisonStatus.TRAINING, "notify_url": "https://hooks.example/c"}
    )
    assert event_of_change("INSERT", None, image(start)) is None
    assert event_of_change("MODIFY", image(start), image(start)) is None
    ready = ended(start, "qiniu", VendorOutcome.READY, voice_id="v-1")
    voice_ready = event_of_change("MODIFY", image(start), image(ready))
    assert isinstance(voice_ready, ComparisonEvent)
    assert (voice_ready.detail_type, voice_ready.vendor, voice_ready.voice_id, voice_ready.error) == (
        "Comparison Voice Ready",
        "qiniu",
        "v-1",
        None,
    )
    assert voice_ready.has_webhook and voice_ready.event_id == "cmp-e:qiniu:READY"
    error = JobError(error="VendorRejected", code="MSS.00000001", message="audit failed", vendor="huawei")
    failed = ended(ready, "huawei", VendorOutcome.FAILED, error=error)
    vendor_failed = event_of_change("MODIFY", image(ready), image(failed))
    assert isinstance(vendor_failed, ComparisonEvent)
    assert vendor_failed.detail_type == "Comparison Vendor Failed" and vendor_failed.error == error
    done = failed.model_copy(update={"status": ComparisonStatus.PARTLY_SUCCEEDED, "ended_at": utcnow()})
    completed = event_of_change("MODIFY", image(failed), image(done))
    assert isinstance(completed, ComparisonEvent)
    assert completed.detail_type == "Comparison Completed" and completed.vendor is None
    assert completed.outcomes == {"qiniu": VendorOutcome.READY, "huawei": VendorOutcome.FAILED}
    assert completed.status is ComparisonStatus.PARTLY_SUCCEEDED
    # A later write of an ended comparison (its facts, say) makes no event
    assert event_of_change("MODIFY", image(done), image(done.model_copy(update={"version": 9}))) is None
    for event in (voice_ready, vendor_failed, completed):
        detail = event.model_dump(mode="json")
        assert event_of_detail(detail) == event
        jsonschema.validate(detail, json_schema())
