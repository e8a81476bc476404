"""An upload the job no longer waits for changes nothing: not the job, its sentences, or the audio it used.

A presigned form stays valid for its whole expiry, so a client (or anyone holding the form) can
post it again after the job was checked, trained, failed or cancelled. On the local stack, each
test posts such a still-valid form with other bytes and compares everything before and after.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import UploadRefused
from voiceclone.domain.models import Gender, Job, JobStatus, Language, Sentence, SentenceStatus
from voiceclone.logic.training.intake import accepted_key
from voiceclone.logic.training.jobs import upload_key
from voiceclone.store import Store
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import (
    CONSENT,
    SPEAKER,
    TABLE_SCHEMA,
    consent_take,
    upload_recordings,
    wait_for,
    wav_bytes,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")
# Another take of a sentence: a valid recording, and not the bytes the job was checked and trained with.
LATE_TAKE = wav_bytes(seconds=2.5, freq=330.0)


def repository(stack: LocalStack) -> Store:
    return Store(stack.table_name, stack.client("dynamodb"))


def post_form(target: dict[str, Any], data: bytes) -> httpx.Response:
    """Post a presigned form as a browser does: its fields, then the file."""
    return httpx.post(target["url"], data=target["fields"], files={"file": ("take.wav", data, "audio/wav")})


def finished(client: VoicecloneClient, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get_job(job_id)
        return job if job["status"] in DONE else None

    return wait_for(done, timeout=timeout, what=f"job {job_id} to finish")


def snapshot(stack: LocalStack, job_id: str) -> tuple[Job, list[Sentence], dict[str, bytes]]:
    """The job, its sentences, and the bytes of each recording it refers to."""
    job, sentences = repository(stack).jobs.with_sentences(job_id)
    s3 = stack.client("s3")
    audio = {
        s.text_id: s3.get_object(Bucket=stack.bucket_name, Key=s.s3_key)["Body"].read()
        for s in sentences
        if s.status is not SentenceStatus.PENDING_UPLOAD
    }
    return job, sentences, audio


def executions_of(stack: LocalStack, job_id: str) -> list[str]:
    listed = stack.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)
    return sorted(e["name"] for e in listed["executions"] if e["name"].startswith(job_id))


def intake_outcome(stack: LocalStack, key: str, data: bytes | None = None) -> list[str]:
    """Deliver the S3 event of the object now at `key` to intake again, as S3 may; intake's outcomes.

    With `data`: the event of an object of those bytes, whether or not it is still there (intake
    deletes what arrives after a job's end; S3 may still deliver its event again).
    """
    if data is None:
        head = stack.client("s3").head_object(Bucket=stack.bucket_name, Key=key)
    else:
        head = {"ContentLength": len(data), "ETag": hashlib.md5(data).hexdigest()}
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "bucket": {"name": stack.bucket_name, "arn": f"arn:aws:s3:::{stack.bucket_name}"},
                    "object": {"key": key, "size": head["ContentLength"], "eTag": head["ETag"].strip('"')},
                },
            }
        ]
    }
    name = next(n for n in stack.function_names.values() if "intake" in n.lower())
    resp = stack.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert resp.get("FunctionError") is None
    outcomes: list[str] = json.loads(resp["Payload"].read())["outcomes"]
    return outcomes


def assert_late_uploads_change_nothing(stack: LocalStack, job: dict[str, Any], expected_status: str) -> None:
    job_id = job["job_id"]
    before = snapshot(stack, job_id)
    assert before[0].status.value == expected_status
    executions = executions_of(stack, job_id)
    for sentence in job["sentences"][:3]:
        # When the sentence's original form, still valid, is posted again with other bytes
        response = post_form(sentence["upload"], LATE_TAKE)
        # Then S3 takes it (the form is valid), where the form says...
        assert response.status_code == 204, response.text
        key = upload_key(before[0].tenant_id, job_id, sentence["text_id"])
        # ...and intake refuses it and deletes it (the job has ended: nothing may keep a recording of
        # it that no record refers to), however often S3 delivers the event
        assert_deleted(stack, key)
        assert intake_outcome(stack, key, LATE_TAKE) == ["refused"]
    # And nothing in the job, its sentences or the audio they refer to changed
    after = snapshot(stack, job_id)
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert after[2] == before[2] and all(audio != LATE_TAKE for audio in after[2].values())
    assert executions_of(stack, job_id) == executions


def assert_deleted(stack: LocalStack, key: str) -> None:
    """The object at `key` goes (intake runs on S3's notification, in the background)."""
    from botocore.exceptions import ClientError

    s3 = stack.client("s3")

    def gone() -> bool:
        try:
            s3.head_object(Bucket=stack.bucket_name, Key=key)
        except ClientError as exc:
            return exc.response["Error"]["Code"] in ("404", "NoSuchKey")
        return False

    wait_for(gone, timeout=30, what=f"{key} to be deleted")


def start_job(client: VoicecloneClient) -> dict[str, Any]:
    job = client.create_job("tencent_vrs", "late-upload", "female", SPEAKER)
    upload_recordings(client, job, SAMPLES)
    return job


def test_an_upload_after_success_changes_nothing(stack: LocalStack, client: VoicecloneClient) -> None:
    # Given a voice trained from 20 checked recordings
    job = start_job(client)
    final = finished(client, job["job_id"])
    assert final["status"] == "SUCCEEDED" and all(s["status"] == "PASSED" for s in final["sentences"])
    trained = snapshot(stack, job["job_id"])[2]
    assert all(trained[t] == (SAMPLES / f"{t}.wav").read_bytes() for t in trained if t != CONSENT)
    # When / Then
    assert_late_uploads_change_nothing(stack, job, "SUCCEEDED")
    # And the API shows the same job: 20 of 20 checks, every sentence PASSED
    again = client.get_job(job["job_id"])
    # (20 sentences and the consent statement)
    assert again["checks_done"] == 21 and all(s["status"] == "PASSED" for s in again["sentences"])


def test_an_upload_after_failure_changes_nothing(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job whose training the vendor failed
    sandbox.config.fail_training = "the voice could not be trained"
    job = start_job(client)
    assert finished(client, job["job_id"])["status"] == "FAILED"
    # When / Then
    assert_late_uploads_change_nothing(stack, job, "FAILED")


def test_an_upload_after_cancel_changes_nothing(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job cancelled while the vendor trains it
    sandbox.config.training_seconds = 30.0
    sandbox.config.callback_enabled = False
    job = start_job(client)
    repo = repository(stack)
    wait_for(
        lambda: repo.jobs.require(job["job_id"]).status is JobStatus.TRAINING, timeout=60, what="training"
    )
    assert client.cancel_job(job["job_id"])["status"] == "CANCELLED"
    # When / Then
    assert_late_uploads_change_nothing(stack, job, "CANCELLED")


def test_an_upload_after_expiry_changes_nothing(stack: LocalStack, client: VoicecloneClient) -> None:
    # Given a job that got three of its recordings and then ended EXPIRED (the expiry's versioned write)
    job = client.create_job("tencent_vrs", "late-upload", "female", SPEAKER)
    for sentence in [s for s in job["sentences"] if s["text_id"] != CONSENT][:3]:
        client.upload(sentence["upload"], SAMPLES / f"{sentence['text_id']}.wav")
    repository(stack).jobs.transition(job["job_id"], JobStatus.EXPIRED)
    # When / Then
    assert_late_uploads_change_nothing(stack, job, "EXPIRED")
    # And a sentence that was never uploaded is not recorded either
    missing = job["sentences"][5]
    before = repository(stack).jobs.sentence(job["job_id"], missing["text_id"])
    assert post_form(missing["upload"], LATE_TAKE).status_code == 204
    assert repository(stack).jobs.sentence(job["job_id"], missing["text_id"]) == before
    assert before.status is SentenceStatus.PENDING_UPLOAD


def test_a_passed_sentence_takes_no_upload_while_the_job_waits_for_others(
    stack: LocalStack, client: VoicecloneClient
) -> None:
    # Given a job back in CHECK_FAILED: sentence 00001 silent (rejected), the others PASSED
    job = client.create_job("tencent_vrs", "late-upload", "female", SPEAKER)
    for sentence in job["sentences"]:
        if sentence["text_id"] == CONSENT:
            client_upload(client, sentence["upload"], consent_take(job))
            continue
        data = (SAMPLES / f"{sentence['text_id']}.wav").read_bytes()
        client_upload(
            client, sentence["upload"], data if sentence["text_id"] != "00001" else wav_bytes(amplitude=0)
        )
    assert finished(client, job["job_id"])["status"] == "CHECK_FAILED"
    before = snapshot(stack, job["job_id"])
    passed = job["sentences"][2]  # 00002 (the consent statement comes first)
    assert passed["text_id"] == before[1][1].text_id and before[1][1].status is SentenceStatus.PASSED
    # When the passed sentence's form is posted again
    assert post_form(passed["upload"], LATE_TAKE).status_code == 204
    key = upload_key(before[0].tenant_id, job["job_id"], passed["text_id"])
    assert intake_outcome(stack, key) == ["refused"]
    # Then nothing changed
    assert snapshot(stack, job["job_id"]) == before
    # And the rejected sentence, recorded again, still takes the job on to a voice
    redo = client.new_upload_url(job["job_id"], "00001")
    client_upload(client, redo, (SAMPLES / "00001.wav").read_bytes())

    def ended() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in ("SUCCEEDED", "FAILED") else None

    final = wait_for(ended, timeout=90, what="the re-recorded job to finish")
    assert final["status"] == "SUCCEEDED", final
    after = snapshot(stack, job["job_id"])
    assert after[2]["00001"] == (SAMPLES / "00001.wav").read_bytes()
    assert after[2]["00002"] == before[2]["00002"] != LATE_TAKE


def test_a_document_after_cancel_changes_nothing(stack: LocalStack, client: VoicecloneClient) -> None:
    # Given a Huawei job whose authorization letter was uploaded, then cancelled
    job = client.create_job("huawei", "late-letter", "female", SPEAKER)
    letter = job["documents"][0]
    name = letter["name"]
    original = (SAMPLES.parent / "authorization-letter.pdf").read_bytes()
    response = httpx.post(
        letter["upload"]["url"],
        data=letter["upload"]["fields"],
        files={"file": ("letter.pdf", original, "application/pdf")},
    )
    assert response.status_code == 204, response.text
    repo = repository(stack)
    recorded = repo.jobs.require(job["job_id"])
    assert recorded.documents[name]
    assert client.cancel_job(job["job_id"])["status"] == "CANCELLED"
    before = repo.jobs.require(job["job_id"])
    kept = accepted_key(before.tenant_id, before.job_id, name, before.documents[name], "pdf")
    s3 = stack.client("s3")
    assert s3.get_object(Bucket=stack.bucket_name, Key=kept)["Body"].read() == original
    # When the letter's form, still valid, is posted again with another file
    late = b"%PDF-1.4\n% another letter\n%%EOF\n"
    again = httpx.post(
        letter["upload"]["url"],
        data=letter["upload"]["fields"],
        files={"file": ("letter.pdf", late, "application/pdf")},
    )
    assert again.status_code == 204, again.text
    late_key = f"uploads/{before.tenant_id}/{before.job_id}/{name}.pdf"
    assert_deleted(stack, late_key)
    assert intake_outcome(stack, late_key, late) == ["refused"]
    # Then the job, and the letter it refers to, are as they were
    assert repo.jobs.require(job["job_id"]) == before
    assert s3.get_object(Bucket=stack.bucket_name, Key=kept)["Body"].read() == original


def client_upload(client: VoicecloneClient, target: dict[str, Any], data: bytes) -> None:
    response = post_form(target, data)
    assert response.status_code == 204, response.text


# ----- the repository's write is conditioned on the job's status -------------------------------------


@pytest.fixture
def repo(stack: LocalStack) -> Iterator[Store]:
    client = stack.client("dynamodb")
    name = f"repo-test-{uuid.uuid4().hex[:12]}"
    client.create_table(TableName=name, **TABLE_SCHEMA)
    yield Store(name, client)
    client.delete_table(TableName=name)


def make_job(repo: Store, status: JobStatus) -> None:
    job = Job(
        job_id="job1",
        tenant_id="t1",
        vendor="tencent_vrs",
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        sentence_count=2,
        status=status,
    )
    sentences = [
        Sentence(job_id="job1", tenant_id="t1", text_id=f"{i:05d}", text="s", s3_key=f"k{i}") for i in (1, 2)
    ]
    repo.jobs.create(job, sentences)


@pytest.mark.parametrize(
    "status",
    [
        JobStatus.CHECKING,
        JobStatus.TRAINING,
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.EXPIRED,
    ],
)
def test_the_repository_records_no_upload_once_the_job_moved_on(repo: Store, status: JobStatus) -> None:
    # Given a job that no longer waits for audio
    make_job(repo, status)
    before = repo.jobs.with_sentences("job1")
    # When an upload is recorded for one of its sentences
    with pytest.raises(UploadRefused):
        repo.jobs.record_upload("job1", "00001", etag="late", size=5, s3_key="elsewhere")
    # Then nothing was written
    assert repo.jobs.with_sentences("job1") == before


def test_the_repository_checks_the_job_status_in_the_write_itself(repo: Store) -> None:
    # Given a job that waits for audio when the sentence is read, and moves on before the write lands
    make_job(repo, JobStatus.AWAITING_AUDIO)
    real_get = repo.jobs.sentence

    def get_then_job_moves_on(job_id: str, text_id: str) -> Sentence:
        sentence = real_get(job_id, text_id)
        repo.jobs.transition(job_id, JobStatus.CHECKING)
        return sentence

    repo.jobs.sentence = get_then_job_moves_on  # type: ignore[method-assign]
    # When / Then the write is refused by its condition, not by the read
    with pytest.raises(UploadRefused):
        repo.jobs.record_upload("job1", "00001", etag="late", size=5, s3_key="elsewhere")
    assert real_get("job1", "00001").status is SentenceStatus.PENDING_UPLOAD


def test_the_repository_records_an_upload_while_the_job_waits(repo: Store) -> None:
    # Given a job waiting for audio
    make_job(repo, JobStatus.AWAITING_AUDIO)
    # When an upload is recorded, Then the sentence points at the kept copy
    assert repo.jobs.record_upload("job1", "00001", etag="e1", size=5, s3_key="kept/e1.wav") is True
    sentence = repo.jobs.sentence("job1", "00001")
    assert sentence.status is SentenceStatus.UPLOADED and sentence.s3_key == "kept/e1.wav"
    assert sentence.upload_etag == "e1" and sentence.version == 1
