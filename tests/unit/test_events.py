"""Job events: the model and its committed schema, which table changes make an event, publishing once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from voiceclone.domain.models import Gender, Job, JobError, JobStatus, Language
from voiceclone.domain.notifications import DETAIL_TYPES, EVENT_SOURCE, JobEvent, json_schema_text
from voiceclone.logic.core.services import Services
from voiceclone.logic.notifications import bus as logic
from voiceclone.logic.notifications.bus import (
    EventNotPublished,
    EventPublisher,
    event_of_change,
    process_stream,
)
from voiceclone.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"
REGENERATE = "python scripts/gen_event_schema.py"


def job(**changes: Any) -> Job:
    base = Job(
        job_id="j1",
        tenant_id="t1",
        vendor="tencent_vrs",
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    return base.model_copy(update=changes)


def image(j: Job) -> dict[str, Any]:
    """A job item as the stream's deserialized image has it (numbers are Decimals)."""
    plain = json.loads(j.model_dump_json())
    item = json.loads(json.dumps(plain), parse_float=Decimal, parse_int=Decimal)
    return {
        **{k: v for k, v in item.items() if v is not None},
        "pk": f"JOB#{j.job_id}",
        "sk": "JOB",
        "type": "job",
    }


def test_the_committed_schema_is_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        f"docs/events.schema.json is out of date: run `{REGENERATE}`"
    )


def test_every_status_has_a_detail_type() -> None:
    assert set(DETAIL_TYPES) == set(JobStatus)
    assert DETAIL_TYPES[JobStatus.AWAITING_AUDIO] == "Job Created"
    assert DETAIL_TYPES[JobStatus.CHECK_FAILED] == "Job Check Failed"


def test_an_insert_is_job_created() -> None:
    event = event_of_change("INSERT", None, image(job()))
    assert event is not None
    assert (event.detail_type, event.status, event.previous_status) == ("Job Created", "AWAITING_AUDIO", None)
    assert event.event_id == "j1:0" and event.sequence == 0 and event.has_webhook is False


def test_a_status_change_is_the_new_statuses_event_with_its_details() -> None:
    before = job(status=JobStatus.TRAINING, version=6)
    after = job(
        status=JobStatus.FAILED,
        version=7,
        error=JobError(error="TrainingFailed", code="X", message="bad", vendor="tencent_vrs"),
        notify_url="https://example.com/hook",
    )
    event = event_of_change("MODIFY", image(before), image(after))
    assert event is not None
    assert event.detail_type == "Job Failed" and event.previous_status is JobStatus.TRAINING
    assert event.sequence == 7 and event.event_id == "j1:7" and event.has_webhook is True
    assert event.error is not None and event.error.code == "X"
    assert event.occurred_at == after.updated_at


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("MODIFY", image(job(version=1)), image(job(version=2))),  # same status: no event
        ("REMOVE", image(job()), None),
        ("INSERT", None, {"pk": "JOB#j1", "sk": "SENTENCE#00001", "type": "sentence"}),
        ("INSERT", None, {"pk": "EVENT#j1:0", "sk": "EVENT", "type": "event_marker"}),
    ],
)
def test_other_changes_make_no_event(name: str, old: Any, new: Any) -> None:
    assert event_of_change(name, old, new) is None


def test_every_event_validates_against_the_committed_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for status in JobStatus:
        event = JobEvent.of(job(status=status, version=3, voice_id="v-1"), previous_status=JobStatus.CHECKING)
        jsonschema.validate(json.loads(event.model_dump_json()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"event_id": "x"}, schema)


# ----- publishing once ---------------------------------------------------------------------------


class FakeTable:
    """The conditional writes EventPublisher makes, as DynamoDB answers them."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _failed() -> ClientError:
        return ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")

    def put_item(self, **kw: Any) -> None:
        pk = kw["Item"]["pk"]["S"]
        current = self.items.get(pk)
        now = int(kw["ExpressionAttributeValues"][":now"]["N"])
        lapsed = current and current["state"]["S"] == "PENDING" and int(current["claimed_until"]["N"]) < now
        if current and not lapsed:
            raise self._failed()
        self.items[pk] = kw["Item"]

    def get_item(self, **kw: Any) -> dict[str, Any]:
        item = self.items.get(kw["Key"]["pk"]["S"])
        return {"Item": item} if item else {}

    def update_item(self, **kw: Any) -> None:
        item = self.items[kw["Key"]["pk"]["S"]]
        item["state"] = kw["ExpressionAttributeValues"][":published"]
        item.pop("claimed_until", None)

    def delete_item(self, **kw: Any) -> None:
        self.items.pop(kw["Key"]["pk"]["S"], None)


class FakeBus:
    def __init__(self, fail: int = 0) -> None:
        self.entries: list[dict[str, Any]] = []
        self.fail = fail

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.fail:
            self.fail -= 1
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}


def test_a_repeated_event_is_published_once_and_a_failed_put_can_be_retried() -> None:
    table, bus = FakeTable(), FakeBus(fail=1)
    publisher = EventPublisher("t", table, bus, "bus")  # type: ignore[arg-type]
    event = JobEvent.of(job(), None)
    # A failed PutEvents leaves no claim behind: the retry publishes
    with pytest.raises(EventNotPublished):
        publisher.publish(event)
    assert publisher.publish(event) is True
    # ...and a repeated record finds the event published
    assert publisher.publish(event) is False
    assert len(bus.entries) == 1
    (entry,) = bus.entries
    assert entry["Source"] == EVENT_SOURCE and entry["DetailType"] == "Job Created"
    assert entry["EventBusName"] == "bus" and json.loads(entry["Detail"])["event_id"] == "j1:0"


def test_an_event_another_invocation_is_publishing_is_retried_not_duplicated() -> None:
    table, bus = FakeTable(), FakeBus()
    publisher = EventPublisher("t", table, bus, "bus")  # type: ignore[arg-type]
    event = JobEvent.of(job(), None)
    publisher._claim(event)  # another invocation holds the claim
    with pytest.raises(EventNotPublished):
        publisher.publish(event)
    assert bus.entries == []


def stream_record(seq: int, old: Job | None, new: Job) -> dict[str, Any]:
    ser = TypeSerializer()

    def attrs(j: Job) -> dict[str, Any]:
        return {k: ser.serialize(v) for k, v in image(j).items()}

    dynamodb: dict[str, Any] = {"SequenceNumber": str(seq), "NewImage": attrs(new), "Keys": {}}
    if old is not None:
        dynamodb["OldImage"] = attrs(old)
    return {"eventID": str(seq), "eventName": "MODIFY" if old else "INSERT", "dynamodb": dynamodb}


def test_a_failed_event_holds_back_the_later_events_of_its_job_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a batch: job a created and checking, job b created; publishing a's creation fails
    published: list[str] = []

    class Publisher:
        def publish(self, event: JobEvent) -> bool:
            if event.event_id == "a:0":
                raise EventNotPublished("bus unavailable")
            published.append(event.event_id)
            return True

    monkeypatch.setattr(logic, "publisher", lambda svc: Publisher())
    a0, a1 = job(job_id="a"), job(job_id="a", status=JobStatus.CHECKING, version=1)
    b0 = job(job_id="b")
    batch = {"Records": [stream_record(1, None, a0), stream_record(2, a0, a1), stream_record(3, None, b0)]}
    svc = Services(
        settings=Settings.model_validate({"VOICECLONE_TABLE_NAME": "t", "VOICECLONE_BUCKET_NAME": "b"})
    )
    # When the batch is processed
    response = process_stream(svc, batch, None)  # type: ignore[arg-type]
    # Then a's checking event waits for its creation (both retried), b's goes out
    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "2"}]}
    assert published == ["b:0"]
