"""PollStatus: a vendor's throttling or outage is waited out until the training deadline, never a failure.

The workflow logic runs against an in-memory repository, a scripted vendor and a
clock the test moves, so hours of an outage at Huawei's pace take a moment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import BaseModel, ValidationError
from voiceclone.domain.errors import (
    NotFound,
    TrainingFailed,
    TrainingTimedOut,
    VendorAuthError,
    VendorError,
    VendorThrottled,
    VendorUnavailable,
    VersionConflict,
)
from voiceclone.domain.models import Gender, Job, JobStatus, Language, Sentence, VendorVoice
from voiceclone.domain.polling import PollOutcome, PollState, PollStatusEvent, TrainingStarted
from voiceclone.domain.steps import AwaitCallbackStep, CheckSentenceStep, JobStep, MarkFailedStep
from voiceclone.logic.core import polling, tasks
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import callbacks
from voiceclone.logic.training import steps as workflow
from voiceclone.settings import Settings
from voiceclone.store.jobs import JobStore
from voiceclone.store.table import Table
from voiceclone.vendors.base import TrainingState, TrainingStatus, VendorAdapter

TASK = "task-1"
# The generic retry PollStatus used to have: 1 try and 6 retries, then the job FAILED.
OLD_RETRY_CALLS = 7


class MemoryRepository(JobStore):
    """The job store's reads and versioned writes on a dict (its read-change-write is the real one)."""

    def __init__(self) -> None:
        super().__init__(Table("memory"))
        self.jobs: dict[str, Job] = {}
        self.writes = 0

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def with_sentences(self, job_id: str, tenant_id: str | None = None) -> tuple[Job, list[Sentence]]:
        return self.require(job_id, tenant_id), []

    def save(self, job: Job, expected_version: int) -> Job:
        current = self.jobs.get(job.job_id)
        if current is None:
            raise NotFound("JobNotFound", job.job_id)
        if current.version != expected_version:
            raise VersionConflict("Conflict", "changed concurrently")
        saved = job.model_copy(update={"version": expected_version + 1})
        self.jobs[job.job_id] = saved
        self.writes += 1
        return saved


class ScriptedVendor:
    """get_status answers from a script: a TrainingState, or an exception to raise; the last repeats."""

    def __init__(self, vendor: str, script: list[TrainingState | VendorError]) -> None:
        self.vendor = vendor
        self.script = list(script)
        self.calls = 0
        self.strays: list[str] = []
        self.released: list[str] = []
        self.release_calls = 0
        self.release_error: VendorError | None = None

    def get_status(self, task_id: str) -> TrainingStatus:
        assert task_id == TASK
        self.calls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, VendorError):
            raise step
        voice = (
            VendorVoice(vendor=self.vendor, voice_id="voice-1") if step is TrainingState.SUCCEEDED else None
        )
        return TrainingStatus(
            task_id=task_id, state=step, vendor_state=f"vendor-{step.value.lower()}", voice=voice
        )

    def parse_callback(self, body: bytes) -> TrainingStatus:
        return TrainingStatus(task_id=TASK, state=TrainingState.SUCCEEDED)

    def release_strays(self, task_id: str) -> list[str]:
        """The strays a late create left (VendorAdapter.release_strays): released once, or the error."""
        assert task_id == TASK
        self.release_calls += 1
        if self.release_error is not None:
            raise self.release_error
        found, self.strays = self.strays, []
        self.released += found
        return found


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(polling, "now", clock)
    return clock


def make_services(
    repo: MemoryRepository, vendor: ScriptedVendor, deadline: int = 3600, **settings: Any
) -> Services:
    values = {
        "VOICECLONE_TABLE_NAME": "memory",
        "VOICECLONE_BUCKET_NAME": "bucket",
        "VOICECLONE_TRAINING_DEADLINE_SECONDS": deadline,
        **settings,
    }
    svc = Services(
        settings=Settings.model_validate(values),
        adapter_for=lambda _: cast(VendorAdapter, vendor),
    )
    svc.store = SimpleNamespace(jobs=repo)  # type: ignore[assignment]
    return svc


def training_job(repo: MemoryRepository, vendor: str) -> Job:
    job = Job(
        job_id="job-1",
        tenant_id="t",
        vendor=vendor,
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=JobStatus.TRAINING,
        vendor_task_id=TASK,
        vendor_status="PENDING",
        callback_token="secret-token",
    )
    repo.jobs[job.job_id] = job
    return job


def run_polls(
    svc: Services, clock: Clock, poll: PollState, until: Callable[[PollState], bool], limit: int = 1000
) -> Iterator[PollState]:
    """The workflow's loop: wait the poll's wait_seconds, poll, repeat; yields each poll's result."""
    for _ in range(limit):
        clock.now += poll.wait_seconds
        poll = workflow.poll_status(svc, "job-1", poll)
        yield poll
        if until(poll):
            return
    raise AssertionError("polling did not end")


@pytest.mark.parametrize(
    ("vendor", "error"),
    [
        ("qiniu", VendorUnavailable("qiniu", "HTTP503", "service unavailable")),
        ("qiniu", VendorThrottled("qiniu", "HTTP429", "too many requests")),
        ("tencent_vrs", VendorUnavailable("tencent_vrs", "InternalError", "internal error")),
        ("volcengine", VendorThrottled("volcengine", "1101", "rate limited")),
    ],
)
def test_an_outage_longer_than_the_old_retry_keeps_the_job_training_and_it_succeeds(
    clock: Clock, vendor: str, error: VendorError
) -> None:
    # Given a job in training and a status API that fails 3x as many calls as the old retry made
    repo = MemoryRepository()
    training_job(repo, vendor)
    outage = 3 * OLD_RETRY_CALLS
    scripted = ScriptedVendor(vendor, [TrainingState.RUNNING, *[error] * outage, TrainingState.SUCCEEDED])
    svc = make_services(repo, scripted, VOICECLONE_POLL_INITIAL_SECONDS=10, VOICECLONE_POLL_MAX_SECONDS=60)
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=clock.now)
    seen: list[PollState] = []
    # When the workflow polls through it
    for result in run_polls(svc, clock, poll, until=lambda p: p.state.ends_polling):
        seen.append(result)
        job = repo.jobs["job-1"]
        if result.failures:
            # Then while it lasts the job stays TRAINING, the state is the last known one, the
            # job shows the vendor's error, and the wait keeps growing up to the cap
            assert job.status is JobStatus.TRAINING
            assert result.state is PollOutcome.RUNNING and result.vendor_state == "vendor-running"
            assert job.last_vendor_error is not None
            assert (job.last_vendor_error.error, job.last_vendor_error.code) == (
                type(error).__name__,
                error.code,
            )
            assert result.last_error == job.last_vendor_error
    failures = [p.failures for p in seen]
    assert max(failures) == outage and failures[1 : outage + 1] == list(range(1, outage + 1))
    waits = [p.wait_seconds for p in seen[: outage + 1]]
    assert waits == sorted(waits) and waits[-1] == 60
    # ...and when the vendor answers again the training it kept doing succeeds, the error cleared
    assert seen[-1].state is PollOutcome.SUCCEEDED and seen[-1].failures == 0 and seen[-1].last_error is None
    job = repo.jobs["job-1"]
    assert job.last_vendor_error is None
    assert job.vendor_status == "SUCCEEDED" and job.vendor_voice is not None
    assert scripted.calls == outage + 2


def test_hours_of_outage_at_huaweis_pace_are_waited_out_until_the_deadline(clock: Clock) -> None:
    # Given Huawei's pace (10 min growing to 1 h) and its two-day deadline, and a status API down for good
    repo = MemoryRepository()
    training_job(repo, "huawei")
    down = VendorUnavailable("huawei", "MSS.00000001", "system busy")
    scripted = ScriptedVendor("huawei", [TrainingState.RUNNING, down])
    deadline = 2 * 24 * 3600
    svc = make_services(repo, scripted, deadline=deadline)
    start = clock.now
    poll = PollState.start(initial_seconds=600, max_seconds=3600, now=start)
    # When the workflow keeps polling
    with pytest.raises(TrainingTimedOut) as info:
        for result in run_polls(svc, clock, poll, until=lambda p: p.state.ends_polling):
            assert repo.jobs["job-1"].status is JobStatus.TRAINING
            poll = result
    # Then it polled on its own interval (not a burst of retries) until the deadline and no longer
    assert clock.now - start > deadline
    assert clock.now - start <= deadline + 2
    assert 40 < scripted.calls < 60
    # (the first call answered RUNNING; every later one failed, the last of them past the deadline)
    assert poll.failures == scripted.calls - 2
    assert f"has not answered the last {scripted.calls - 1} poll(s)" in info.value.message
    # ...and the failure names the vendor, its last state and its last error
    error = info.value.to_dict()
    assert error["vendor"] == "huawei" and error["last_state"] == "RUNNING"
    assert error["last_error"]["code"] == "MSS.00000001"
    for part in (
        "huawei",
        str(deadline),
        "RUNNING (vendor-running)",
        "VendorUnavailable MSS.00000001: system busy",
    ):
        assert part in error["message"], part


def test_the_deadline_without_an_outage_names_the_vendor_and_its_last_state(clock: Clock) -> None:
    repo = MemoryRepository()
    training_job(repo, "volcengine")
    svc = make_services(repo, ScriptedVendor("volcengine", [TrainingState.RUNNING]), deadline=100)
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=clock.now)
    with pytest.raises(TrainingTimedOut) as info:
        list(run_polls(svc, clock, poll, until=lambda p: p.state.ends_polling))
    error = info.value.to_dict()
    assert error["vendor"] == "volcengine" and error["last_state"] == "RUNNING"
    assert "its last state was RUNNING (vendor-running)" in error["message"]
    assert "not answered" not in error["message"]


def test_mark_failed_keeps_the_vendor_of_a_deadline_failure(clock: Clock) -> None:
    # Given the deadline's error as Step Functions hands it to MarkFailed (Lambda's errorType/errorMessage)
    repo = MemoryRepository()
    training_job(repo, "qiniu")
    svc = make_services(
        repo, ScriptedVendor("qiniu", [VendorThrottled("qiniu", "HTTP429", "slow down")]), deadline=30
    )
    poll = PollState.start(initial_seconds=10, max_seconds=10, now=clock.now)
    with pytest.raises(TrainingTimedOut) as info:
        list(run_polls(svc, clock, poll, until=lambda p: p.state.ends_polling))
    cause = json.dumps({"errorType": "TrainingTimedOut", "errorMessage": str(info.value)})
    # When MarkFailed records it
    workflow.mark_failed(svc, "job-1", {"Error": "TrainingTimedOut", "Cause": cause})
    # Then the job is FAILED with the vendor named (it used to say vendor: null) and its last error
    job = repo.jobs["job-1"]
    assert job.status is JobStatus.FAILED and job.error is not None
    assert (job.error.error, job.error.code, job.error.vendor) == (
        "TrainingTimedOut",
        "TrainingTimedOut",
        "qiniu",
    )
    assert "VendorThrottled HTTP429: slow down" in job.error.message


def test_a_permanent_error_still_ends_the_polling(clock: Clock) -> None:
    repo = MemoryRepository()
    training_job(repo, "qiniu")
    scripted = ScriptedVendor("qiniu", [VendorAuthError("qiniu", "HTTP401", "bad key")])
    svc = make_services(repo, scripted)
    with pytest.raises(VendorAuthError):
        workflow.poll_status(svc, "job-1", PollState.start(initial_seconds=1, max_seconds=2, now=clock.now))
    assert repo.jobs["job-1"].last_vendor_error is None


def test_a_training_failure_reported_after_an_outage_fails_the_job(clock: Clock) -> None:
    repo = MemoryRepository()
    training_job(repo, "qiniu")
    scripted = ScriptedVendor(
        "qiniu", [VendorUnavailable("qiniu", "HTTP502", "bad gateway"), TrainingState.FAILED]
    )
    svc = make_services(repo, scripted)
    poll = PollState.start(initial_seconds=1, max_seconds=2, now=clock.now)
    poll = workflow.poll_status(svc, "job-1", poll)
    assert poll.failures == 1 and repo.jobs["job-1"].last_vendor_error is not None
    with pytest.raises(TrainingFailed):
        workflow.poll_status(svc, "job-1", poll)


def test_a_healthy_poll_writes_nothing_and_an_outage_one_write_per_poll(clock: Clock) -> None:
    # Given a vendor that answers, fails twice, answers again
    repo = MemoryRepository()
    training_job(repo, "qiniu")
    down = VendorUnavailable("qiniu", "HTTP503", "down")
    scripted = ScriptedVendor(
        "qiniu", [TrainingState.RUNNING, down, down, TrainingState.RUNNING, TrainingState.RUNNING]
    )
    svc = make_services(repo, scripted)
    poll = PollState.start(initial_seconds=1, max_seconds=2, now=clock.now)
    writes = []
    for _ in range(5):
        before = repo.writes
        poll = workflow.poll_status(svc, "job-1", poll)
        writes.append(repo.writes - before)
    # Then a healthy poll writes nothing; an error shows itself once per poll; the answer clears it once
    assert writes == [0, 1, 1, 1, 0]


def test_the_callbacks_confirmation_during_an_outage_asks_the_vendor_to_call_again(clock: Clock) -> None:
    # Given a callback vendor whose status API is down when its callback arrives
    repo = MemoryRepository()
    training_job(repo, "tencent_vrs")
    scripted = ScriptedVendor(
        "tencent_vrs", [VendorUnavailable("tencent_vrs", "InternalError", "busy"), TrainingState.SUCCEEDED]
    )
    svc = make_services(repo, scripted)
    # When the callback comes
    result = tasks.handle(svc, callbacks.TRAINING_CALLBACKS, "tencent_vrs", "job-1", "secret-token", b"{}")
    # Then the service asks for it again later (503), and the job stays TRAINING showing why
    assert result.status_code == 503
    job = repo.jobs["job-1"]
    assert job.status is JobStatus.TRAINING and job.error is None
    assert job.last_vendor_error is not None and job.last_vendor_error.code == "InternalError"
    # ...and when the vendor calls again and is confirmed, the job no longer shows the error
    again = tasks.handle(svc, callbacks.TRAINING_CALLBACKS, "tencent_vrs", "job-1", "secret-token", b"{}")
    assert again.status_code == 200
    job = repo.jobs["job-1"]
    assert job.vendor_status == "SUCCEEDED" and job.last_vendor_error is None
    # ...and a poll after that (had the callback's wait timed out) finds the training done
    poll = workflow.poll_status(
        svc, "job-1", PollState.start(initial_seconds=1, max_seconds=2, now=clock.now)
    )
    assert poll.state is PollOutcome.SUCCEEDED and repo.jobs["job-1"].last_vendor_error is None


# ----- the poll state -------------------------------------------------------------------------------


def test_poll_state_takes_an_older_releases_dict_and_round_trips() -> None:
    # An execution started before this release carries the old five keys (and maybe others)
    old = {
        "wait_seconds": 2,
        "max_seconds": 60,
        "attempt": 3,
        "state": "RUNNING",
        "started_at": 1_700_000_000,
    }
    poll = PollState.model_validate({**old, "something_new": 1})
    assert poll.state is PollOutcome.RUNNING and poll.failures == 0 and poll.last_error is None
    assert PollState.model_validate(poll.model_dump(mode="json")) == poll
    event = PollStatusEvent.model_validate({"job_id": "job-1", "poll": old})
    assert event.poll.attempt == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"wait_seconds": 0, "max_seconds": 60, "started_at": 1},  # Wait needs at least 1 s
        {"wait_seconds": 1, "max_seconds": 60, "started_at": 1, "state": "FAILED"},  # never a poll outcome
        {"wait_seconds": 1, "max_seconds": 60},  # no deadline start
    ],
)
def test_poll_state_refuses_what_the_workflow_cannot_use(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PollState.model_validate(bad)


def test_the_wait_grows_to_the_cap_and_stops_at_the_deadline() -> None:
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=0)
    assert poll.wait_seconds == 10
    assert poll.next_wait(now=0, backoff=1.5, deadline_seconds=3600) == 15
    assert (
        poll.model_copy(update={"wait_seconds": 50}).next_wait(now=0, backoff=1.5, deadline_seconds=3600)
        == 60
    )
    # 20 s before the deadline the next poll comes 21 s later, at the deadline and just past it
    assert poll.next_wait(now=3580, backoff=1.5, deadline_seconds=3600) == 15
    assert (
        poll.model_copy(update={"wait_seconds": 60}).next_wait(now=3580, backoff=1.5, deadline_seconds=3600)
        == 21
    )
    assert PollState.start(initial_seconds=300, max_seconds=60, now=0).wait_seconds == 60


@pytest.mark.parametrize(
    ("elapsed", "overdue"),
    [(0, False), (3599, False), (3600, False), (3600.001, True), (3601, True), (-5, False)],
)
def test_overdue_only_once_the_deadline_has_passed(elapsed: float, overdue: bool) -> None:
    # Exactly at the deadline the job still has its last poll; a moment later it is overdue
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=1_800_000_000)
    assert poll.overdue(1_800_000_000 + elapsed, deadline_seconds=3600) is overdue


@pytest.mark.parametrize(
    ("answered_at", "fails"), [(3600, False), (3601, True)], ids=["at-the-deadline", "a-second-late"]
)
def test_a_poll_at_the_deadline_keeps_polling_and_one_a_second_later_fails_the_job(
    clock: Clock, answered_at: int, fails: bool
) -> None:
    # Given a job training since `start`, its vendor still running
    repo, vendor = MemoryRepository(), ScriptedVendor("qiniu", [TrainingState.RUNNING])
    training_job(repo, "qiniu")
    svc = make_services(repo, vendor, deadline=3600)
    start = clock.now
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=start)
    # When the poll comes `answered_at` seconds later
    clock.now = start + answered_at
    if fails:
        with pytest.raises(TrainingTimedOut, match="within 3600 s"):
            workflow.poll_status(svc, "job-1", poll)
    else:
        assert workflow.poll_status(svc, "job-1", poll).state is PollOutcome.RUNNING


@pytest.mark.parametrize(
    ("wait", "backoff", "cap", "now", "expected"),
    [
        (10, 1.5, 60, 0, 15),
        (3, 1.25, 60, 0, 4),  # 3.75 rounds to 4, not down to 3
        (2, 1.2, 60, 0, 2),  # 2.4 rounds to 2
        (5, 1.3, 60, 0, 7),  # 6.5 rounds up
        (50, 1.5, 60, 0, 60),  # the cap
        (60, 1.5, 60, 3580, 21),  # the deadline plus one second
        (60, 1.5, 60, 3599.5, 1),
        (60, 1.5, 60, 3600, 1),
        (60, 1.5, 60, 4000, 1),  # long past the deadline: still at least 1 s
        (1, 1.0, 60, 0, 1),
    ],
)
def test_next_wait_grows_rounds_caps_and_stops_at_the_deadline(
    wait: int, backoff: float, cap: int, now: float, expected: int
) -> None:
    poll = PollState(wait_seconds=wait, max_seconds=cap, started_at=0)
    assert poll.next_wait(now=now, backoff=backoff, deadline_seconds=3600) == expected


@pytest.mark.parametrize(
    ("initial", "cap", "wait", "maximum"),
    [(10, 60, 10, 60), (60, 60, 60, 60), (61, 60, 60, 60), (0, 60, 1, 60), (5, 0, 1, 1), (5, -3, 1, 1)],
)
def test_the_first_wait_is_within_one_second_and_the_cap(
    initial: int, cap: int, wait: int, maximum: int
) -> None:
    poll = PollState.start(initial_seconds=initial, max_seconds=cap, now=1234.9)
    assert (poll.wait_seconds, poll.max_seconds, poll.started_at) == (wait, maximum, 1234)
    assert (poll.attempt, poll.failures, poll.state) == (0, 0, PollOutcome.PENDING)


def test_first_poll_takes_the_configured_pace_over_the_vendors(clock: Clock) -> None:
    repo, vendor = MemoryRepository(), ScriptedVendor("qiniu", [TrainingState.RUNNING])
    vendors_pace = polling.first_poll(make_services(repo, vendor), 30, 600)
    assert (vendors_pace.wait_seconds, vendors_pace.max_seconds) == (30, 600)
    assert vendors_pace.started_at == int(clock.now)
    configured = make_services(repo, vendor, VOICECLONE_POLL_INITIAL_SECONDS=2, VOICECLONE_POLL_MAX_SECONDS=5)
    assert (
        polling.first_poll(configured, 30, 600).wait_seconds,
        polling.first_poll(configured, 30, 600).max_seconds,
    ) == (2, 5)


def test_the_outcomes_the_workflow_matches_cover_the_vendor_states_that_keep_it_polling() -> None:
    # Every vendor state but FAILED (which raises) is a poll outcome of the same value
    for state in TrainingState:
        if state is not TrainingState.FAILED:
            assert PollOutcome(state.value).value == state.value
    assert {o for o in PollOutcome if o.ends_polling} == {PollOutcome.SUCCEEDED, PollOutcome.REJECTED}


def test_submit_trainings_result_is_the_typed_model_the_workflow_reads() -> None:
    started = TrainingStarted(
        task_id=TASK, callback=True, poll=PollState.start(initial_seconds=1, max_seconds=2, now=5)
    )
    dumped = started.model_dump(mode="json")
    assert dumped["poll"] == {
        "wait_seconds": 1,
        "max_seconds": 2,
        "attempt": 0,
        "state": "PENDING",
        "vendor_state": "",
        "started_at": 5,
        "failures": 0,
        "last_error": None,
    }


# ----- the other steps' inputs -----------------------------------------------------------------------


def test_step_inputs_read_what_the_state_machine_sends() -> None:
    # As infra/workflow.py builds them (tests/infra asserts the Parameters)
    assert JobStep.model_validate({"job_id": "j", "job": {"vendor": "qiniu"}}).job_id == "j"
    assert CheckSentenceStep.model_validate({"job_id": "j", "text_id": "00001"}).text_id == "00001"
    assert AwaitCallbackStep.model_validate({"job_id": "j", "task_token": "tok"}).task_token == "tok"
    caught = {"Error": "TrainingTimedOut", "Cause": "{}"}
    assert MarkFailedStep.model_validate({"job_id": "j", "error": caught}).error == caught


@pytest.mark.parametrize(
    ("model", "event"),
    [
        (JobStep, {}),
        (JobStep, {"job_id": ""}),
        (CheckSentenceStep, {"job_id": "j"}),
        (AwaitCallbackStep, {"job_id": "j", "task_token": None}),
        (PollStatusEvent, {"job_id": "j"}),
    ],
)
def test_a_step_input_the_definition_no_longer_sends_fails_by_name(
    model: type[BaseModel], event: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(event)


def test_strays_of_a_late_create_are_released_while_polling_and_a_failed_release_waits(clock: Clock) -> None:
    # Given a job in training whose vendor holds a stray task a late create made
    repo = MemoryRepository()
    training_job(repo, "huawei")
    vendor = ScriptedVendor("huawei", [TrainingState.RUNNING])
    svc = make_services(repo, vendor)
    poll = PollState.start(initial_seconds=10, max_seconds=60, now=clock.now)
    vendor.release_error = VendorUnavailable("huawei", "MSS.00000001", "internal error")
    # When a poll's release meets an outage / Then the job goes on training, nothing released
    poll = workflow.poll_status(svc, "job-1", poll)
    assert poll.state is PollOutcome.RUNNING and repo.jobs["job-1"].status is JobStatus.TRAINING
    vendor.release_error, vendor.strays = None, ["stray-1"]
    # When the next poll's release works / Then the stray is released, once
    poll = workflow.poll_status(svc, "job-1", poll)
    poll = workflow.poll_status(svc, "job-1", poll)
    assert vendor.released == ["stray-1"] and vendor.release_calls == 3
    # ...and a job that ends FAILED is asked once more (a late create may come after the last poll)
    vendor.strays = ["stray-2"]
    workflow.mark_failed(svc, "job-1", {"Error": "TrainingFailed", "Cause": "{}"})
    assert vendor.released == ["stray-1", "stray-2"]
