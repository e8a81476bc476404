"""Job expiry: the schedule a waiting job gets, and what its firing does (voiceclone.logic.training.expiry).

The logic runs against an in-memory repository and recording fakes of S3, Scheduler and a vendor,
so each case states exactly what reached AWS and the vendor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError
from voiceclone.domain.errors import InvalidTransition, NotFound, VendorRejected, VersionConflict
from voiceclone.domain.models import (
    Gender,
    Job,
    JobStatus,
    Language,
    Sentence,
    SentenceCheck,
    SentenceStatus,
    check_transition,
)
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import expiry
from voiceclone.logic.training import steps as workflow
from voiceclone.logic.training.expiry import ExpiryOutcome
from voiceclone.settings import Settings
from voiceclone.store.jobs import JobStore
from voiceclone.store.table import Table
from voiceclone.vendors.base import VendorAdapter
from voiceclone_local.scheduler import LocalScheduler, due_at

from infra.settings import StackSettings

NOW = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)
WEEK = 7 * 86400
FUNCTION_ARN = "arn:aws:lambda:eu-central-1:123456789012:function:expire"
ROLE_ARN = "arn:aws:iam::123456789012:role/scheduler"


class MemoryRepository(JobStore):
    """Jobs and sentences on dicts, with the store's real read-change-write (mutate) over a versioned save."""

    def __init__(self) -> None:
        super().__init__(Table("memory"))
        self.jobs: dict[str, Job] = {}
        self.sentences: dict[str, list[Sentence]] = {}
        # Run once inside the next save: another writer that gets there first.
        self.before_next_save: Any = None

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def with_sentences(self, job_id: str, tenant_id: str | None = None) -> tuple[Job, list[Sentence]]:
        return self.require(job_id, tenant_id), list(self.sentences.get(job_id, []))

    def save(self, job: Job, expected_version: int) -> Job:
        if self.before_next_save is not None:
            interloper, self.before_next_save = self.before_next_save, None
            interloper()
        current = self.jobs.get(job.job_id)
        if current is None:
            raise NotFound("JobNotFound", job.job_id)
        if current.version != expected_version:
            raise VersionConflict("Conflict", "changed concurrently")
        saved = job.model_copy(update={"version": expected_version + 1})
        self.jobs[job.job_id] = saved
        return saved

    def save_sentence(self, sentence: Sentence, expected_version: int) -> Sentence:
        saved = sentence.model_copy(update={"version": expected_version + 1})
        self.sentences[sentence.job_id] = [
            saved if s.text_id == sentence.text_id else s for s in self.sentences[sentence.job_id]
        ]
        return saved


class FakeS3:
    """Deletes and lists keys; `objects` are what the bucket holds besides the keys the job names."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.objects: set[str] = set()

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        self.deleted += [o["Key"] for o in Delete["Objects"]]
        self.objects -= set(self.deleted)
        return {}

    def list_objects_v2(self, Bucket: str, Prefix: str, **_: Any) -> dict[str, Any]:
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        return {"Contents": [{"Key": k} for k in keys], "IsTruncated": False}


class FakeScheduler:
    """Scheduler's create (ConflictException for an existing name) and update, by name."""

    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def create_schedule(self, **request: Any) -> dict[str, Any]:
        self.calls.append("create")
        if request["Name"] in self.schedules:
            raise ClientError({"Error": {"Code": "ConflictException", "Message": "exists"}}, "CreateSchedule")
        self.schedules[request["Name"]] = request
        return {"ScheduleArn": f"arn:schedule/{request['Name']}"}

    def update_schedule(self, **request: Any) -> dict[str, Any]:
        self.calls.append("update")
        self.schedules[request["Name"]] = request
        return {"ScheduleArn": f"arn:schedule/{request['Name']}"}


class FakeVendor:
    def __init__(self, refuse: bool = False) -> None:
        self.cancelled: list[str] = []
        self.refuse = refuse

    def cancel_task(self, task_id: str) -> None:
        if self.refuse:
            raise VendorRejected("huawei", "MSS.403", "the job cannot be cancelled now")
        self.cancelled.append(task_id)


@pytest.fixture
def repo() -> MemoryRepository:
    return MemoryRepository()


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3()


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


def services(
    repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler, vendor: FakeVendor, **settings: Any
) -> Services:
    values = {
        "VOICECLONE_TABLE_NAME": "memory",
        "VOICECLONE_BUCKET_NAME": "bucket",
        "VOICECLONE_EXPIRY_FUNCTION_ARN": FUNCTION_ARN,
        "VOICECLONE_EXPIRY_ROLE_ARN": ROLE_ARN,
        "VOICECLONE_EXPIRY_SCHEDULE_GROUP": "expiry-group",
        **settings,
    }
    svc = Services(
        settings=Settings.model_validate(values),
        adapter_for=lambda _: cast(VendorAdapter, vendor),
        overrides={"s3": s3, "scheduler": scheduler},
    )
    svc.store = SimpleNamespace(jobs=repo)  # type: ignore[assignment]
    return svc


@pytest.fixture
def svc(repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler, vendor: FakeVendor) -> Services:
    return services(repo, s3, scheduler, vendor)


def waiting_job(
    repo: MemoryRepository,
    status: JobStatus = JobStatus.AWAITING_AUDIO,
    deadline_at: datetime | None = NOW - timedelta(seconds=1),
    vendor: str = "tencent_vrs",
    **fields: Any,
) -> Job:
    job = Job(
        job_id="job-1",
        tenant_id="t",
        vendor=vendor,
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        sentence_count=2,
        status=status,
        deadline_at=deadline_at,
        **fields,
    )
    repo.jobs[job.job_id] = job
    repo.sentences[job.job_id] = [
        Sentence(
            job_id="job-1",
            tenant_id="t",
            text_id="00001",
            text="one",
            s3_key="training/t/job-1/recordings/00001/e1.wav",
            status=SentenceStatus.UPLOADED,
        ),
        Sentence(
            job_id="job-1", tenant_id="t", text_id="00002", text="two", s3_key="uploads/t/job-1/00002.wav"
        ),
    ]
    return job


# ----- the lifecycle ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED])
def test_only_a_waiting_job_may_expire_and_expired_is_terminal(status: JobStatus) -> None:
    check_transition(status, JobStatus.EXPIRED)
    assert JobStatus.EXPIRED.terminal
    for other in (JobStatus.CHECKING, JobStatus.TRAINING, JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        with pytest.raises(InvalidTransition):
            check_transition(other, JobStatus.EXPIRED)
    with pytest.raises(InvalidTransition):
        check_transition(JobStatus.EXPIRED, JobStatus.CHECKING)


# ----- arming -----------------------------------------------------------------------------------------


def test_the_deadline_is_the_configured_time_from_now_to_the_whole_second(svc: Services) -> None:
    assert expiry.deadline(svc, NOW) == NOW + timedelta(days=7)
    assert expiry.deadline(svc, NOW + timedelta(microseconds=1)) == NOW + timedelta(days=7, seconds=1)


def test_arming_creates_a_one_time_schedule_that_invokes_expire_job_and_deletes_itself(
    svc: Services, repo: MemoryRepository, scheduler: FakeScheduler
) -> None:
    # Given a new job with its deadline
    job = waiting_job(repo, deadline_at=datetime(2026, 12, 10, 9, 0, 5, tzinfo=UTC))
    # When its expiry is armed
    expiry.arm(svc, job)
    # Then one schedule fires once at the deadline, invokes expire_job with the job id, and goes
    request = scheduler.schedules["expire-job-1"]
    assert request["ScheduleExpression"] == "at(2026-12-10T09:00:05)"
    assert request["ScheduleExpressionTimezone"] == "UTC"
    assert request["ActionAfterCompletion"] == "DELETE"
    assert request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert request["GroupName"] == "expiry-group"
    assert request["Target"]["Arn"] == FUNCTION_ARN and request["Target"]["RoleArn"] == ROLE_ARN
    assert json.loads(request["Target"]["Input"]) == {"job_id": "job-1", "due_at": "2026-12-10T09:00:05Z"}


def test_arming_again_moves_the_existing_schedule(
    svc: Services, repo: MemoryRepository, scheduler: FakeScheduler
) -> None:
    job = waiting_job(repo, deadline_at=NOW)
    expiry.arm(svc, job)
    expiry.arm(svc, job.model_copy(update={"deadline_at": NOW + timedelta(days=7)}))
    assert scheduler.calls == ["create", "create", "update"]
    assert scheduler.schedules["expire-job-1"]["ScheduleExpression"] == "at(2026-12-10T09:00:00)"


def test_without_a_configured_target_nothing_is_armed(
    repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler, vendor: FakeVendor
) -> None:
    svc = services(repo, s3, scheduler, vendor, VOICECLONE_EXPIRY_FUNCTION_ARN="")
    expiry.arm(svc, waiting_job(repo))
    assert scheduler.calls == []


def test_a_job_sent_back_to_check_failed_gets_a_new_deadline_and_its_schedule_moves(
    svc: Services, repo: MemoryRepository, scheduler: FakeScheduler
) -> None:
    # Given a job being checked, whose first deadline was armed at create
    job = waiting_job(repo, status=JobStatus.CHECKING, deadline_at=NOW - timedelta(days=6))
    expiry.arm(svc, job)
    rejected = SentenceCheck(passed=False, code="SILENT", message="silent")
    repo.sentences["job-1"] = [
        s.model_copy(update={"status": SentenceStatus.REJECTED, "check": rejected})
        for s in repo.sentences["job-1"]
    ]
    # When the gate finds rejected sentences
    assert workflow.gate(svc, "job-1")["passed"] is False
    # Then the job waits again with the full time ahead, and the schedule was moved there
    job = repo.jobs["job-1"]
    assert job.status is JobStatus.CHECK_FAILED
    assert job.deadline_at is not None and job.deadline_at > datetime.now(tz=UTC) + timedelta(
        days=6, hours=23
    )
    assert scheduler.calls[-1] == "update"
    assert scheduler.schedules["expire-job-1"]["ScheduleExpression"] == (
        f"at({job.deadline_at:%Y-%m-%dT%H:%M:%S})"
    )


# ----- firing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED])
def test_a_job_still_waiting_past_its_deadline_expires_and_its_recordings_go(
    svc: Services, repo: MemoryRepository, s3: FakeS3, vendor: FakeVendor, status: JobStatus
) -> None:
    # Given a job still waiting for recordings, past its deadline, with an earlier take of a sentence
    # and audio converted for the vendor that no record names, and another job's recording beside it
    waiting_job(repo, status=status, documents={"authorization_letter": "etag9"})
    s3.objects = {
        "training/t/job-1/recordings/00001/e0.wav",
        "training/t/job-1/recordings/00001/e1.vendor.wav",
        "uploads/t/job-10/00001.wav",
    }
    # When its schedule fires
    result = expiry.expire_job(svc, "job-1", now=NOW)
    # Then it is EXPIRED with a reason a person can act on
    job = repo.jobs["job-1"]
    assert result.outcome is ExpiryOutcome.EXPIRED and job.status is JobStatus.EXPIRED
    assert job.error is not None and job.error.error == "JobExpired"
    assert job.error.message == "the recordings did not arrive within 7 days; create a new job"
    # And every recording, both copies, the document and the assembled audio were deleted
    assert set(s3.deleted) >= {
        "training/t/job-1/recordings/00001/e1.wav",
        "uploads/t/job-1/00001.wav",
        "uploads/t/job-1/00002.wav",
        "uploads/t/job-1/authorization_letter.pdf",
        "training/t/job-1/recordings/authorization_letter/etag9.pdf",
        "training/t/job-1/voice.wav",
        "training/t/job-1/recordings/00001/e0.wav",
        "training/t/job-1/recordings/00001/e1.vendor.wav",
    }
    assert s3.objects == {"uploads/t/job-10/00001.wav"}
    assert result.objects_deleted == len(set(s3.deleted))
    # And with no task at the vendor, the vendor was not called
    assert vendor.cancelled == [] and job.note is None


def test_a_job_with_a_task_at_the_vendor_has_it_cancelled_there(
    svc: Services, repo: MemoryRepository, vendor: FakeVendor
) -> None:
    # Given a Huawei job sent back to CHECK_FAILED by the vendor's audit (its job exists there)
    waiting_job(repo, status=JobStatus.CHECK_FAILED, vendor="huawei", vendor_task_id="hw-job-7")
    # When it expires
    result = expiry.expire_job(svc, "job-1", now=NOW)
    # Then the vendor's job was cancelled
    assert result.outcome is ExpiryOutcome.EXPIRED
    assert vendor.cancelled == ["hw-job-7"] and repo.jobs["job-1"].note is None


def test_a_vendor_that_cannot_cancel_leaves_a_note_on_the_job(
    repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler
) -> None:
    # Given a job with a vendor task at a vendor without a cancel API, and one that refuses
    for vendor_id, fake, expected in (
        ("tencent_vrs", FakeVendor(), "tencent_vrs has no API to cancel training"),
        ("huawei", FakeVendor(refuse=True), "huawei did not cancel task task-9 (MSS.403"),
    ):
        waiting_job(repo, status=JobStatus.CHECK_FAILED, vendor=vendor_id, vendor_task_id="task-9")
        svc = services(repo, s3, scheduler, fake)
        # When it expires
        result = expiry.expire_job(svc, "job-1", now=NOW)
        # Then it is EXPIRED all the same, and the note says what may remain at the vendor
        note = repo.jobs["job-1"].note
        assert repo.jobs["job-1"].status is JobStatus.EXPIRED
        assert note is not None and note.startswith(expected) and result.note == note


@pytest.mark.parametrize(
    "status",
    [JobStatus.CHECKING, JobStatus.TRAINING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED],
)
def test_a_job_that_moved_on_is_not_touched(
    svc: Services, repo: MemoryRepository, s3: FakeS3, vendor: FakeVendor, status: JobStatus
) -> None:
    before = waiting_job(repo, status=status, vendor_task_id="task-1")
    result = expiry.expire_job(svc, "job-1", now=NOW)
    assert result.outcome is ExpiryOutcome.NOT_WAITING
    assert repo.jobs["job-1"] == before and s3.deleted == [] and vendor.cancelled == []


def test_a_job_whose_deadline_moved_later_is_not_touched(
    svc: Services, repo: MemoryRepository, s3: FakeS3
) -> None:
    before = waiting_job(repo, status=JobStatus.CHECK_FAILED, deadline_at=NOW + timedelta(seconds=1))
    assert expiry.expire_job(svc, "job-1", now=NOW).outcome is ExpiryOutcome.NOT_DUE
    assert repo.jobs["job-1"] == before and s3.deleted == []


def test_a_schedule_that_fires_early_arms_a_second_later_than_itself(
    svc: Services, repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler
) -> None:
    # Given a waiting job whose schedule for its deadline fires a moment before it
    deadline = NOW + timedelta(seconds=2)
    before = waiting_job(repo, deadline_at=deadline)
    expiry.arm(svc, before)
    # When it fires early
    result = expiry.expire_job(svc, "job-1", now=NOW, due_at=deadline)
    # Then the job is left as it is, and its schedule now stands a second past the time it fired for
    assert result.outcome is ExpiryOutcome.NOT_DUE
    assert repo.jobs["job-1"] == before and s3.deleted == []
    moved = scheduler.schedules["expire-job-1"]
    assert moved["ScheduleExpression"] == f"at({deadline + timedelta(seconds=1):%Y-%m-%dT%H:%M:%S})"
    assert json.loads(moved["Target"]["Input"])["due_at"] == "2026-12-03T09:00:03Z"
    # ...and when that one fires early too, it moves on again; once due, the job expires
    expiry.expire_job(svc, "job-1", now=NOW + timedelta(seconds=1), due_at=deadline + timedelta(seconds=1))
    assert scheduler.schedules["expire-job-1"]["ScheduleExpression"] == (
        f"at({deadline + timedelta(seconds=2):%Y-%m-%dT%H:%M:%S})"
    )
    done = expiry.expire_job(svc, "job-1", now=deadline, due_at=deadline + timedelta(seconds=2))
    assert done.outcome is ExpiryOutcome.EXPIRED


def test_an_old_schedule_firing_for_a_deadline_moved_later_arms_the_new_deadline(
    svc: Services, repo: MemoryRepository, scheduler: FakeScheduler
) -> None:
    # Given a job whose deadline moved later (a new CHECK_FAILED) after its first schedule was armed
    later = NOW + timedelta(days=7)
    waiting_job(repo, status=JobStatus.CHECK_FAILED, deadline_at=later)
    # When the schedule armed for the old deadline fires
    result = expiry.expire_job(svc, "job-1", now=NOW, due_at=NOW)
    # Then the one schedule stands for the new deadline
    assert result.outcome is ExpiryOutcome.NOT_DUE
    assert scheduler.schedules["expire-job-1"]["ScheduleExpression"] == f"at({later:%Y-%m-%dT%H:%M:%S})"


def test_the_write_is_conditioned_on_the_job_read_so_a_last_upload_wins(
    svc: Services, repo: MemoryRepository, s3: FakeS3
) -> None:
    # Given a waiting job whose last recording arrives (and starts its checks) just as it expires
    waiting_job(repo)

    def last_upload_arrives() -> None:
        current = repo.jobs["job-1"]
        repo.jobs["job-1"] = current.model_copy(
            update={"status": JobStatus.CHECKING, "version": current.version + 1}
        )

    repo.before_next_save = last_upload_arrives
    # When the schedule fires
    result = expiry.expire_job(svc, "job-1", now=NOW)
    # Then the upload's write won: the job is checked, and nothing was deleted
    assert result.outcome is ExpiryOutcome.NOT_WAITING
    assert repo.jobs["job-1"].status is JobStatus.CHECKING and s3.deleted == []


def test_a_repeated_firing_cleans_up_again_without_a_second_change(
    svc: Services, repo: MemoryRepository, s3: FakeS3
) -> None:
    waiting_job(repo)
    expiry.expire_job(svc, "job-1", now=NOW)
    expired = repo.jobs["job-1"]
    deleted = list(s3.deleted)
    # When Scheduler delivers again (at least once) after a run that stopped half-way
    result = expiry.expire_job(svc, "job-1", now=NOW)
    assert result.outcome is ExpiryOutcome.EXPIRED
    assert repo.jobs["job-1"] == expired and s3.deleted == deleted * 2


def test_a_schedule_whose_job_was_never_written_does_nothing(svc: Services, s3: FakeS3) -> None:
    assert expiry.expire_job(svc, "nope", now=NOW).outcome is ExpiryOutcome.NOT_FOUND
    assert s3.deleted == []


def test_the_message_names_the_configured_time(
    repo: MemoryRepository, s3: FakeS3, scheduler: FakeScheduler, vendor: FakeVendor
) -> None:
    for seconds, words in ((86400, "1 day"), (7200, "2 hours"), (90, "90 seconds"), (5, "5 seconds")):
        svc = services(repo, s3, scheduler, vendor, VOICECLONE_JOB_EXPIRY_SECONDS=seconds)
        assert expiry.expiry_message(svc) == f"the recordings did not arrive within {words}; create a new job"


def test_the_schedule_input_is_validated() -> None:
    assert expiry.event_of({"job_id": "j", "extra": 1}).job_id == "j"
    assert expiry.event_of('{"job_id": "j"}').job_id == "j"
    assert expiry.event_of({"job_id": "j", "due_at": "2026-12-10T09:00:05Z"}).due_at == datetime(
        2026, 12, 10, 9, 0, 5, tzinfo=UTC
    )
    with pytest.raises(ValidationError):
        expiry.event_of({})


# ----- configuration ----------------------------------------------------------------------------------


def test_the_context_key_sets_the_functions_expiry_and_defaults_to_seven_days() -> None:
    assert StackSettings().function_environment()["VOICECLONE_JOB_EXPIRY_SECONDS"] == str(WEEK)
    short = StackSettings.from_mapping({"voiceclone:jobExpirySeconds": 5})
    assert short.function_environment()["VOICECLONE_JOB_EXPIRY_SECONDS"] == "5"
    with pytest.raises(ValidationError):
        StackSettings.from_mapping({"voiceclone:jobExpirySeconds": 0})


# ----- the local stack's scheduler --------------------------------------------------------------------


def test_at_expressions_are_read_in_their_time_zone() -> None:
    assert due_at("at(2026-12-10T09:00:05)", "UTC") == datetime(2026, 12, 10, 9, 0, 5, tzinfo=UTC)
    assert due_at("at(2026-12-10T10:00:05)", "Europe/Berlin") == datetime(2026, 12, 10, 9, 0, 5, tzinfo=UTC)
    assert due_at("rate(5 minutes)", "UTC") is None


class MotoLikeScheduler:
    def __init__(self, schedules: list[dict[str, Any]]) -> None:
        self.schedules = {s["Name"]: s for s in schedules}
        self.deleted: list[str] = []

        self.reads: list[str] = []

    def list_schedules(self, GroupName: str) -> dict[str, Any]:
        # As moto lists them: with the expression, the target cut to its ARN.
        return {
            "Schedules": [
                {"Name": n, "State": "ENABLED", "ScheduleExpression": s["ScheduleExpression"]}
                for n, s in self.schedules.items()
            ]
        }

    def get_schedule(self, GroupName: str, Name: str) -> dict[str, Any]:
        self.reads.append(Name)
        return self.schedules[Name]

    def delete_schedule(self, GroupName: str, Name: str) -> None:
        self.deleted.append(Name)
        del self.schedules[Name]


def test_the_local_scheduler_fires_due_schedules_once_and_retries_a_failed_target() -> None:
    def schedule(name: str, at: str) -> dict[str, Any]:
        return {
            "Name": name,
            "ScheduleExpression": f"at({at})",
            "ScheduleExpressionTimezone": "UTC",
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": "arn:aws:lambda:us-east-1:1:function:expire",
                "Input": json.dumps({"job_id": name}),
            },
        }

    fake = MotoLikeScheduler(
        [schedule("due", "2026-12-03T08:59:59"), schedule("later", "2026-12-03T09:00:01")]
    )
    invoked: list[tuple[str, dict[str, Any]]] = []
    errors = ["Unhandled"]

    def invoke(function: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        invoked.append((function, event))
        return {}, errors.pop() if errors else None

    local = LocalScheduler({}, lambda _: fake, invoke, "1", clock=lambda: NOW)
    local.groups = ["g"]
    # The target fails the first time: the schedule stays and fires again on the next tick
    assert local.fire_due() == 0 and fake.deleted == []
    assert local.fire_due() == 1 and fake.deleted == ["due"]
    assert local.fire_due() == 0
    assert invoked == [("expire", {"job_id": "due"})] * 2
    assert list(fake.schedules) == ["later"]
    # ...and a schedule not yet due is never read beyond the listing
    assert "later" not in fake.reads


# ----- the CLI ----------------------------------------------------------------------------------------


def test_the_cli_says_an_expired_job_needs_a_new_one(capsys: pytest.CaptureFixture[str]) -> None:
    from voiceclone_cli.commands import report, show_job
    from voiceclone_cli.output import TERMINAL, Output

    message = "the recordings did not arrive within 7 days; create a new job"
    job = {
        "job_id": "j-1",
        "vendor": "qiniu",
        "status": "EXPIRED",
        "error": {"error": "JobExpired", "code": "JobExpired", "message": message, "vendor": "qiniu"},
        "expires_at": None,
        "sentences": [],
    }
    # A followed job stops at EXPIRED (nothing more happens by itself) and exits 1 with the reason
    assert "EXPIRED" in TERMINAL
    assert report(Output(interactive=False), job) == 1
    out = capsys.readouterr().out
    assert f"Job j-1 expired: {message}" in out and "voiceclone clone --vendor" in out
    # While a job waits, `jobs get` shows when it expires
    show_job(
        Output(interactive=False), {**job, "status": "AWAITING_AUDIO", "expires_at": "2026-12-10T09:00:00Z"}
    )
    fields = capsys.readouterr().out.split("\n\n")[0]
    assert "expires: 2026-12-10T09:00:00Z" in " ".join(fields.split())
