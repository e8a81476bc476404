"""The DynamoDB repository on moto: conditional writes, idempotent updates, listing, lookups."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from voiceclone.domain.errors import Conflict, InvalidTransition, NotFound
from voiceclone.domain.models import (
    Gender,
    Job,
    JobStatus,
    Language,
    Sentence,
    SentenceStatus,
    VendorVoice,
    Voice,
    utcnow,
)
from voiceclone.store import Store
from voiceclone_local.stack import LocalStack

from tests.helpers import TABLE_SCHEMA


@pytest.fixture
def repo(stack: LocalStack) -> Iterator[Store]:
    """A fresh table on the session's moto server.

    Not `mock_aws()`: leaving it resets every moto backend of the process, the local
    stack's included, when tests share a worker.
    """
    client = stack.client("dynamodb")
    name = f"repo-test-{uuid.uuid4().hex[:12]}"
    client.create_table(TableName=name, **TABLE_SCHEMA)
    yield Store(name, client)
    client.delete_table(TableName=name)


def make_job(repo: Store, tenant: str = "t1", job_id: str = "job1", sentences: int = 3, **kw: object) -> Job:
    job = Job(
        job_id=job_id,
        tenant_id=tenant,
        vendor="tencent_vrs",
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        sentence_count=sentences,
        **kw,
    )  # type: ignore[arg-type]
    repo.jobs.create(
        job,
        [
            Sentence(job_id=job_id, tenant_id=tenant, text_id=f"{i:05d}", text=f"s{i}", s3_key=f"k{i}")
            for i in range(1, sentences + 1)
        ],
    )
    return job


def test_a_job_is_stored_with_its_sentences(repo: Store) -> None:
    make_job(repo)
    job, sentences = repo.jobs.with_sentences("job1")
    assert job.status is JobStatus.AWAITING_AUDIO and job.version == 0
    assert [s.text_id for s in sentences] == ["00001", "00002", "00003"]


def test_creating_the_same_job_twice_fails(repo: Store) -> None:
    make_job(repo)
    with pytest.raises(Exception, match=r"TransactionCanceled|ConditionalCheck"):
        make_job(repo)


def test_another_tenants_job_is_not_found(repo: Store) -> None:
    make_job(repo, tenant="t1")
    with pytest.raises(NotFound):
        repo.jobs.require("job1", "t2")
    assert repo.jobs.require("job1", "t1").job_id == "job1"


def test_a_stale_write_loses_instead_of_overwriting(repo: Store) -> None:
    # Given two writers that read the same version
    make_job(repo)
    first = repo.jobs.require("job1")
    second = repo.jobs.require("job1")
    # When both write
    repo.jobs.save(
        first.model_copy(update={"vendor_status": "from-callback"}), expected_version=first.version
    )
    # Then the second write is refused, and the first one's update is kept
    with pytest.raises(Conflict):
        repo.jobs.save(
            second.model_copy(update={"vendor_status": "from-poller"}), expected_version=second.version
        )
    assert repo.jobs.require("job1").vendor_status == "from-callback"


def test_mutate_job_retries_on_conflict_and_keeps_both_updates(repo: Store) -> None:
    make_job(repo)
    raced = False

    def change(job: Job) -> Job | None:
        nonlocal raced
        if not raced:  # someone else writes between our read and our write
            raced = True
            other = repo.jobs.require("job1")
            repo.jobs.save(
                other.model_copy(update={"vendor_status": "other"}), expected_version=other.version
            )
        return job.model_copy(update={"execution_name": "exec"})

    job = repo.jobs.mutate("job1", change)
    assert job.execution_name == "exec" and job.vendor_status == "other" and job.version == 2


def test_transition_is_checked_and_idempotent(repo: Store) -> None:
    make_job(repo)
    with pytest.raises(InvalidTransition):
        repo.jobs.transition("job1", JobStatus.TRAINING)
    moved = repo.jobs.transition("job1", JobStatus.CHECKING)
    again = repo.jobs.transition("job1", JobStatus.CHECKING)
    assert moved.version == again.version == 1


def test_record_upload_ignores_the_same_object_twice(repo: Store) -> None:
    make_job(repo)
    assert repo.jobs.record_upload("job1", "00001", etag="e1", size=10) is True
    assert repo.jobs.record_upload("job1", "00001", etag="e1", size=10) is False
    assert repo.jobs.record_upload("job1", "00001", etag="e2", size=12) is True  # a new take replaces the old
    sentence = repo.jobs.sentence("job1", "00001")
    assert sentence.status is SentenceStatus.UPLOADED and sentence.upload_size == 12


def test_list_jobs_is_per_tenant_newest_first_and_paginated(repo: Store) -> None:
    base = utcnow()
    for i in range(5):
        make_job(repo, tenant="t1", job_id=f"j{i}", sentences=1, created_at=base + timedelta(seconds=i))
    make_job(repo, tenant="t2", job_id="other", sentences=1)
    page1, cursor = repo.jobs.list("t1", limit=2, cursor=None)
    page2, cursor2 = repo.jobs.list("t1", limit=2, cursor=cursor)
    page3, _ = repo.jobs.list("t1", limit=2, cursor=cursor2)
    assert [j.job_id for j in page1 + page2 + page3] == ["j4", "j3", "j2", "j1", "j0"]
    with pytest.raises(NotFound):  # a cursor from one tenant is useless to another
        repo.jobs.list("t2", limit=2, cursor=cursor)


def test_a_job_is_found_by_its_vendor_task(repo: Store) -> None:
    make_job(repo)
    repo.jobs.transition("job1", JobStatus.CHECKING)
    repo.jobs.transition("job1", JobStatus.TRAINING, vendor_task_id="task-42")
    found = repo.jobs.find_by_vendor_task("tencent_vrs", "task-42")
    assert found is not None and found.job_id == "job1"
    assert repo.jobs.find_by_vendor_task("tencent_vrs", "nope") is None


def test_complete_job_writes_voice_and_status_together(repo: Store) -> None:
    make_job(repo)
    repo.jobs.transition("job1", JobStatus.CHECKING)
    job = repo.jobs.transition("job1", JobStatus.TRAINING, vendor_task_id="task-1")
    voice = Voice(
        voice_id="v-job1",
        tenant_id="t1",
        job_id="job1",
        vendor="tencent_vrs",
        name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        vendor_voice=VendorVoice(vendor="tencent_vrs", voice_id="100001", details={"VoiceType": 100001}),
    )
    repo.jobs.complete(job, voice)
    assert repo.jobs.require("job1").status is JobStatus.SUCCEEDED
    stored = repo.voices.get("v-job1")
    assert stored is not None and stored.vendor_voice.details == {"VoiceType": 100001}
    # a stale second completion changes nothing
    with pytest.raises(Conflict):
        repo.jobs.complete(job, voice)
