"""Events: a job's status changes, a speech's end, a consent on record, a voice deleted, a comparison's
vendor ending and the comparison ending: put on the bus once.

The stream carries every write of the table; only a job item whose status changed
(or which was just created), a speech item that entered SUCCEEDED or FAILED (a
synchronous one is created so), a consent record written, a voice that entered
DELETED, and a comparison whose vendor ended or which ended make an event (`event_of_change`). Publishing is
idempotent per event: a marker item ``EVENT#<event_id>`` / ``EVENT`` is claimed with a
conditional write before PutEvents and marked PUBLISHED after it, so a stream record
delivered twice (a retried batch, or moto's duplicate delivery on concurrent writes)
publishes once. A claim left behind by a crashed invocation lapses after
CLAIM_SECONDS; markers expire (table TTL) after MARKER_DAYS.

Per job the events go out in order: once a record of a job fails in a batch, the
later records of that job in the batch are failed too without being tried, and
Lambda retries the batch from the first failed record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from voiceclone import aws
from voiceclone.domain.comparison import Comparison, VendorOutcome
from voiceclone.domain.consent import ConsentRecord
from voiceclone.domain.models import Job, JobStatus, Speech, SpeechStatus, Voice, VoiceState
from voiceclone.domain.notifications import (
    EVENT_SOURCE,
    ComparisonEvent,
    ConsentEvent,
    Event,
    JobEvent,
    SpeechEvent,
    VoiceEvent,
)
from voiceclone.logic.core.services import Services
from voiceclone.observability import count, logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# boto3's EventBridge client (the project's boto3-stubs extras do not include events).
EventBridgeClient = Any

JOB_SK = "JOB"
SPEECH_SK = "SPEECH"
VOICE_SK = "VOICE"
CONSENT_SK = "CONSENT"
COMPARISON_SK = "COMPARISON"
MARKER_SK = "EVENT"
PENDING = "PENDING"
PUBLISHED = "PUBLISHED"
# A claim older than this is taken to be from an invocation that died between claim and publish.
CLAIM_SECONDS = 60
# How long a published marker is kept to recognise a repeated record (streams keep records 24 h).
MARKER_DAYS = 7


class EventNotPublished(Exception):
    """The record is to be retried: PutEvents failed, or another invocation is publishing it right now."""


def _plain(value: Any) -> Any:
    """A stream image's value as JSON would have it (the stream's numbers are Decimals)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _is_job(image: Mapping[str, Any] | None) -> bool:
    return bool(image) and image.get("sk") == JOB_SK and image.get("type") == "job"  # type: ignore[union-attr]


def _is_speech(image: Mapping[str, Any] | None) -> bool:
    return bool(image) and image.get("sk") == SPEECH_SK and image.get("type") == "speech"  # type: ignore[union-attr]


def _is(image: Mapping[str, Any] | None, sk: str, kind: str) -> bool:
    return bool(image) and image.get("sk") == sk and image.get("type") == kind  # type: ignore[union-attr]


def _voice_event(old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any]) -> VoiceEvent | None:
    """Voice Deleted when a voice item entered DELETED."""
    voice = Voice.model_validate(_plain(dict(new_image)))
    if voice.state is not VoiceState.DELETED:
        return None
    if old_image and str(old_image.get("state")) == VoiceState.DELETED.value:
        return None
    return VoiceEvent.of(voice)


def _speech_event(old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any]) -> SpeechEvent | None:
    """Speech Succeeded / Speech Failed when a speech item entered one of those statuses."""
    speech = Speech.model_validate(_plain(dict(new_image)))
    if not speech.status.terminal:
        return None
    if old_image and SpeechStatus(str(old_image.get("status"))) == speech.status:
        return None
    return SpeechEvent.of(speech)


def _comparison_event(
    old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any]
) -> ComparisonEvent | None:
    """A vendor's end (its outcome left PENDING), else the comparison's (its status became terminal)."""
    comparison = Comparison.model_validate(_plain(dict(new_image)))
    before = Comparison.model_validate(_plain(dict(old_image))) if old_image else None
    for entry in comparison.vendors:
        was = before.vendor(entry.vendor).outcome if before is not None else VendorOutcome.PENDING
        if was is VendorOutcome.PENDING and entry.outcome is not VendorOutcome.PENDING:
            return ComparisonEvent.vendor_ended(comparison, entry)
    if comparison.status.terminal and (before is None or not before.status.terminal):
        return ComparisonEvent.completed(comparison)
    return None


def event_of_change(
    event_name: str, old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None
) -> Event | None:
    """The event a table change makes, or None: no item that makes events, or nothing the events tell.

    The images are the stream's, deserialized (plain values or Decimals). An INSERT of a job
    is Job Created; a MODIFY that changed `status` is the event of the new status. A speech
    makes Speech Succeeded or Speech Failed when it enters that status (created so, or changed).
    A consent record's INSERT is Consent Recorded; a voice's MODIFY into DELETED is Voice Deleted.
    """
    if event_name in ("INSERT", "MODIFY") and _is_speech(new_image):
        assert new_image is not None
        return _speech_event(old_image, new_image)
    if event_name == "INSERT" and _is(new_image, CONSENT_SK, "consent"):
        assert new_image is not None
        return ConsentEvent.of(ConsentRecord.model_validate(_plain(dict(new_image))))
    if event_name == "MODIFY" and _is(new_image, COMPARISON_SK, "comparison"):
        assert new_image is not None
        return _comparison_event(old_image, new_image)
    if event_name == "MODIFY" and _is(new_image, VOICE_SK, "voice"):
        assert new_image is not None
        return _voice_event(old_image, new_image)
    if event_name not in ("INSERT", "MODIFY") or not _is_job(new_image):
        return None
    assert new_image is not None
    job = Job.model_validate(_plain(dict(new_image)))
    if event_name == "INSERT" or not old_image:
        return JobEvent.of(job, previous_status=None)
    previous = JobStatus(str(old_image.get("status")))
    if previous == job.status:
        return None
    return JobEvent.of(job, previous_status=previous)


def event_of_record(record: DynamoDBRecord) -> Event | None:
    name = record.event_name.name if record.event_name else ""
    stream = record.dynamodb
    if stream is None:
        return None
    return event_of_change(name, stream.old_image or None, stream.new_image or None)


class EventPublisher:
    """Puts a job event on the bus at most once per event id (see the module's docstring)."""

    def __init__(
        self, table_name: str, dynamodb: DynamoDBClient, events: EventBridgeClient, bus_name: str
    ) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.events = events
        self.bus_name = bus_name

    def _key(self, event: Event) -> dict[str, Any]:
        return {"pk": {"S": f"EVENT#{event.event_id}"}, "sk": {"S": MARKER_SK}}

    def publish(self, event: Event) -> bool:
        """True when the event was put on the bus now; False when it had been already."""
        if not self._claim(event):
            return False
        try:
            self._put(event)
        except Exception:
            self._release(event)
            raise
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=self._key(event),
            UpdateExpression="SET #state = :published REMOVE claimed_until",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":published": {"S": PUBLISHED}},
        )
        return True

    def _claim(self, event: Event) -> bool:
        now = int(time.time())
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    **self._key(event),
                    "type": {"S": "event_marker"},
                    "job_id": {"S": event.subject_id},
                    "state": {"S": PENDING},
                    "claimed_until": {"N": str(now + CLAIM_SECONDS)},
                    "expires_at": {"N": str(now + MARKER_DAYS * 86400)},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#state = :pending AND claimed_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":pending": {"S": PENDING}, ":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            marker = self.dynamodb.get_item(
                TableName=self.table_name, Key=self._key(event), ConsistentRead=True
            ).get("Item", {})
            if marker.get("state", {}).get("S") == PUBLISHED:
                return False
            raise EventNotPublished(
                f"event {event.event_id} is being published by another invocation"
            ) from exc
        return True

    def _release(self, event: Event) -> None:
        """Drop a claim after a failed publish, so the retry need not wait for it to lapse."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=self._key(event),
                ConditionExpression="#state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":pending": {"S": PENDING}},
            )
        except ClientError:
            logger.warning("could not release an event claim", extra={"event_id": event.event_id})

    def _put(self, event: Event) -> None:
        result = self.events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": event.model_dump_json(),
                    "EventBusName": self.bus_name,
                    "Time": event.occurred_at,
                }
            ]
        )
        if result.get("FailedEntryCount"):
            entry = (result.get("Entries") or [{}])[0]
            raise EventNotPublished(
                f"PutEvents refused {event.event_id}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )


@cache
def _events_client() -> EventBridgeClient:
    return aws.client("events")


def publisher(svc: Services) -> EventPublisher:
    events = svc.overrides.get("events") or _events_client()
    return EventPublisher(
        svc.settings.table_name, svc.store.table.client, events, svc.settings.event_bus_name
    )


def process_stream(
    svc: Services, event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    """Publish the batch's job events; the records to retry are reported as batch item failures."""
    pub = publisher(svc)
    failed_jobs: set[str] = set()

    def record_handler(record: DynamoDBRecord) -> str:
        job_event = event_of_record(record)
        if job_event is None:
            return "ignored"
        log = {
            "subject_id": job_event.subject_id,
            "event_id": job_event.event_id,
            "detail_type": job_event.detail_type,
            "vendor": job_event.vendor,
        }
        if job_event.subject_id in failed_jobs:
            # An earlier event of this job failed: this one must not overtake it.
            raise EventNotPublished(f"event {job_event.event_id} waits for an earlier event of its job")
        try:
            published = pub.publish(job_event)
        except EventNotPublished as exc:
            failed_jobs.add(job_event.subject_id)
            logger.warning("job event not published yet; retried", extra={**log, "why": str(exc)})
            raise
        except Exception:
            failed_jobs.add(job_event.subject_id)
            logger.exception("job event not published", extra=log)
            raise
        if published:
            logger.info("job event published", extra=log)
            count("JobEventPublished", job_event.vendor)  # a batch spans vendors
            return "published"
        logger.info("job event already published", extra=log)
        return "duplicate"

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
