"""Jobs and their sentences: ``JOB#<job_id>``/``JOB`` and ``JOB#<job_id>``/``SENTENCE#<text_id>``.

gsi1 lists a tenant's jobs newest first, gsi2 finds a job by its vendor task id. Every write of a
job or sentence is conditional on its ``version`` (voiceclone.store.table.Table.change), so a
callback and a poller racing cannot overwrite each other's update; a job's status moves only
along the legal transitions (voiceclone.domain.models.check_transition).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.errors import NotFound, PhraseTaken, UploadRefused, VersionConflict
from voiceclone.domain.models import (
    UPLOAD_STATUSES,
    Job,
    JobStatus,
    Sentence,
    SentenceStatus,
    Voice,
    check_transition,
    utcnow,
)
from voiceclone.store.consent import phrase_claim
from voiceclone.store.table import (
    Table,
    conditional_failed,
    from_attrs,
    item_of,
    version_is,
)
from voiceclone.store.voices import VoiceStore

JOB_SK = "JOB"


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


class JobStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ----- jobs -------------------------------------------------------------------------------

    @staticmethod
    def item(job: Job) -> dict[str, Any]:
        return item_of(
            job,
            pk=job_pk(job.job_id),
            sk=JOB_SK,
            type="job",
            gsi1pk=f"TENANT#{job.tenant_id}#JOBS",
            gsi1sk=f"{job.created_at.isoformat()}#{job.job_id}",
            gsi2pk=f"VTASK#{job.vendor}#{job.vendor_task_id}" if job.vendor_task_id else None,
            gsi2sk=JOB_SK if job.vendor_task_id else None,
        )

    @staticmethod
    def sentence_item(sentence: Sentence) -> dict[str, Any]:
        return item_of(
            sentence, pk=job_pk(sentence.job_id), sk=f"SENTENCE#{sentence.text_id}", type="sentence"
        )

    def create(self, job: Job, sentences: list[Sentence]) -> None:
        """Write the job and its sentences at once: a job never exists without its sentences.

        A job whose speaker reads a one-time phrase claims it in the same transaction:
        PhraseTaken, and nothing written, when any job ever had it.
        """
        name = self.table.name
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": name,
                    "Item": self.item(job),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        claims_phrase = job.consent is not None and bool(job.consent.phrase_digits)
        if job.consent is not None and claims_phrase:
            items.append(phrase_claim(name, job.consent.phrase_digits, job.job_id))
        items += [{"Put": {"TableName": name, "Item": self.sentence_item(s)}} for s in sentences]
        try:
            self.table.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            # The reasons come in the order of the items: the claim is the second.
            reasons = exc.response.get("CancellationReasons", [])
            if claims_phrase and len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                raise PhraseTaken("PhraseTaken", "the one-time phrase was issued before") from exc
            raise

    def get(self, job_id: str) -> Job | None:
        return self.table.read(Job, job_pk(job_id), JOB_SK)

    def require(self, job_id: str, tenant_id: str | None = None) -> Job:
        """The job, or NotFound: another tenant's job is reported exactly like a missing one."""
        job = self.get(job_id)
        if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
            raise NotFound("JobNotFound", f"no job {job_id}")
        return job

    def with_sentences(self, job_id: str, tenant_id: str | None = None) -> tuple[Job, list[Sentence]]:
        """The job and its sentences in one query; NotFound as require() for another tenant's job."""
        items = self.table.query_all(
            {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": job_pk(job_id)}},
                "ConsistentRead": True,
            }
        )
        jobs = [i for i in items if i.get("sk") == JOB_SK]
        if not jobs or (tenant_id is not None and jobs[0].get("tenant_id") != tenant_id):
            raise NotFound("JobNotFound", f"no job {job_id}")
        sentences = sorted(
            (Sentence.model_validate(i) for i in items if i.get("type") == "sentence"),
            key=lambda s: s.text_id,
        )
        return Job.model_validate(jobs[0]), sentences

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        """A page of the tenant's jobs, newest first, and the cursor of the next page."""
        items, next_cursor = self.table.page(f"TENANT#{tenant_id}#JOBS", limit, cursor)
        return [Job.model_validate(i) for i in items], next_cursor

    def find_by_vendor_task(self, vendor: str, task_id: str) -> Job | None:
        resp = self.table.client.query(
            TableName=self.table.name,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"VTASK#{vendor}#{task_id}"}},
        )
        items = resp.get("Items", [])
        return Job.model_validate(from_attrs(items[0])) if items else None

    def save(self, job: Job, expected_version: int) -> Job:
        """Write `job` if nobody wrote it since `expected_version`; the saved copy has version + 1."""
        saved = job.model_copy(update={"version": expected_version + 1, "updated_at": utcnow()})
        self.table.put_versioned(self.item(saved), expected_version, f"job {job.job_id}")
        return saved

    def mutate(self, job_id: str, change: Callable[[Job], Job | None]) -> Job:
        """Read, change and write a job (Table.change), along the legal status transitions only."""

        def write(updated: Job, current: Job) -> Job:
            if updated.status != current.status:
                check_transition(current.status, updated.status)
            return self.save(updated, expected_version=current.version)

        return self.table.change(lambda: self.require(job_id), write, change, f"job {job_id}")

    def transition(self, job_id: str, new_status: JobStatus, **changes: Any) -> Job:
        """Move a job to `new_status` (no-op when it is already there) with extra field changes."""

        def change(job: Job) -> Job | None:
            if job.status == new_status:
                return None
            return job.model_copy(update={"status": new_status, **changes})

        return self.mutate(job_id, change)

    def complete(self, job: Job, voice: Voice) -> Job:
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
        name = self.table.name
        self.table.transact(
            [
                {
                    "Put": {
                        "TableName": name,
                        "Item": VoiceStore.item(voice),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": name, "Item": self.item(saved), **version_is(job.version)}},
            ],
            f"job {job.job_id}",
        )
        return saved

    # ----- sentences --------------------------------------------------------------------------

    def sentence(self, job_id: str, text_id: str) -> Sentence:
        sentence = self.table.read(Sentence, job_pk(job_id), f"SENTENCE#{text_id}")
        if sentence is None:
            raise NotFound("SentenceNotFound", f"job {job_id} has no sentence {text_id}")
        return sentence

    def save_sentence(self, sentence: Sentence, expected_version: int) -> Sentence:
        saved = sentence.model_copy(update={"version": expected_version + 1})
        self.table.put_versioned(self.sentence_item(saved), expected_version, f"sentence {sentence.text_id}")
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
        recorded = True

        def change(sentence: Sentence) -> Sentence | None:
            nonlocal recorded
            # The same object again is a repeated event, unless the sentence was rejected since:
            # then it is a new upload of the same bytes (a vendor may refuse what our checks passed).
            recorded = not (sentence.upload_etag == etag and sentence.status is not SentenceStatus.REJECTED)
            if not recorded:
                return None
            if sentence.status is SentenceStatus.PASSED:
                raise UploadRefused(
                    "SentencePassed", f"sentence {text_id} passed its check: it takes no upload"
                )
            return sentence.model_copy(
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

        def write(updated: Sentence, current: Sentence) -> Sentence:
            self._write_while_job_in(job_id, job_statuses, self.sentence_item(updated), current.version)
            return updated

        self.table.change(lambda: self.sentence(job_id, text_id), write, change, f"sentence {text_id}")
        return recorded

    def _write_while_job_in(
        self, job_id: str, statuses: Collection[JobStatus], item: dict[str, Any], expected_version: int
    ) -> None:
        """Put a job's item (at `expected_version`) only while the job's status is one of `statuses`."""
        names = {f":s{i}": {"S": str(status)} for i, status in enumerate(sorted(statuses))}
        items: list[Any] = [
            {
                "ConditionCheck": {
                    "TableName": self.table.name,
                    "Key": {"pk": {"S": job_pk(job_id)}, "sk": {"S": JOB_SK}},
                    "ConditionExpression": f"#status IN ({', '.join(names)})",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": names,
                }
            },
            {"Put": {"TableName": self.table.name, "Item": item, **version_is(expected_version)}},
        ]
        try:
            self.table.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise UploadRefused("JobNotAwaitingAudio", f"job {job_id} takes no uploads now") from exc
            raise VersionConflict(
                "Conflict", f"{item['sk']['S']} of job {job_id} changed concurrently"
            ) from exc
