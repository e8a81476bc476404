"""DynamoDB access for jobs, sentences and voices: the only module that talks to the table.

Single-table design (docs/table-design.md has the full picture): a job is
``JOB#<job_id>``/``JOB``, its sentences ``JOB#<job_id>``/``SENTENCE#<text_id>``,
a voice ``VOICE#<voice_id>``/``VOICE``; gsi1 lists a tenant's jobs or voices
newest first, gsi2 finds a job by its vendor task id.

Every write of a job or sentence is conditional on its ``version`` attribute, so
a callback and a poller racing cannot overwrite each other's update.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from voiceclone import aws
from voiceclone.domain.errors import Conflict, NotFound
from voiceclone.domain.models import (
    Job,
    JobStatus,
    Sentence,
    SentenceStatus,
    Speech,
    SpeechStatus,
    Voice,
    check_transition,
    utcnow,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from pydantic import BaseModel

# A model stored as one item, read back by Repository._read.
Stored = TypeVar("Stored", bound="BaseModel")

JOB_SK = "JOB"
VOICE_SK = "VOICE"
SPEECH_SK = "SPEECH"
APIKEY_SK = "APIKEY"
MAX_CONFLICT_RETRIES = 8
# The statuses in which a job takes recordings and documents; an upload at any other time (being
# checked, training, or ended in any way, EXPIRED included once it exists) is never recorded.
UPLOAD_STATUSES = frozenset({JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED})


class UploadRefused(Conflict):
    """An upload the job no longer waits for: its job moved on, or its sentence already passed."""


def _job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


def _to_attrs(data: dict[str, Any]) -> dict[str, Any]:
    """Serialize a JSON-able dict for DynamoDB (floats become Decimals, Nones are dropped)."""
    plain = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    return {k: aws.serialize(v) for k, v in plain.items() if v is not None}


def _item(model: BaseModel, **keys: str | None) -> dict[str, Any]:
    """A model's item: its JSON fields and the table's keys (pk, sk, type, index keys) for its kind."""
    return _to_attrs({**model.model_dump(mode="json"), **keys})


def _from_attrs(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | set):
            return [plain(v) for v in value]
        return value

    return {k: plain(aws.deserialize(v)) for k, v in item.items()}


def _conditional_failed(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
    return False


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


# A page cursor is the key of the last item returned (LastEvaluatedKey of a gsi1 query): these
# four string attributes and nothing else. Anything else is refused before DynamoDB sees it.
CURSOR_ATTRIBUTES = frozenset(("pk", "sk", "gsi1pk", "gsi1sk"))
MAX_CURSOR_VALUE_CHARS = 512


def _invalid_cursor() -> NotFound:
    return NotFound("InvalidCursor", "the page cursor is not valid; start again without it")


def _cursor_string(value: Any) -> bool:
    """Whether `value` is a DynamoDB string attribute a key of this table can hold."""
    if not isinstance(value, dict) or set(value) != {"S"}:
        return False
    text = value["S"]
    return (
        isinstance(text, str)
        and 0 < len(text) <= MAX_CURSOR_VALUE_CHARS
        and text.isprintable()
        and text.isascii()  # every key this service writes is ASCII (ids, tenants, timestamps)
    )


def page_start(cursor: str | None, gsi1pk: str) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor stands for, refused unless it is a page of this very list."""
    start = decode_cursor(cursor)
    if start is None:
        return None
    if (
        set(start) != CURSOR_ATTRIBUTES
        or not all(_cursor_string(start[name]) for name in CURSOR_ATTRIBUTES)
        or start["gsi1pk"]["S"] != gsi1pk
    ):
        raise _invalid_cursor()
    return start


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError) as exc:  # not base64, not UTF-8, not JSON, or nested too deep
        raise _invalid_cursor() from exc
    if not isinstance(value, dict):
        raise _invalid_cursor()
    return value


class Repository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._client or aws.client("dynamodb")

    # ----- jobs -------------------------------------------------------------------------------

    def _job_item(self, job: Job) -> dict[str, Any]:
        return _item(
            job,
            pk=_job_pk(job.job_id),
            sk=JOB_SK,
            type="job",
            gsi1pk=f"TENANT#{job.tenant_id}#JOBS",
            gsi1sk=f"{job.created_at.isoformat()}#{job.job_id}",
            gsi2pk=f"VTASK#{job.vendor}#{job.vendor_task_id}" if job.vendor_task_id else None,
            gsi2sk=JOB_SK if job.vendor_task_id else None,
        )

    def _sentence_item(self, sentence: Sentence) -> dict[str, Any]:
        return _item(
            sentence, pk=_job_pk(sentence.job_id), sk=f"SENTENCE#{sentence.text_id}", type="sentence"
        )

    def create_job(self, job: Job, sentences: list[Sentence]) -> None:
        """Write the job and its sentences at once: a job never exists without its sentences."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._job_item(job),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [{"Put": {"TableName": self.table_name, "Item": self._sentence_item(s)}} for s in sentences]
        self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    def _read(self, model: type[Stored], pk: str, sk: str) -> Stored | None:
        """One item by its key, read consistently, as `model`; None if there is none."""
        resp = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return model.model_validate(_from_attrs(item)) if item else None

    def get_job(self, job_id: str) -> Job | None:
        return self._read(Job, _job_pk(job_id), JOB_SK)

    def require_job(self, job_id: str, tenant_id: str | None = None) -> Job:
        """The job, or NotFound: another tenant's job is reported exactly like a missing one."""
        job = self.get_job(job_id)
        if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
            raise NotFound("JobNotFound", f"no job {job_id}")
        return job

    def get_job_with_sentences(self, job_id: str, tenant_id: str | None = None) -> tuple[Job, list[Sentence]]:
        """The job and its sentences in one query; NotFound as require_job for another tenant's job."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _job_pk(job_id)}},
            "ConsistentRead": True,
        }
        while True:
            resp = self.client.query(**kwargs)
            items += [_from_attrs(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        jobs = [i for i in items if i.get("sk") == JOB_SK]
        if not jobs or (tenant_id is not None and jobs[0].get("tenant_id") != tenant_id):
            raise NotFound("JobNotFound", f"no job {job_id}")
        sentences = sorted(
            (Sentence.model_validate(i) for i in items if i.get("type") == "sentence"),
            key=lambda s: s.text_id,
        )
        return Job.model_validate(jobs[0]), sentences

    def list_jobs(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        """A page of the tenant's jobs, newest first, and the cursor of the next page."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{tenant_id}#JOBS"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = page_start(cursor, f"TENANT#{tenant_id}#JOBS")
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self.client.query(**kwargs)
        jobs = [Job.model_validate(_from_attrs(i)) for i in resp.get("Items", [])]
        return jobs, encode_cursor(resp.get("LastEvaluatedKey"))

    def find_job_by_vendor_task(self, vendor: str, task_id: str) -> Job | None:
        resp = self.client.query(
            TableName=self.table_name,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"VTASK#{vendor}#{task_id}"}},
        )
        items = resp.get("Items", [])
        return Job.model_validate(_from_attrs(items[0])) if items else None

    def save_job(self, job: Job, expected_version: int) -> Job:
        """Write `job` if nobody wrote it since `expected_version`; the saved copy has version + 1."""
        saved = job.model_copy(update={"version": expected_version + 1, "updated_at": utcnow()})
        self._put_versioned(self._job_item(saved), expected_version, f"job {job.job_id}")
        return saved

    def _put_versioned(self, item: dict[str, Any], expected_version: int, what: str) -> None:
        """Put an existing item only if its version is still the one the writer read."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_exists(pk) AND version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict("Conflict", f"{what} changed concurrently") from exc
            raise

    def mutate_job(self, job_id: str, change: Callable[[Job], Job | None]) -> Job:
        """Read, change and write a job, retrying when another writer got there first.

        `change` returns the new job, or None when there is nothing to do (the
        idempotent case: a repeated event finds its work already done).
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            job = self.require_job(job_id)
            updated = change(job)
            if updated is None:
                return job
            if updated.status != job.status:
                check_transition(job.status, updated.status)
            try:
                return self.save_job(updated, expected_version=job.version)
            except Conflict:
                continue
        raise Conflict("Conflict", f"job {job_id} kept changing; gave up after {MAX_CONFLICT_RETRIES} tries")

    def transition(self, job_id: str, new_status: JobStatus, **changes: Any) -> Job:
        """Move a job to `new_status` (no-op when it is already there) with extra field changes."""

        def change(job: Job) -> Job | None:
            if job.status == new_status:
                return None
            return job.model_copy(update={"status": new_status, **changes})

        return self.mutate_job(job_id, change)

    # ----- sentences --------------------------------------------------------------------------

    def get_sentence(self, job_id: str, text_id: str) -> Sentence:
        sentence = self._read(Sentence, _job_pk(job_id), f"SENTENCE#{text_id}")
        if sentence is None:
            raise NotFound("SentenceNotFound", f"job {job_id} has no sentence {text_id}")
        return sentence

    def save_sentence(self, sentence: Sentence, expected_version: int) -> Sentence:
        saved = sentence.model_copy(update={"version": expected_version + 1})
        self._put_versioned(self._sentence_item(saved), expected_version, f"sentence {sentence.text_id}")
        return saved

    def record_upload(
        self,
        job_id: str,
        text_id: str,
        etag: str,
        size: int,
        s3_key: str | None = None,
        job_statuses: Collection[JobStatus] = UPLOAD_STATUSES,
    ) -> bool:
        """Mark a sentence uploaded, its recording at `s3_key`; False when this object was already recorded.

        Only while the job is in one of `job_statuses` and the sentence has not passed its check:
        the sentence is written in one transaction with a condition on the job's status, so an
        upload that races the job moving on (to CHECKING, or to an end) is never recorded.
        Otherwise UploadRefused, and nothing is written.
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            sentence = self.get_sentence(job_id, text_id)
            # The same object again is a repeated event, unless the sentence was rejected since:
            # then it is a new upload of the same bytes (a vendor may refuse what our checks passed).
            if sentence.upload_etag == etag and sentence.status is not SentenceStatus.REJECTED:
                return False
            if sentence.status is SentenceStatus.PASSED:
                raise UploadRefused(
                    "SentencePassed", f"sentence {text_id} passed its check: it takes no upload"
                )
            updated = sentence.model_copy(
                update={
                    "status": SentenceStatus.UPLOADED,
                    "upload_etag": etag,
                    "upload_size": size,
                    "uploaded_at": utcnow(),
                    "check": None,
                    **({"s3_key": s3_key} if s3_key else {}),
                    "version": sentence.version + 1,
                }
            )
            try:
                self._write_while_job_in(job_id, job_statuses, self._sentence_item(updated), sentence.version)
                return True
            except UploadRefused:
                raise
            except Conflict:
                continue  # the sentence changed since it was read: read it again
        raise Conflict("Conflict", f"sentence {text_id} kept changing")

    def _write_while_job_in(
        self, job_id: str, statuses: Collection[JobStatus], item: dict[str, Any], expected_version: int
    ) -> None:
        """Put a job's item (at `expected_version`) only while the job's status is one of `statuses`."""
        names = {f":s{i}": {"S": str(status)} for i, status in enumerate(sorted(statuses))}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": _job_pk(job_id)}, "sk": {"S": JOB_SK}},
                            "ConditionExpression": f"#status IN ({', '.join(names)})",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": names,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": item,
                            "ConditionExpression": "attribute_exists(pk) AND version = :v",
                            "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise UploadRefused("JobNotAwaitingAudio", f"job {job_id} takes no uploads now") from exc
            raise Conflict("Conflict", f"{item['sk']['S']} of job {job_id} changed concurrently") from exc

    # ----- voices -----------------------------------------------------------------------------

    def _voice_item(self, voice: Voice) -> dict[str, Any]:
        return _item(
            voice,
            pk=f"VOICE#{voice.voice_id}",
            sk=VOICE_SK,
            type="voice",
            gsi1pk=f"TENANT#{voice.tenant_id}#VOICES",
            gsi1sk=f"{voice.created_at.isoformat()}#{voice.voice_id}",
        )

    def complete_job(self, job: Job, voice: Voice) -> Job:
        """Record the voice and mark the job SUCCEEDED in one transaction."""
        check_transition(job.status, JobStatus.SUCCEEDED)
        saved = job.model_copy(
            update={
                "status": JobStatus.SUCCEEDED,
                "voice_id": voice.voice_id,
                "version": job.version + 1,
                "updated_at": utcnow(),
                "task_token": None,
            }
        )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._voice_item(voice),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._job_item(saved),
                            "ConditionExpression": "version = :v",
                            "ExpressionAttributeValues": {":v": {"N": str(job.version)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict("Conflict", f"job {job.job_id} changed concurrently") from exc
            raise
        return saved

    def get_voice(self, voice_id: str) -> Voice | None:
        return self._read(Voice, f"VOICE#{voice_id}", VOICE_SK)

    def require_voice(self, voice_id: str, tenant_id: str) -> Voice:
        """The voice, or NotFound: another tenant's voice is reported exactly like a missing one."""
        voice = self.get_voice(voice_id)
        if voice is None or voice.tenant_id != tenant_id:
            raise NotFound("VoiceNotFound", f"no voice {voice_id}")
        return voice

    def save_voice(self, voice: Voice, expected_version: int) -> Voice:
        """Write `voice` if nobody wrote it since `expected_version`; the saved copy has version + 1."""
        saved = voice.model_copy(update={"version": expected_version + 1, "updated_at": utcnow()})
        self._put_versioned(self._voice_item(saved), expected_version, f"voice {voice.voice_id}")
        return saved

    def list_voices(
        self,
        tenant_id: str,
        limit: int,
        cursor: str | None,
        matches: Callable[[Voice], bool] = lambda _: True,
    ) -> tuple[list[Voice], str | None]:
        """Up to `limit` of the tenant's voices that `matches`, newest first, and the next page's cursor.

        Filters apply after the read (a tenant has few voices), so a page is filled from as
        many reads as it takes; the cursor is the key of the last voice returned.
        """
        pk = f"TENANT#{tenant_id}#VOICES"
        start = page_start(cursor, pk)
        found: list[Voice] = []
        last_key: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self.client.query(**kwargs)
            for item in resp.get("Items", []):
                voice = Voice.model_validate(_from_attrs(item))
                if not matches(voice):
                    continue
                found.append(voice)
                if len(found) == limit:
                    last_key = {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
                    return found, encode_cursor(last_key)
            start = resp.get("LastEvaluatedKey")
            if not start:
                return found, None

    # ----- speech -----------------------------------------------------------------------------
    # A speech is SPEECH#<id>/SPEECH; gsi1 lists a voice's speech newest first (per tenant, so a
    # cursor of one tenant's list is no page of another's).

    def _speech_item(self, speech: Speech) -> dict[str, Any]:
        return _item(
            speech,
            pk=f"SPEECH#{speech.speech_id}",
            sk=SPEECH_SK,
            type="speech",
            gsi1pk=_speech_list_pk(speech.tenant_id, speech.voice_id),
            gsi1sk=f"{speech.created_at.isoformat()}#{speech.speech_id}",
        )

    def put_speech(self, speech: Speech) -> None:
        """Record a new speech and, once it SUCCEEDED, count its characters in the tenant's usage, at once.

        A speech still RUNNING (an async vendor) is counted when update_speech ends it SUCCEEDED.
        """
        put: dict[str, Any] = {
            "Put": {
                "TableName": self.table_name,
                "Item": self._speech_item(speech),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        items: list[Any] = [put, *self._speech_usage(speech)]
        self.client.transact_write_items(TransactItems=items)

    def update_speech(self, speech: Speech, previous_version: int) -> bool:
        """Store a changed speech if nobody changed it since ``previous_version``; False if someone did.

        Entering SUCCEEDED counts its characters in the tenant's usage in the same transaction.
        """
        put: dict[str, Any] = {
            "Put": {
                "TableName": self.table_name,
                "Item": self._speech_item(speech),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(previous_version)}},
            }
        }
        try:
            items: list[Any] = [put, *self._speech_usage(speech)]
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _speech_usage(self, speech: Speech) -> list[dict[str, Any]]:
        """The usage counter update of a SUCCEEDED speech (none for one RUNNING or FAILED)."""
        if speech.status is not SpeechStatus.SUCCEEDED:
            return []
        day = speech.created_at.date().isoformat()
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": {
                        "pk": {"S": f"TENANT#{speech.tenant_id}"},
                        "sk": {"S": _usage_sk(day, speech.vendor)},
                    },
                    # ADD is atomic: concurrent requests each count, none overwrites another.
                    "UpdateExpression": "ADD characters :c, speech_requests :one "
                    "SET #type = :type, vendor = :vendor, #day = :day, tenant_id = :tenant",
                    "ExpressionAttributeNames": {"#type": "type", "#day": "day"},
                    "ExpressionAttributeValues": {
                        ":c": {"N": str(speech.characters)},
                        ":one": {"N": "1"},
                        ":type": {"S": "usage"},
                        ":vendor": {"S": speech.vendor},
                        ":day": {"S": day},
                        ":tenant": {"S": speech.tenant_id},
                    },
                }
            },
        ]

    def find_speech(self, speech_id: str) -> Speech | None:
        """The speech of any tenant, or None (vendor callbacks name a speech, never a tenant)."""
        return self._read(Speech, f"SPEECH#{speech_id}", SPEECH_SK)

    def get_speech(self, speech_id: str, tenant_id: str) -> Speech:
        """The speech, or NotFound: another tenant's speech is reported exactly like a missing one."""
        speech = self.find_speech(speech_id)
        if speech is None or speech.tenant_id != tenant_id:
            raise NotFound("SpeechNotFound", f"no speech {speech_id}")
        return speech

    def list_speech(
        self, tenant_id: str, voice_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Speech], str | None]:
        """A page of what a voice spoke, newest first, and the cursor of the next page."""
        pk = _speech_list_pk(tenant_id, voice_id)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = page_start(cursor, pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self.client.query(**kwargs)
        found = [Speech.model_validate(_from_attrs(i)) for i in resp.get("Items", [])]
        return found, encode_cursor(resp.get("LastEvaluatedKey"))

    def speech_usage(self, tenant_id: str, start: date, end: date) -> dict[str, tuple[int, int]]:
        """vendor -> (characters, speech requests) of the tenant from `start` to `end`, both days included."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TENANT#{tenant_id}"},
                ":lo": {"S": _usage_sk(start.isoformat(), "")},
                ":hi": {"S": _usage_sk(end.isoformat(), "~")},
            },
        }
        totals: dict[str, tuple[int, int]] = {}
        for item in self._query_all(kwargs):
            chars, requests = totals.get(str(item["vendor"]), (0, 0))
            totals[str(item["vendor"])] = (
                chars + int(item.get("characters", 0)),
                requests + int(item.get("speech_requests", 0)),
            )
        return totals

    def clone_counts(self, tenant_id: str, start: date, end: date) -> dict[str, int]:
        """vendor -> voices the tenant cloned from `start` to `end` (deleted ones too: they were made)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TENANT#{tenant_id}#VOICES"},
                ":lo": {"S": start.isoformat()},
                ":hi": {"S": end.isoformat() + "~"},
            },
            "ProjectionExpression": "vendor",
        }
        counts: dict[str, int] = {}
        for item in self._query_all(kwargs):
            counts[str(item["vendor"])] = counts.get(str(item["vendor"]), 0) + 1
        return counts

    def _query_all(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            resp = self.client.query(**kwargs)
            items += [_from_attrs(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": resp["LastEvaluatedKey"]}

    # ----- API keys ---------------------------------------------------------------------------
    # Only the key's SHA-256 is stored: the plaintext is shown once, when it is issued.

    def put_api_key(self, key_hash: str, tenant_id: str, key_prefix: str) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_attrs(
                {
                    "pk": f"APIKEY#{key_hash}",
                    "sk": APIKEY_SK,
                    "type": "api_key",
                    "tenant_id": tenant_id,
                    "key_prefix": key_prefix,
                    "created_at": utcnow().isoformat(),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def tenant_of_api_key(self, key_hash: str) -> str | None:
        resp = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": APIKEY_SK}},
        )
        item = resp.get("Item")
        if not item or "revoked_at" in item:
            return None
        return str(_from_attrs(item)["tenant_id"])

    def revoke_api_key(self, key_hash: str) -> bool:
        """Revoke a key; False when there is no such key."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": APIKEY_SK}},
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"S": utcnow().isoformat()}},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # ----- webhook secrets ------------------------------------------------------------------------
    # One signing secret per tenant (TENANT#<tenant_id> / WEBHOOK_SECRET), made on first use.

    def webhook_secret(self, tenant_id: str) -> tuple[str, datetime]:
        """The tenant's webhook secret and when it was made; made now if the tenant has none yet."""
        key = {"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": WEBHOOK_SECRET_SK}}
        for _ in range(2):
            item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            if item:
                found = _from_attrs(item)
                return str(found["secret"]), datetime.fromisoformat(str(found["created_at"]))
            secret, created_at = _new_webhook_secret(), utcnow()
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=self._webhook_secret_item(tenant_id, secret, created_at),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if _conditional_failed(exc):
                    continue  # made concurrently: use that one
                raise
            return secret, created_at
        raise Conflict("Conflict", f"the webhook secret of tenant {tenant_id} could not be read")

    def rotate_webhook_secret(self, tenant_id: str) -> tuple[str, datetime]:
        """Replace the tenant's secret: deliveries from now on are signed with the new one only."""
        secret, created_at = _new_webhook_secret(), utcnow()
        self.client.put_item(
            TableName=self.table_name, Item=self._webhook_secret_item(tenant_id, secret, created_at)
        )
        return secret, created_at

    def _webhook_secret_item(self, tenant_id: str, secret: str, created_at: datetime) -> dict[str, Any]:
        return _to_attrs(
            {
                "pk": f"TENANT#{tenant_id}",
                "sk": WEBHOOK_SECRET_SK,
                "type": "webhook_secret",
                "tenant_id": tenant_id,
                "secret": secret,
                "created_at": created_at.isoformat(),
            }
        )


def _speech_list_pk(tenant_id: str, voice_id: str) -> str:
    return f"TENANT#{tenant_id}#VOICE#{voice_id}#SPEECH"


def _usage_sk(day: str, vendor: str) -> str:
    """A tenant's usage counters of one day and vendor; sorted by day, so a period is one query."""
    return f"USAGE#{day}#{vendor}"


# Names, not secrets.
WEBHOOK_SECRET_SK = "WEBHOOK_SECRET"  # noqa: S105
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105


def _new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
