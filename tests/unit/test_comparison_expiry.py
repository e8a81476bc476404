"""Comparison expiry: when a comparison whose takes never all arrived ends EXPIRED, and what that does
(voiceclone.logic.comparisons.expiry).

The comparison and its jobs live in a moto table; S3 and Scheduler are the recording fakes of the
jobs' expiry tests, so each case states exactly what was deleted and what was armed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from voiceclone.domain.comparison import Comparison, ComparisonStatus, TakeRecord
from voiceclone.domain.models import Gender, Job, JobStatus, Language
from voiceclone.domain.steps import ExpiryEvent
from voiceclone.logic.comparisons import expiry
from voiceclone.logic.core.services import Services
from voiceclone.logic.training.expiry import ExpiryOutcome
from voiceclone.settings import Settings
from voiceclone.store import Store

from tests.helpers import TABLE_SCHEMA, moto_client
from tests.unit.test_comparison_store import comparison
from tests.unit.test_expiry import FUNCTION_ARN, NOW, ROLE_ARN, FakeS3, FakeScheduler

CID = "cmp-" + "e" * 32
DEADLINE = NOW - timedelta(seconds=1)
KEPT_CONSENT = f"training/acme/{CID}/recordings/consent/etag-c.wav"


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3()


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def svc(s3: FakeS3, scheduler: FakeScheduler) -> Iterator[Services]:
    with moto_client("dynamodb", "us-east-1") as client:
        name = f"cmp-expiry-{uuid.uuid4().hex[:8]}"
        client.create_table(TableName=name, **TABLE_SCHEMA)
        settings = Settings.model_validate(
            {
                "VOICECLONE_TABLE_NAME": name,
                "VOICECLONE_BUCKET_NAME": "bucket",
                "VOICECLONE_EXPIRY_FUNCTION_ARN": FUNCTION_ARN,
                "VOICECLONE_EXPIRY_ROLE_ARN": ROLE_ARN,
                "VOICECLONE_EXPIRY_SCHEDULE_GROUP": "expiry-group",
            }
        )
        try:
            yield Services(
                settings=settings,
                overrides={"s3": s3, "scheduler": scheduler, "store": Store(name, client)},
            )
        finally:
            client.delete_table(TableName=name)


def waiting(svc: Services, deadline_at: datetime = DEADLINE, **fields: Any) -> Comparison:
    """A comparison of qiniu (j1) and huawei (j2): the consent take in, take 00001 and the letter not."""
    made = comparison(CID, "51515151").model_copy(
        update={
            "takes": [
                TakeRecord(text_id="consent", text="I consent", etag="etag-c", size=3, s3_key=KEPT_CONSENT),
                TakeRecord(text_id="00001", text="x"),
            ],
            "documents": {"authorization_letter": ""},
            "deadline_at": deadline_at,
            **fields,
        }
    )
    svc.store.comparisons.create(made)
    for job_id, vendor in (("j1", "qiniu"), ("j2", "huawei")):
        svc.store.jobs.create(
            Job(
                job_id=job_id,
                tenant_id="acme",
                vendor=vendor,
                voice_name="v",
                language=Language.ZH_CN,
                gender=Gender.FEMALE,
                deadline_at=deadline_at,
                comparison_id=CID,
            ),
            [],
        )
    return svc.store.comparisons.require(CID)


@pytest.mark.parametrize("status", list(ComparisonStatus))
def test_only_a_comparison_waiting_for_takes_past_its_deadline_expires(status: ComparisonStatus) -> None:
    made = comparison(CID, "1").model_copy(update={"status": status, "deadline_at": NOW})
    waits = status is ComparisonStatus.AWAITING_AUDIO
    assert expiry.why_not(made, NOW) is (None if waits else ExpiryOutcome.NOT_WAITING)
    assert expiry.why_not(made, NOW - timedelta(seconds=1)) is (
        ExpiryOutcome.NOT_DUE if waits else ExpiryOutcome.NOT_WAITING
    )


def test_an_expired_comparison_names_what_is_missing_deletes_its_takes_and_expires_its_jobs(
    svc: Services, s3: FakeS3
) -> None:
    # Given a comparison past its deadline with one take kept, and the objects left in its prefixes
    waiting(svc)
    left = f"uploads/acme/{CID}/00001.wav"  # posted, but its event not handled yet
    s3.objects |= {KEPT_CONSENT, f"uploads/acme/{CID}/consent.wav", left}
    # When its schedule fires
    result = expiry.on_schedule(svc, comparison_id=CID, due_at=DEADLINE)
    # Then it ended EXPIRED, naming the take and the document that never came
    assert result.outcome is ExpiryOutcome.EXPIRED
    ended = svc.store.comparisons.require(CID)
    assert ended.status is ComparisonStatus.EXPIRED and ended.ended_at is not None
    assert ended.error is not None and ended.error.code == "ComparisonExpired"
    assert ended.error.message == (
        "the take 00001 and the document authorization_letter did not arrive within 7 days; "
        "create a new comparison"
    )
    # ...everything it kept and every upload key is gone
    assert {KEPT_CONSENT, f"uploads/acme/{CID}/consent.wav", left} <= set(s3.deleted)
    assert s3.objects == set()
    # ...and each vendor's job ended EXPIRED through the jobs' own expiry
    assert [svc.store.jobs.require(j).status for j in ("j1", "j2")] == [JobStatus.EXPIRED] * 2
    assert svc.store.jobs.require("j1").error is not None
    # A second run (a retried invocation) finds it expired and only cleans up again
    version = ended.version
    again = expiry.expire_comparison(svc, CID)
    assert again.outcome is ExpiryOutcome.EXPIRED
    assert svc.store.comparisons.require(CID).version == version


def test_a_comparison_that_started_training_is_never_expired(svc: Services, s3: FakeS3) -> None:
    waiting(svc, status=ComparisonStatus.TRAINING)
    result = expiry.expire_comparison(svc, CID, now=NOW)
    assert result.outcome is ExpiryOutcome.NOT_WAITING
    assert svc.store.comparisons.require(CID).status is ComparisonStatus.TRAINING
    assert s3.deleted == []
    assert [svc.store.jobs.require(j).status for j in ("j1", "j2")] == [JobStatus.AWAITING_AUDIO] * 2


def test_a_schedule_that_fires_early_arms_a_second_later_than_itself(
    svc: Services, s3: FakeS3, scheduler: FakeScheduler
) -> None:
    # Given a waiting comparison whose schedule for its deadline fires a moment before it
    deadline = NOW + timedelta(seconds=2)
    before = waiting(svc, deadline_at=deadline)
    expiry.arm(svc, CID, deadline)
    name = f"expire-{CID}"
    assert json.loads(scheduler.schedules[name]["Target"]["Input"]) == {
        "comparison_id": CID,
        "due_at": "2026-12-03T09:00:02Z",
    }
    # When it fires early
    result = expiry.expire_comparison(svc, CID, now=NOW, due_at=deadline)
    # Then nothing changed, and its schedule stands a second past the time it fired for
    assert result.outcome is ExpiryOutcome.NOT_DUE
    assert svc.store.comparisons.require(CID) == before and s3.deleted == []
    moved = scheduler.schedules[name]
    assert moved["ScheduleExpression"] == f"at({deadline + timedelta(seconds=1):%Y-%m-%dT%H:%M:%S})"
    assert json.loads(moved["Target"]["Input"])["due_at"] == "2026-12-03T09:00:03Z"
    # ...and once due, it expires
    done = expiry.expire_comparison(svc, CID, now=deadline, due_at=deadline + timedelta(seconds=1))
    assert done.outcome is ExpiryOutcome.EXPIRED


def test_the_schedule_input_names_one_job_or_one_comparison() -> None:
    assert ExpiryEvent.model_validate({"comparison_id": CID}).job_id == ""
    for both_or_none in ({}, {"job_id": "j1", "comparison_id": CID}):
        with pytest.raises(ValidationError):
            ExpiryEvent.model_validate(both_or_none)
