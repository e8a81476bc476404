"""End to end on the local stack: the synthesized state machine run by moto, the Tencent VRS sandbox.

Each test clones (or tries to clone) a voice through the REST API, S3 uploads,
the intake function, the workflow and the callback route, as a client would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.logic.training.jobs import upload_key
from voiceclone.store import Store
from voiceclone_cli.client import ApiError, VoicecloneClient
from voiceclone_cli.main import main as cli_main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, http, upload_recordings, wait_for, wav_bytes
from tests.integration.conftest import created_job_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")


def start_job(
    client: VoicecloneClient, directory: Path = SAMPLES, name: str = "test-voice"
) -> dict[str, Any]:
    return client.create_job("tencent_vrs", name, "female", SPEAKER)


def upload_all(client: VoicecloneClient, job: dict[str, Any], directory: Path = SAMPLES) -> None:
    upload_recordings(client, job, directory)


def finished(client: VoicecloneClient, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get_job(job_id)
        return job if job["status"] in DONE else None

    return wait_for(done, timeout=timeout, what=f"job {job_id} to finish")


def states_entered(stack: LocalStack, job_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in stack.execution_history(job_id)
        if e["type"].endswith("StateEntered")
    ]


def repository(stack: LocalStack) -> Store:
    return Store(stack.table_name, stack.client("dynamodb"))


def test_cli_clone_succeeds_through_the_callback(
    stack: LocalStack, sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local stack and 20 real recordings
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    callbacks_before = len(sandbox.callbacks)
    # When a client runs the documented clone command
    code = cli_main(
        [
            "clone",
            "--speaker",
            SPEAKER,
            "--stand-in-consent",
            "--vendor",
            "tencent_vrs",
            "--name",
            "cli-voice",
            "--timeout",
            "90",
            str(SAMPLES),
        ]
    )
    out = capsys.readouterr().out
    # Then it exits 0 with a voice id and the VoiceType a TTS call needs
    assert code == 0, out
    assert "voice ready: v-" in out and "VoiceType:" in out
    job_id = created_job_id(out)
    job = VoicecloneClient(stack.api_url, api_key=stack.api_key).get_job(job_id)
    assert job["status"] == "SUCCEEDED"
    assert isinstance(job["voice"]["VoiceType"], int)
    # (20 sentences and the consent statement, each checked)
    assert all(s["status"] == "PASSED" for s in job["sentences"]) and job["checks_done"] == 21
    # ...through the synthesized workflow's callback path, without polling
    states = states_entered(stack, job_id)
    assert states.count("CheckSentence") == 21
    assert "AwaitCallback" in states and "PollStatus" not in states and states[-1] == "VoiceReady"
    assert stack.execution_status(job_id) == "SUCCEEDED"
    assert any(c.status_code == 200 for c in sandbox.callbacks[callbacks_before:])
    stored = repository(stack).jobs.require(job_id)
    assert stored.callback_received_at is not None and stored.task_token is None


def test_polling_completes_the_job_when_callbacks_are_off(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a vendor that never calls back
    sandbox.config.callback_enabled = False
    sandbox.config.training_seconds = 1.0
    # When a voice is cloned
    job = start_job(client)
    upload_all(client, job)
    final = finished(client, job["job_id"])
    # Then the wait for the callback times out and polling finishes the job
    assert final["status"] == "SUCCEEDED", final
    states = states_entered(stack, job["job_id"])
    assert "AwaitCallback" in states and "WaitBeforePoll" in states and "PollStatus" in states
    assert repository(stack).jobs.require(job["job_id"]).callback_received_at is None


def test_bad_recordings_end_check_failed_with_a_reason_each(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, tmp_path: Path
) -> None:
    # Given 20 recordings of which five are bad in five different ways
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    good = (SAMPLES / "00004.wav").read_bytes()
    bad = {
        "00001": wav_bytes(seconds=3.0, amplitude=0.0),  # silent
        "00002": wav_bytes(seconds=0.0),  # a WAV header and no audio
        "00003": b"ID3\x04\x00 this is an mp3 header, not a WAV file" * 10,  # not WAV
        "00004": good[: len(good) // 2],  # truncated upload
        "00005": wav_bytes(seconds=20.0),  # too long for Tencent (15 s)
    }
    for text_id, data in bad.items():
        (tmp_path / f"{text_id}.wav").write_bytes(data)
    tasks_before = sandbox.tasks_created
    # When they are uploaded
    job = start_job(client)
    upload_all(client, job, tmp_path)
    final = finished(client, job["job_id"])
    # Then the job is CHECK_FAILED, each bad sentence says why, and nothing went to training
    assert final["status"] == "CHECK_FAILED", final
    by_id = {s["text_id"]: s for s in final["sentences"]}
    expected = {
        "00001": "SILENT",
        "00002": "TOO_SHORT",
        "00003": "NOT_WAV",
        "00004": "TRUNCATED",
        "00005": "TOO_LONG",
    }
    for text_id, code in expected.items():
        assert by_id[text_id]["status"] == "REJECTED"
        assert by_id[text_id]["check"]["code"] == code, by_id[text_id]
        assert by_id[text_id]["check"]["message"]
    assert all(s["status"] == "PASSED" for t, s in by_id.items() if t not in expected)
    assert "5 of 21 sentences" in final["error"]["message"]
    assert sandbox.tasks_created == tasks_before
    assert "SubmitTraining" not in states_entered(stack, job["job_id"])


def test_an_empty_file_is_refused_at_upload(client: VoicecloneClient, tmp_path: Path) -> None:
    # S3 enforces the presigned POST's size range (1 byte to the maximum) before anything is stored
    job = start_job(client)
    empty = tmp_path / "00001.wav"
    empty.write_bytes(b"")
    with pytest.raises(ApiError) as refused:
        client.upload(job["sentences"][0]["upload"], empty)
    # (as S3 does: a size outside content-length-range is a 400 EntityTooSmall, named EmptyFile here)
    assert refused.value.status == 400 and "1-5242880 bytes" in refused.value.message
    assert client.get_job(job["job_id"])["sentences"][0]["status"] == "PENDING_UPLOAD"


def test_throttling_is_retried_and_the_job_succeeds(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job, and a vendor that throttles the next three calls
    job = start_job(client)
    sandbox.config.throttle_first = 3
    # When the recordings arrive
    upload_all(client, job)
    final = finished(client, job["job_id"])
    # Then the workflow retried the throttled checks and the job succeeded
    assert final["status"] == "SUCCEEDED", final
    failures = [e for e in stack.execution_history(job["job_id"]) if e["type"] == "LambdaFunctionFailed"]
    assert any(e["lambdaFunctionFailedEventDetails"]["error"] == "VendorThrottled" for e in failures)
    assert sandbox.config.throttle_first == 0


def test_a_permanent_auth_error_fails_the_job_with_the_vendor_code(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job, and then credentials the vendor no longer accepts
    job = start_job(client)
    sandbox.config.secret_key = "rotated-at-the-vendor"
    # When the recordings arrive
    upload_all(client, job)
    # Then the job ends FAILED with Tencent's own code, promptly, not stuck
    final = finished(client, job["job_id"], timeout=60)
    assert final["status"] == "FAILED"
    assert final["error"]["code"] == "AuthFailure.SignatureFailure"
    assert final["error"]["vendor"] == "tencent_vrs"
    assert stack.execution_status(job["job_id"]) == "FAILED"


def test_training_failure_ends_failed_with_the_vendor_reason(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    sandbox.config.fail_training = "音频质量不达标 (audio quality below standard)"
    job = start_job(client)
    upload_all(client, job)
    final = finished(client, job["job_id"])
    assert final["status"] == "FAILED"
    assert final["error"]["error"] == "TrainingFailed"
    assert "audio quality below standard" in final["error"]["message"]


def _s3_event(stack: LocalStack, key: str) -> dict[str, Any]:
    head = stack.client("s3").head_object(Bucket=stack.bucket_name, Key=key)
    return {
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


def _invoke(
    stack: LocalStack, handler_suffix: str, event: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    name = next(n for n in stack.function_names.values() if handler_suffix.lower() in n.lower())
    resp = stack.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(resp["Payload"].read()), resp.get("FunctionError")


def test_duplicate_s3_events_and_callbacks_change_nothing(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a finished job
    job = start_job(client)
    upload_all(client, job)
    assert finished(client, job["job_id"])["status"] == "SUCCEEDED"
    repo = repository(stack)
    before = repo.jobs.with_sentences(job["job_id"])
    key = upload_key(before[0].tenant_id, job["job_id"], before[1][0].text_id)  # where the form posted it
    # When S3 delivers the last upload's event again
    result, error = _invoke(stack, "intake", _s3_event(stack, key))
    # Then nothing starts and nothing changes
    assert error is None and result["outcomes"] == ["duplicate"]
    executions = stack.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)
    assert sum(1 for e in executions["executions"] if e["name"] == job["job_id"]) == 1
    # And when the vendor repeats its callback
    stored = repo.jobs.require(job["job_id"])
    body = json.dumps(
        {"TaskId": stored.vendor_task_id, "Status": 2, "StatusStr": "success", "VoiceType": 1, "ErrorMsg": ""}
    )
    url = f"{stack.api_url}/v1/callbacks/tencent_vrs/{job['job_id']}?token={stored.callback_token}"
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    # Then it is acknowledged and changes nothing
    assert response.status_code == 200 and response.json()["message"] == "already processed"
    after = repo.jobs.with_sentences(job["job_id"])
    assert after[0].version == before[0].version and after[0].voice_id == before[0].voice_id
    assert [s.version for s in after[1]] == [s.version for s in before[1]]


def test_forged_callbacks_are_rejected_and_change_nothing(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job in training that the vendor has not finished
    sandbox.config.training_seconds = 8.0
    job = start_job(client)
    upload_all(client, job)
    repo = repository(stack)
    # (once the workflow waits for the callback: the parked task token is the last write before it)
    training = wait_for(
        lambda: (j := repo.jobs.require(job["job_id"])).task_token and j, timeout=60, what="training"
    )
    forged = json.dumps(
        {
            "TaskId": training.vendor_task_id,
            "Status": 2,
            "StatusStr": "success",
            "VoiceType": 999,
            "ErrorMsg": "",
        }
    )
    base = f"{stack.api_url}/v1/callbacks/tencent_vrs"
    attempts = {
        f"{base}/{job['job_id']}?token=guessed-token": 401,
        f"{base}/{job['job_id']}": 401,
        f"{base}/no-such-job?token={training.callback_token}": 404,
        f"{stack.api_url}/v1/callbacks/other_vendor/{job['job_id']}?token={training.callback_token}": 404,
    }
    for url, status in attempts.items():
        # When a forger posts a "success" callback
        response = httpx.post(url, content=forged, headers={"Content-Type": "application/json"})
        # Then it is refused and the job is untouched
        assert response.status_code == status, url
    now = repo.jobs.require(job["job_id"])
    assert now.version == training.version and now.vendor_voice is None
    # A genuine callback body for another task, even with the right token, changes nothing either
    other = json.dumps({"TaskId": "someone-elses-task", "Status": 2, "VoiceType": 5})
    response = httpx.post(f"{base}/{job['job_id']}?token={training.callback_token}", content=other)
    assert response.status_code == 409
    assert repo.jobs.require(job["job_id"]).version == training.version
    # The job still completes on its own
    assert finished(client, job["job_id"])["status"] == "SUCCEEDED"


def test_the_fan_out_checks_sentences_concurrently(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a vendor whose checks each take 200 ms
    sandbox.config.check_latency_ms = 200
    job = start_job(client)
    sandbox.max_concurrent_checks = 0
    upload_all(client, job)
    assert finished(client, job["job_id"])["status"] == "SUCCEEDED"
    # Then the Map state had several checks at the vendor at once (the benchmark prints the timing)
    assert sandbox.max_concurrent_checks > 1


def test_the_lambda_shim_reports_errors_as_lambda_does(stack: LocalStack) -> None:
    payload, error = _invoke(stack, "LoadJob", {"job_id": "does-not-exist"})
    assert error == "Unhandled"
    assert payload["errorType"] == "NotFound"
    assert json.loads(payload["errorMessage"])["code"] == "JobNotFound"


def test_api_errors_say_what_is_wrong(stack: LocalStack, client: VoicecloneClient) -> None:
    missing = http(stack).get(f"{stack.api_url}/v1/jobs/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "JobNotFound"
    unknown = http(stack).get(f"{stack.api_url}/v1/vendors/acme/training-texts")
    assert unknown.status_code == 404 and "tencent_vrs" in unknown.json()["message"]
    invalid = http(stack).post(f"{stack.api_url}/v1/jobs", json={"vendor": "tencent_vrs", "voice_name": ""})
    assert invalid.status_code == 422
    assert "gender" in invalid.text and "voice_name" in invalid.text
    texts = client.training_texts("tencent_vrs")
    assert len(texts) == 20 and texts[0]["text_id"] == "00001"


def test_jobs_are_listed_newest_first_in_pages(stack: LocalStack, client: VoicecloneClient) -> None:
    created = [client.create_job("tencent_vrs", f"page-{i}", "male", SPEAKER)["job_id"] for i in range(3)]
    first = client.list_jobs(limit=2)
    second = client.list_jobs(limit=2, cursor=first["next_cursor"])
    listed = [j["job_id"] for j in first["items"] + second["items"]]
    assert listed[:3] == list(reversed(created))


def test_a_vendor_outage_is_retried_then_fails_the_job_with_the_vendor_code(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a job, and then a vendor that answers InternalError to everything
    job = start_job(client)
    sandbox.config.internal_error_first = 10_000
    # When the recordings arrive
    upload_all(client, job)
    # Then each check is retried with backoff, and the job ends FAILED with the vendor's code, not stuck
    final = finished(client, job["job_id"], timeout=120)
    assert final["status"] == "FAILED"
    assert final["error"]["code"] == "InternalError" and final["error"]["vendor"] == "tencent_vrs"
    failures = [e for e in stack.execution_history(job["job_id"]) if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) >= 6  # the first attempt and five retries of at least one sentence


def test_cli_clone_exits_non_zero_with_the_reason_per_sentence(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given recordings where one sentence is silent
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    (tmp_path / "00007.wav").write_bytes(wav_bytes(seconds=3.0, amplitude=0.0))
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    # When the client clones (--force: past the CLI's own check, to see the service's reasons)
    code = cli_main(
        [
            "clone",
            "--speaker",
            SPEAKER,
            "--stand-in-consent",
            "--vendor",
            "tencent_vrs",
            "--name",
            "cli-bad",
            "--force",
            "--timeout",
            "90",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    # Then it fails and names the sentence, its text and what to do
    assert code == 1
    assert "CHECK_FAILED" in out and "00007" in out and "silent" in out and "record" in out


def test_cli_refuses_a_folder_with_missing_recordings(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "00001.wav").write_bytes((SAMPLES / "00001.wav").read_bytes())
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    code = cli_main(
        [
            "clone",
            "--speaker",
            SPEAKER,
            "--stand-in-consent",
            "--vendor",
            "tencent_vrs",
            "--name",
            "x",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "00002" in err and "voiceclone texts tencent_vrs" in err


def test_cli_texts_prints_the_sentences(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    assert cli_main(["texts", "tencent_vrs", "--json"]) == 0
    texts = json.loads(capsys.readouterr().out)["texts"]
    assert len(texts) == 20 and texts[0] == {"text_id": "00001", "text": "在很久很久以前 鸟群中有一只小鸟"}
    assert cli_main(["texts", "--vendor", "tencent_vrs"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("00002  ")


def test_a_lost_create_response_leaves_exactly_one_vendor_task(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    # Given a vendor that creates the next task and then drops the connection before answering
    job = start_job(client)
    sandbox.config.drop_create_response_first = 1
    tasks_before = sandbox.tasks_created
    # When the recordings arrive and SubmitTraining retries the create
    upload_all(client, job)
    final = finished(client, job["job_id"])
    # Then the retry found the same task (Tencent VRS: same SessionId), the job succeeded, one task exists
    assert final["status"] == "SUCCEEDED", final
    assert sandbox.tasks_created == tasks_before + 1
    assert repository(stack).jobs.require(job["job_id"]).create_attempts == 2
    failures = [e for e in stack.execution_history(job["job_id"]) if e["type"] == "LambdaFunctionFailed"]
    assert any(e["lambdaFunctionFailedEventDetails"]["error"] == "VendorUnavailable" for e in failures)


def test_re_recording_the_rejected_sentences_completes_the_job(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, tmp_path: Path
) -> None:
    # Given a job whose sentences 00003 and 00011 were silent
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    for text_id in ("00003", "00011"):
        (tmp_path / f"{text_id}.wav").write_bytes(wav_bytes(seconds=3.0, amplitude=0.0))
    job = start_job(client)
    upload_all(client, job, tmp_path)
    failed = finished(client, job["job_id"])
    assert failed["status"] == "CHECK_FAILED"
    assert {s["text_id"] for s in failed["sentences"] if s["status"] == "REJECTED"} == {"00003", "00011"}
    # (a sentence that passed is not recorded again)
    passed = http(stack).post(f"{stack.api_url}/v1/jobs/{job['job_id']}/sentences/00001/upload-url")
    assert passed.status_code == 409 and passed.json()["error"] == "SentencePassed"
    # When the client records just those two again, each with a new upload URL
    for text_id in ("00003", "00011"):
        target = http(stack).post(f"{stack.api_url}/v1/jobs/{job['job_id']}/sentences/{text_id}/upload-url")
        assert target.status_code == 200, target.text
        client.upload(target.json(), SAMPLES / f"{text_id}.wav")
    # Then the same job goes on to training and succeeds, without a new job (it stays CHECK_FAILED
    # until the resumed workflow's first step takes it on)
    wait_for(lambda: client.get_job(job["job_id"])["status"] != "CHECK_FAILED" or None, what="the recheck")
    final = finished(client, job["job_id"])
    assert final["status"] == "SUCCEEDED", final
    assert final["error"] is None
    # and only the two re-recorded sentences were checked again
    _, sentences = repository(stack).jobs.with_sentences(job["job_id"])
    counts = {s.text_id: s.check_count for s in sentences}
    assert counts.pop("00003") == 2 and counts.pop("00011") == 2
    assert set(counts.values()) == {1}


def test_a_passed_sentence_gets_no_new_upload_url(stack: LocalStack, client: VoicecloneClient) -> None:
    job = start_job(client)
    upload_all(client, job)
    assert finished(client, job["job_id"])["status"] == "SUCCEEDED"
    response = http(stack).post(f"{stack.api_url}/v1/jobs/{job['job_id']}/sentences/00001/upload-url")
    assert response.status_code == 409 and response.json()["error"] == "JobNotAwaitingAudio"
    missing = http(stack).post(f"{stack.api_url}/v1/jobs/nope/sentences/00001/upload-url")
    assert missing.status_code == 404
