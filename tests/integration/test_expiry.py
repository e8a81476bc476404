"""No job waits forever, on the local stack: a job still waiting for recordings at its deadline ends EXPIRED.

The api arms a one-time EventBridge Scheduler schedule per job (moto stores it; the local stack's
scheduler fires it when due, through the same expire_job function AWS would invoke). Each test sets
an hour's expiry through the functions' VOICECLONE_JOB_EXPIRY_SECONDS (the variable the CDK context
key voiceclone:jobExpirySeconds sets), does what it needs to in real time, and then moves the
stack's clock past the deadline (LocalStack.advance_clock): nothing races the expiry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from voiceclone.domain.models import JobStatus, SentenceStatus, utcnow
from voiceclone.logic.training.expiry import schedule_name
from voiceclone.logic.training.jobs import upload_key
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack, _reset_function_caches

from tests.helpers import CONSENT, SPEAKER, consent_take, upload_recordings, wait_for, wav_bytes
from tests.integration.test_events import TAP_PATTERN, BusTap, Receiver, receiver
from tests.integration.test_upload_after_end import assert_deleted, intake_outcome, post_form, repository

__all__ = ["receiver"]  # the webhook receiver fixture of test_events, used here too

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
# An hour: whatever a test does before the deadline it does in real time, however slow the machine;
# then the stack's clock is moved past the deadline.
EXPIRY = 3600


@pytest.fixture
def expiry_seconds(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Set the functions' job expiry for this test (the stack's own, and its clock, come back after)."""

    def apply(seconds: int) -> None:
        monkeypatch.setenv("VOICECLONE_JOB_EXPIRY_SECONDS", str(seconds))
        _reset_function_caches()

    yield apply
    monkeypatch.undo()
    _reset_function_caches()
    stack.reset_clock()


@pytest.fixture(scope="module")
def tap(stack: LocalStack) -> BusTap:
    """Every event on the stack's bus, copied to a queue of this module's own."""

    assert stack.events is not None
    (bus,) = stack.events.bus_names.values()
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="test-expiry-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="test-expiry-tap", EventBusName=bus, EventPattern=TAP_PATTERN)
    events.put_targets(Rule="test-expiry-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    return BusTap(sqs, url, events, bus, stack.events.stream)


def objects_of(stack: LocalStack, tenant_id: str, job_id: str) -> list[str]:
    """Every object of the job: its uploads and what intake and SubmitTraining kept."""
    s3 = stack.client("s3")
    keys: list[str] = []
    for prefix in (f"uploads/{tenant_id}/{job_id}/", f"training/{tenant_id}/{job_id}/"):
        listed = s3.list_objects_v2(Bucket=stack.bucket_name, Prefix=prefix)
        keys += [o["Key"] for o in listed.get("Contents", [])]
    return keys


def assert_all_gone(stack: LocalStack, tenant_id: str, job_id: str) -> None:
    """Every object of the job is deleted (soon: the expiry runs on the scheduler's thread)."""
    try:
        wait_for(lambda: objects_of(stack, tenant_id, job_id) == [], timeout=10, what="the recordings to go")
    except AssertionError:
        assert objects_of(stack, tenant_id, job_id) == []
        raise


def fired(stack: LocalStack, job_id: str) -> bool:
    assert stack.scheduler is not None
    return any(name == schedule_name(job_id) for _, name, _ in stack.scheduler.fired)


def schedule_of(stack: LocalStack, job_id: str) -> dict[str, Any]:
    assert stack.scheduler is not None
    (group,) = stack.scheduler.groups
    schedule: dict[str, Any] = stack.client("scheduler").get_schedule(
        GroupName=group, Name=schedule_name(job_id)
    )
    return schedule


def expired(client: VoicecloneClient, job_id: str, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get_job(job_id)
        return job if job["status"] == "EXPIRED" else None

    return wait_for(done, timeout=timeout, interval=0.5, what=f"job {job_id} to expire")


def test_a_job_left_without_its_recordings_expires_once_and_its_recordings_go(
    stack: LocalStack,
    client: VoicecloneClient,
    tap: BusTap,
    receiver: Receiver,
    expiry_seconds: Callable[[int], None],
) -> None:
    # Given a job with a webhook, and only three of its twenty recordings
    expiry_seconds(EXPIRY)
    job = client.create_job("tencent_vrs", "expiring", "female", SPEAKER, notify_url=f"{receiver.url}/ok")
    job_id = job["job_id"]
    created = datetime.fromisoformat(job["created_at"])
    deadline = datetime.fromisoformat(job["expires_at"])
    assert EXPIRY <= (deadline - created).total_seconds() <= EXPIRY + 1
    # ...armed as a one-time schedule for that deadline, which deletes itself after firing
    schedule = schedule_of(stack, job_id)
    assert schedule["ScheduleExpression"] == f"at({deadline:%Y-%m-%dT%H:%M:%S})"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    for sentence in [s for s in job["sentences"] if s["text_id"] != CONSENT][:3]:
        client.upload(sentence["upload"], SAMPLES / f"{sentence['text_id']}.wav")
    repo = repository(stack)
    tenant = repo.jobs.require(job_id).tenant_id
    wait_for(lambda: len(objects_of(stack, tenant, job_id)) >= 6, timeout=30, what="uploads and kept copies")
    assert client.get_job(job_id)["status"] == "AWAITING_AUDIO"
    # When its deadline passes
    assert stack.advance_clock(EXPIRY + 1) > deadline
    final = expired(client, job_id, timeout=60)
    # Then it is EXPIRED, says why and what to do, and no longer shows a deadline
    assert final["error"]["code"] == "JobExpired"
    assert final["error"]["message"] == "the recordings did not arrive within 1 hour; create a new job"
    assert final["expires_at"] is None
    # ...its recordings are gone from S3
    assert_all_gone(stack, tenant, job_id)
    # ...its event was published once, after its creation, and its webhook delivered
    wait_for(lambda: len(tap.of_job(job_id)) >= 2, timeout=30, what="the job's events")
    details = [e["detail"] for e in tap.settled(job_id)]  # a duplicate would be in by now
    assert [d["status"] for d in details] == ["AWAITING_AUDIO", "EXPIRED"], details
    assert details[-1]["previous_status"] == "AWAITING_AUDIO"
    assert tap.of_job(job_id)[-1]["detail-type"] == "Job Expired"
    assert details[-1]["error"]["code"] == "JobExpired"
    wait_for(
        lambda: any(b"Job Expired" in d.body for d in receiver.of_job(job_id, "/ok")),
        timeout=30,
        what="the Job Expired webhook",
    )
    # ...and the schedule deleted itself (once its function returned)
    wait_for(lambda: fired(stack, job_id), timeout=30, what="the firing to be noted")
    wait_for(
        lambda: (
            not stack.client("scheduler").list_schedules(NamePrefix=schedule_name(job_id)).get("Schedules")
        ),
        timeout=30,
        what="the schedule to delete itself",
    )

    # When a still-valid form of a missing sentence is posted after the end
    before = repo.jobs.with_sentences(job_id)
    missing = [s for s in job["sentences"] if s["text_id"] != CONSENT][5]
    late_take = wav_bytes(seconds=2.0)
    assert post_form(missing["upload"], late_take).status_code == 204
    # Then intake refuses it and nothing changes: the job and its sentences as they were, and the late
    # recording deleted too (expiry promised the recordings are gone)
    late = upload_key(tenant, job_id, missing["text_id"])
    assert_deleted(stack, late)
    assert intake_outcome(stack, late, late_take) == ["refused"]
    assert repo.jobs.with_sentences(job_id) == before
    assert objects_of(stack, tenant, job_id) == []


def test_a_schedule_that_fires_early_is_armed_again_and_the_job_still_expires(
    stack: LocalStack, client: VoicecloneClient, expiry_seconds: Callable[[int], None]
) -> None:
    # Given a waiting job, and a Scheduler whose clock runs two minutes ahead (it fires early)
    assert stack.scheduler is not None
    scheduler = stack.scheduler
    expiry_seconds(EXPIRY)
    job = client.create_job("tencent_vrs", "early", "female", SPEAKER)
    job_id = job["job_id"]
    deadline = datetime.fromisoformat(job["expires_at"])
    real_clock = scheduler.clock
    scheduler.clock = lambda: real_clock() + timedelta(seconds=120)
    try:
        # When its schedule fires a minute before the deadline (a margin no slow machine uses up)
        stack.advance_clock(EXPIRY - 60)
        wait_for(lambda: fired(stack, job_id), timeout=30, what="an early fire")
        # Then the job waits on, re-armed rather than forgotten
        assert client.get_job(job_id)["status"] == "AWAITING_AUDIO"
        assert stack.client("scheduler").list_schedules(NamePrefix=schedule_name(job_id)).get("Schedules")
        # ...and expires once its deadline passes
        stack.advance_clock(61)
        final = expired(client, job_id, timeout=60)
    finally:
        scheduler.clock = real_clock
    assert final["error"]["code"] == "JobExpired"
    assert utcnow() >= deadline

    # (the scheduler notes a firing once its function has returned: the job shows EXPIRED before that)
    def firings() -> list[str]:
        return [expression for _, name, expression in scheduler.fired if name == schedule_name(job_id)]

    wait_for(lambda: len(firings()) >= 2, timeout=30, what="the firing that expired the job")
    assert firings()[0] == f"at({deadline:%Y-%m-%dT%H:%M:%S})", firings()


def test_a_check_failed_job_gets_a_new_deadline_and_then_expires(
    stack: LocalStack, client: VoicecloneClient, tap: BusTap, expiry_seconds: Callable[[int], None]
) -> None:
    # Given a job whose sentence 00001 is silent: all twenty arrive ten minutes on, the checks reject one
    expiry_seconds(EXPIRY)
    job = client.create_job("tencent_vrs", "rejected", "female", SPEAKER)
    job_id = job["job_id"]
    first_deadline = datetime.fromisoformat(job["expires_at"])
    stack.advance_clock(600)
    for sentence in job["sentences"]:
        if sentence["text_id"] == CONSENT:
            assert post_form(sentence["upload"], consent_take(job)).status_code == 204
            continue
        data = (SAMPLES / f"{sentence['text_id']}.wav").read_bytes()
        take = data if sentence["text_id"] != "00001" else wav_bytes(amplitude=0)
        assert post_form(sentence["upload"], take).status_code == 204
    check_failed = wait_for(
        lambda: (j := client.get_job(job_id))["status"] in ("CHECK_FAILED", "FAILED", "EXPIRED") and j,
        timeout=60,
        what="the checks",
    )
    assert check_failed["status"] == "CHECK_FAILED", check_failed
    # Then it waits again with the full time ahead, and its schedule moved there
    second_deadline = datetime.fromisoformat(check_failed["expires_at"])
    assert second_deadline >= first_deadline + timedelta(seconds=600)
    # (the gate writes the status, then moves the schedule: a reader can come between the two)
    moved = f"at({second_deadline:%Y-%m-%dT%H:%M:%S})"
    wait_for(
        lambda: schedule_of(stack, job_id)["ScheduleExpression"] == moved, timeout=30, what="its schedule"
    )
    # When nobody records the sentence again: past the first deadline a pass of the scheduler fires
    # nothing for it...
    assert stack.scheduler is not None
    stack.advance_clock((first_deadline - utcnow()).total_seconds() + 1)
    stack.scheduler.fire_due()
    assert not fired(stack, job_id) and client.get_job(job_id)["status"] == "CHECK_FAILED"
    # ...and past the second it expires
    stack.advance_clock((second_deadline - utcnow()).total_seconds() + 1)
    final = expired(client, job_id, timeout=60)
    # Then it is EXPIRED, not before its new deadline, with its event once and its recordings gone
    assert utcnow() >= second_deadline
    assert final["error"]["code"] == "JobExpired"
    (silent,) = [s for s in final["sentences"] if s["text_id"] == "00001"]
    assert silent["status"] == SentenceStatus.REJECTED.value
    tenant = repository(stack).jobs.require(job_id).tenant_id
    assert_all_gone(stack, tenant, job_id)
    wait_for(lambda: len(tap.of_job(job_id)) >= 4, timeout=30, what="the job's events")
    statuses = [e["detail"]["status"] for e in tap.settled(job_id)]
    assert statuses == ["AWAITING_AUDIO", "CHECKING", "CHECK_FAILED", "EXPIRED"], statuses


def test_a_job_that_finished_before_its_deadline_is_not_touched(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, expiry_seconds: Callable[[int], None]
) -> None:
    # Given a job whose recordings all arrive in time and which trains to a voice
    expiry_seconds(EXPIRY)
    job = client.create_job("tencent_vrs", "in-time", "female", SPEAKER)
    job_id = job["job_id"]
    deadline = datetime.fromisoformat(job["expires_at"])
    upload_recordings(client, job, SAMPLES)
    done = wait_for(
        lambda: (j := client.get_job(job_id))["status"] in ("SUCCEEDED", "FAILED", "EXPIRED") and j,
        timeout=60,
        what="the job to finish",
    )
    assert done["status"] == "SUCCEEDED", done
    assert done["expires_at"] is None
    repo = repository(stack)
    before = repo.jobs.with_sentences(job_id)
    objects = objects_of(stack, before[0].tenant_id, job_id)
    assert objects
    # When its schedule comes due anyway
    stack.advance_clock(EXPIRY + 1)
    wait_for(lambda: fired(stack, job_id), timeout=30, what="its schedule to fire")
    assert utcnow() >= deadline
    # Then the job, its sentences and its recordings are exactly as they were
    assert repo.jobs.with_sentences(job_id) == before
    assert objects_of(stack, before[0].tenant_id, job_id) == objects
    assert client.get_job(job_id)["status"] == JobStatus.SUCCEEDED.value


def comparison_events(tap: BusTap, comparison_id: str) -> list[dict[str, Any]]:
    tap.drain()
    return [e for e in tap.seen if e["detail"].get("comparison_id") == comparison_id]


def test_a_comparison_whose_takes_never_all_arrive_expires_with_its_jobs_and_its_takes_go(
    stack: LocalStack, client: VoicecloneClient, tap: BusTap, expiry_seconds: Callable[[int], None]
) -> None:
    # Given a comparison of two vendors, with its deadline shown and armed as its own schedule
    expiry_seconds(EXPIRY)
    made = client.create_comparison(["qiniu", "tencent_gateway"], "expiring-cmp", "female", SPEAKER)
    cid = made["comparison_id"]
    deadline = datetime.fromisoformat(made["expires_at"])
    assert EXPIRY <= (deadline - datetime.fromisoformat(made["created_at"])).total_seconds() <= EXPIRY + 1
    assert schedule_of(stack, cid)["ScheduleExpression"] == f"at({deadline:%Y-%m-%dT%H:%M:%S})"
    # ...and only its consent take and one other uploaded
    uploaded, missing = made["sentences"][:2], made["sentences"][2:]
    assert uploaded[0]["text_id"] == CONSENT and missing
    for sentence in uploaded:
        assert post_form(sentence["upload"], wav_bytes(seconds=2.0)).status_code == 204
    tenant = repository(stack).comparisons.require(cid).tenant_id
    wait_for(lambda: len(objects_of(stack, tenant, cid)) >= 4, timeout=30, what="the takes and their copies")
    assert client.get_comparison(cid)["status"] == "AWAITING_AUDIO"
    # When its deadline passes
    assert stack.advance_clock(EXPIRY + 1) > deadline

    def ended() -> dict[str, Any] | None:
        current = client.get_comparison(cid)
        return current if current["status"] == "EXPIRED" else None

    final = wait_for(ended, timeout=60, interval=0.5, what=f"comparison {cid} to expire")
    # Then it is EXPIRED, naming the takes that never came, with no deadline left
    assert final["error"]["code"] == "ComparisonExpired"
    names = ", ".join(s["text_id"] for s in missing)
    assert final["error"]["message"] == (
        f"the take{'s' if len(missing) > 1 else ''} {names} did not arrive within 1 hour; "
        "create a new comparison"
    )
    assert final["expires_at"] is None
    # ...its takes and their kept copies are gone, and each vendor's job is EXPIRED
    assert_all_gone(stack, tenant, cid)
    for entry in final["vendors"]:
        assert expired(client, entry["job_id"], timeout=30)["error"]["code"] == "JobExpired"
    # ...and its end was published once, as Comparison Completed with the status and the error
    jobs = [v["job_id"] for v in final["vendors"]]
    wait_for(lambda: comparison_events(tap, cid), timeout=30, what="the comparison's event")
    tap.settled(jobs[0])  # everything published so far (a duplicate too) is in by now
    events = comparison_events(tap, cid)
    assert [e["detail-type"] for e in events] == ["Comparison Completed"], events
    assert events[0]["detail"]["status"] == "EXPIRED"
    assert events[0]["detail"]["error"]["code"] == "ComparisonExpired"

    # When a still-valid form of a missing take is posted after the end
    before = repository(stack).comparisons.require(cid)
    late_take = wav_bytes(seconds=2.0)
    assert post_form(missing[0]["upload"], late_take).status_code == 204
    # Then intake refuses it and deletes it; the comparison stays as it was
    late = f"uploads/{tenant}/{cid}/{missing[0]['text_id']}.wav"
    assert_deleted(stack, late)
    assert intake_outcome(stack, late, late_take) == ["refused"]
    assert repository(stack).comparisons.require(cid) == before
    assert objects_of(stack, tenant, cid) == []
