"""The real Huawei adapter against the Huawei sandbox over HTTP: signing, uploads, audit, training, faults."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState, TrainingStatus
from voiceclone.vendors.huawei import HuaweiAdapter
from voiceclone.vendors.signing import huawei as signer
from voiceclone_local.sandboxes.huawei import (
    DATA_OBJECT,
    DEFAULT_ACCESS_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    HuaweiSandbox,
    HuaweiSandboxConfig,
)
from voiceclone_local.sandboxes.knobs import Fault

from tests.helpers import LocalAudioSource, wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
SCRIPT = STANDARD_SCRIPT[:20]
LETTER = b"%PDF-1.4\n% signed authorization letter\n%%EOF\n"


class LetteredAudio(LocalAudioSource):
    """The sample recordings plus the signed authorization letter; one sentence can be replaced."""

    def __init__(self, replace: dict[str, bytes] | None = None, letter: bytes = LETTER) -> None:
        super().__init__(SAMPLES, [t.text_id for t in SCRIPT])
        self._replace = replace or {}
        self._letter = letter

    def sentence_audio(self, text_id: str) -> bytes:
        return self._replace.get(text_id) or super().sentence_audio(text_id)

    def document(self, name: str) -> bytes:
        assert name == "authorization_letter"
        return self._letter


@pytest.fixture
def sandbox() -> Any:
    server = HuaweiSandbox(
        HuaweiSandboxConfig(
            project_id=DEFAULT_PROJECT_ID,
            access_key=DEFAULT_ACCESS_KEY,
            secret_key=DEFAULT_SECRET_KEY,
            training_seconds=0.3,
        )
    ).start()
    try:
        yield server
    finally:
        server.stop()


def make_adapter(sandbox: HuaweiSandbox, **overrides: str) -> HuaweiAdapter:
    settings = {
        "project_id": DEFAULT_PROJECT_ID,
        "access_key": DEFAULT_ACCESS_KEY,
        "secret_key": DEFAULT_SECRET_KEY,
        **overrides,
    }
    return HuaweiAdapter(sandbox.url, settings["project_id"], settings["access_key"], settings["secret_key"])


@pytest.fixture
def adapter(sandbox: HuaweiSandbox) -> HuaweiAdapter:
    return make_adapter(sandbox)


def prepared(adapter: HuaweiAdapter, edition: str | None = None) -> TrainingRequest:
    """A job's request with its options prepared, as the workflow passes it to create_task."""
    request = TrainingRequest(
        job_id=uuid.uuid4().hex,
        session_id=uuid.uuid4().hex,
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[
            CheckedSentence(text_id=t.text_id, text=t.text, s3_key=f"jobs/{t.text_id}.wav") for t in SCRIPT
        ],
        options={"edition": edition} if edition else {},
    )
    return request.model_copy(update={"options": adapter.prepare_options(request)})


def finished(adapter: HuaweiAdapter, task_id: str) -> TrainingStatus:
    def done() -> TrainingStatus | None:
        status = adapter.get_status(task_id)
        return status if status.state.finished else None

    return wait_for(done, timeout=10, interval=0.05, what="training to finish")


def uploaded_names(sandbox: HuaweiSandbox, job_id: str) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(sandbox.jobs[job_id].uploads[DATA_OBJECT])) as package:
        return set(package.namelist())


def test_a_basic_clone_succeeds_with_the_asset_id(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given a BASIC job with 20 good recordings and the letter
    request = prepared(adapter)

    # When it is created (create, two OBS uploads, commit) and polled to the end
    job_id = adapter.create_task(request, LetteredAudio())
    status = finished(adapter, job_id)

    # Then it succeeded with the asset id as the voice, from one job with 20 wav+txt pairs
    assert status.state is TrainingState.SUCCEEDED
    assert status.voice is not None
    asset_id = sandbox.jobs[job_id].asset_id
    assert status.voice.voice_id == asset_id
    assert status.voice.details == {"asset_id": asset_id, "job_id": job_id}
    assert sandbox.tasks_created == 1
    assert uploaded_names(sandbox, job_id) == {f"{i}.{ext}" for i in range(20) for ext in ("wav", "txt")}
    assert sandbox.jobs[job_id].edition == "BASIC"


def test_an_advance_clone_trains_from_one_long_wav(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given an ADVANCE (premium) job / When created and polled
    job_id = adapter.create_task(prepared(adapter, "advance"), LetteredAudio())
    status = finished(adapter, job_id)

    # Then it succeeded, trained from a zip holding one WAV
    assert status.state is TrainingState.SUCCEEDED
    assert status.voice is not None and status.voice.voice_id == sandbox.jobs[job_id].asset_id
    assert sandbox.jobs[job_id].edition == "ADVANCE"
    assert len(uploaded_names(sandbox, job_id)) == 1


def test_a_wrong_secret_key_is_an_auth_error(sandbox: HuaweiSandbox) -> None:
    # Given an adapter signing with the wrong secret key / When it creates / Then VendorAuthError, no job
    adapter = make_adapter(sandbox, secret_key="not-the-key")
    with pytest.raises(VendorAuthError) as caught:
        adapter.create_task(prepared(adapter), LetteredAudio())
    assert caught.value.code == "APIGW.0301"
    assert caught.value.details.get("request_id")
    assert sandbox.tasks_created == 0


def test_a_wrong_project_is_an_auth_error(sandbox: HuaweiSandbox) -> None:
    # Given a correctly signed request for another project / When polled / Then VendorAuthError
    adapter = make_adapter(sandbox, project_id="someone-elses-project")
    with pytest.raises(VendorAuthError):
        adapter.get_status("any")


def test_throttling_is_retryable_and_the_retry_succeeds(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given the vendor throttles the next request
    sandbox.config.throttle_first = 1
    request = prepared(adapter)
    audio = LetteredAudio()

    # When the create is tried, and retried as the workflow does
    with pytest.raises(VendorThrottled):
        adapter.create_task(request, audio)
    assert adapter.find_existing_task(request) is None
    job_id = adapter.create_task(request, audio)

    # Then the retry trains, from a single job
    assert finished(adapter, job_id).state is TrainingState.SUCCEEDED
    assert sandbox.tasks_created == 1


def test_an_internal_error_is_unavailable(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given a server error on the next request / When polled / Then the retryable VendorUnavailable
    sandbox.config.internal_error_first = 1
    with pytest.raises(VendorUnavailable):
        adapter.get_status("any")


def test_failed_training_is_failed_with_the_reason(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given training that will fail / When a job is created and polled
    sandbox.config.fail_training = "the voice could not be modelled"
    status = finished(adapter, adapter.create_task(prepared(adapter), LetteredAudio()))

    # Then FAILED with Huawei's code and reason
    assert status.state is TrainingState.FAILED
    assert status.vendor_state == "FAILED"
    assert status.error_message == "the voice could not be modelled"
    assert status.error_code.startswith("MSS.")


def test_a_silent_sentence_fails_the_audit_naming_the_file(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given the fourth recording is silence (it becomes 3.wav in the zip)
    audio = LetteredAudio(replace={SCRIPT[3].text_id: wav_bytes(seconds=3.0, amplitude=0.0)})

    # When the job is created and polled
    job_id = adapter.create_task(prepared(adapter), audio)
    status = adapter.get_status(job_id)

    # Then the audit failed, and the message names the file and the problem
    assert status.state is TrainingState.FAILED
    assert status.vendor_state == "AUDIT_FAILED"
    assert status.error_code == "AUDIT_FAILED"
    assert "3.wav" in status.error_message and "silent" in status.error_message
    assert "2.wav" not in status.error_message


def test_the_audit_fail_knob_fails_the_audit_with_its_reason(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given a reviewer who rejects the letter / When a job is created / Then AUDIT_FAILED with that reason
    sandbox.config.audit_fail = "the authorization letter is not signed"
    status = adapter.get_status(adapter.create_task(prepared(adapter), LetteredAudio()))
    assert status.error_code == "AUDIT_FAILED"
    assert "the authorization letter is not signed" in status.error_message


def test_a_lost_create_response_is_found_and_finished(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given the vendor creates the job and the answer is lost
    sandbox.config.drop_create_response_first = 1
    request = prepared(adapter)
    with pytest.raises(VendorUnavailable):
        adapter.create_task(request, LetteredAudio())
    (job_id,) = sandbox.jobs
    assert sandbox.jobs[job_id].current_state() == "CREATING"

    # When the workflow's retry first asks for an existing task
    found = adapter.find_existing_task(request)

    # Then it is the same job, uploaded and committed, and it trains; no second job was made
    assert found == job_id
    assert finished(adapter, job_id).state is TrainingState.SUCCEEDED
    assert sandbox.tasks_created == 1


def test_a_cold_retry_finishes_the_uncommitted_job_in_create(sandbox: HuaweiSandbox) -> None:
    # Given a lost create answer, and a retry in another process (which does not hold the audio)
    sandbox.config.drop_create_response_first = 1
    first = make_adapter(sandbox)
    request = prepared(first)
    with pytest.raises(VendorUnavailable):
        first.create_task(request, LetteredAudio())
    retry = make_adapter(sandbox)

    # When it looks for the task and then creates
    assert retry.find_existing_task(request) is None
    job_id = retry.create_task(request, LetteredAudio())

    # Then the one job was finished (fresh upload URLs, upload, commit) instead of a second made
    assert set(sandbox.jobs) == {job_id}
    assert finished(retry, job_id).state is TrainingState.SUCCEEDED
    assert sandbox.tasks_created == 1


class LateCreate(httpx.HTTPTransport):
    """Arms the sandbox's late answer for the first job create it carries: Huawei performs that
    create only after the client's timeout, as a slow vendor does."""

    def __init__(self, sandbox: HuaweiSandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.armed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("-jobs") and not self.armed:
            self.armed = True
            self.sandbox.arm(Fault.TIMEOUT)
        return super().handle_request(request)


def test_a_create_performed_after_the_timeout_is_released_as_a_stray(sandbox: HuaweiSandbox) -> None:
    # Given a create Huawei performs only after the client gave up on it
    sandbox.config.late_answer_seconds = 1.0
    first = HuaweiAdapter(
        sandbox.url, DEFAULT_PROJECT_ID, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
        timeout_seconds=0.3, transport=LateCreate(sandbox),
    )  # fmt: skip
    request = prepared(first)
    with pytest.raises(VendorUnavailable) as caught:
        first.create_task(request, LetteredAudio())
    assert caught.value.code == "Timeout"
    # ...and a retry that looked before that create was made, and so made the job's own
    retry = make_adapter(sandbox)
    assert retry.find_existing_task(request) is None
    job_id = retry.create_task(request, LetteredAudio())
    wait_for(lambda: len(sandbox.jobs) == 2 or None, timeout=10, interval=0.05, what="the late create")
    (stray,) = set(sandbox.jobs) - {job_id}

    # When the workflow releases the job's strays
    released = retry.release_strays(job_id)

    # Then the late one is deleted, the job's own trains, and nothing is left to release
    assert released == [stray] and set(sandbox.jobs) == {job_id}
    assert finished(retry, job_id).state is TrainingState.SUCCEEDED
    assert retry.release_strays(job_id) == []


def test_a_committed_job_is_found_again(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given a job whose create fully succeeded / When the request's task is looked up / Then it is that job
    request = prepared(adapter)
    job_id = adapter.create_task(request, LetteredAudio())
    assert adapter.find_existing_task(request) == job_id
    assert adapter.find_existing_task(prepared(adapter)) is None


def test_no_job_is_made_without_the_letter(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given no authorization letter / When created / Then rejected before any job exists
    with pytest.raises(VendorRejected) as caught:
        adapter.create_task(prepared(adapter), LetteredAudio(letter=b""))
    assert caught.value.code == "MissingAuthorizationLetter"
    assert sandbox.tasks_created == 0


def test_voices_are_listed_and_deleted(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given one trained voice
    job_id = adapter.create_task(prepared(adapter), LetteredAudio())
    finished(adapter, job_id)

    # When listed / Then its asset id is the voice
    voices = adapter.list_voices()
    assert [v.voice_id for v in voices] == [sandbox.jobs[job_id].asset_id]
    assert voices[0].details["job_id"] == job_id

    # When that voice is deleted / Then the job is gone
    adapter.delete_voice(voices[0])
    assert sandbox.jobs == {}
    assert adapter.list_voices() == []


# ----- delete, cancel, rename --------------------------------------------------------------------


def test_the_voice_of_a_finished_job_is_deleted_with_its_job(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given a trained voice as get_status gave it (the voice id is the asset id, not the job id)
    job_id = adapter.create_task(prepared(adapter), LetteredAudio())
    voice = finished(adapter, job_id).voice
    assert voice is not None and voice.voice_id == sandbox.jobs[job_id].asset_id != job_id

    # When deleted / Then its job answers 404, and deleting it again is not an error
    adapter.delete_voice(voice)
    with pytest.raises(VendorRejected) as caught:
        adapter.get_status(job_id)
    assert caught.value.code == "MSS.00000004"
    adapter.delete_voice(voice)
    assert sandbox.jobs == {}
    assert sandbox.requests["DELETE /user/jobs/{job_id}"] == 2
    assert sandbox.requests.get("GET /user/jobs", 0) == 1  # the batch lookup of the create, none for delete


def test_cancel_during_training_deletes_the_job(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given a committed job in audit/training for a long while
    sandbox.config.training_seconds = 30
    job_id = adapter.create_task(prepared(adapter), LetteredAudio())
    assert not adapter.get_status(job_id).state.finished

    # When cancelled / Then the job is gone and its GET answers 404
    adapter.cancel_task(job_id)
    assert job_id not in sandbox.jobs
    with pytest.raises(VendorRejected) as caught:
        adapter.get_status(job_id)
    assert caught.value.code == "MSS.00000004"
    # And a retried cancel is not an error, and nothing is listed
    adapter.cancel_task(job_id)
    assert adapter.list_voices() == []


def test_a_job_not_yet_committed_is_cancelled_too(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    # Given a job created but never uploaded or committed / When cancelled / Then it is gone
    created = adapter.call("POST", "/user/basic-jobs", {"voice_name": "v", "create_type": "PACKAGE"})
    adapter.cancel_task(created["job_id"])
    assert sandbox.jobs == {}


def test_a_delete_huawei_refuses_during_training_is_a_rejection_with_its_code(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given a Huawei that refuses to delete a job while it trains (the docs do not say which it does)
    sandbox.config.training_seconds = 30
    sandbox.config.refuse_delete_while_training = True
    job_id = adapter.create_task(prepared(adapter), LetteredAudio())

    # When cancelled / Then Huawei's code and message, and the job is still there
    with pytest.raises(VendorRejected) as caught:
        adapter.cancel_task(job_id)
    assert caught.value.code == "MSS.00000007" and "cannot be deleted" in caught.value.message
    assert job_id in sandbox.jobs


def test_rename_is_not_supported(sandbox: HuaweiSandbox, adapter: HuaweiAdapter) -> None:
    with pytest.raises(VendorRejected) as caught:
        adapter.rename_voice(VendorVoice(vendor="huawei", voice_id="asset"), "新名字")
    assert caught.value.code == "NotSupported"
    assert sandbox.requests == {}


def test_uploads_need_the_signed_content_type_a_valid_token_and_no_api_auth(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given a job created through the signed API (nothing uploaded yet)
    created = adapter.call("POST", "/user/basic-jobs", {"voice_name": "v", "create_type": "PACKAGE"})
    url = created["training_data_uploading_url"]

    # When the zip is PUT wrongly / Then OBS-style refusals
    assert (
        httpx.put(url, content=b"zip", headers={"Content-Type": "application/octet-stream"}).status_code
        == 403
    )
    assert (
        httpx.put(url.split("?")[0], content=b"zip", headers={"Content-Type": "application/zip"}).status_code
        == 403
    )
    signed = {"Content-Type": "application/zip", "Authorization": "SDK-HMAC-SHA256 Access=x"}
    assert httpx.put(url, content=b"zip", headers=signed).status_code == 400

    # And a commit before both uploads is refused
    with pytest.raises(VendorRejected) as caught:
        adapter.call("POST", f"/user/jobs/{created['job_id']}", {})
    assert "upload" in caught.value.message


def test_a_repeated_query_key_signed_as_sent_is_accepted(
    sandbox: HuaweiSandbox, adapter: HuaweiAdapter
) -> None:
    # Given one finished job, and a listing whose query repeats `state`, signed over both pairs
    job_id = adapter.create_task(prepared(adapter), LetteredAudio())
    finished(adapter, job_id)
    path = f"/v1/{DEFAULT_PROJECT_ID}/voice-training-manage/user/jobs"
    query = [("state", "SUCCEED"), ("state", "FAILED")]
    host = sandbox.url.removeprefix("http://")
    headers = {"Host": host, "X-Sdk-Date": signer.sdk_date(), "X-Project-Id": DEFAULT_PROJECT_ID}
    headers["Authorization"] = signer.sign(
        access_key=DEFAULT_ACCESS_KEY,
        secret_key=DEFAULT_SECRET_KEY,
        method="GET",
        path=path,
        headers=headers,
        query=query,
    )

    # When it is sent with both pairs, and again with only the last one
    accepted = httpx.get(f"{sandbox.url}{path}?state=SUCCEED&state=FAILED", headers=headers)
    one_pair = httpx.get(f"{sandbox.url}{path}?state=FAILED", headers=headers)

    # Then the signature covers every pair, and the listing honours every value of the key
    assert accepted.status_code == 200, accepted.text
    assert [job["job_id"] for job in accepted.json()["jobs"]] == [job_id]
    assert one_pair.status_code == 401 and one_pair.json()["error_code"] == "APIGW.0301"
