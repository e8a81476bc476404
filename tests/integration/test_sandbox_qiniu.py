"""The real Qiniu adapter against the Qiniu sandbox over HTTP: slots, audio by URL, training, faults."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState, TrainingStatus
from voiceclone.vendors.qiniu import PAID_SLOT_MESSAGE, QiniuAdapter, slot_name
from voiceclone_local.sandboxes.qiniu import DEFAULT_API_KEY, QiniuSandbox, QiniuSandboxConfig

from tests.helpers import LocalAudioSource, wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
TEXT_IDS = [f"{n:05d}" for n in range(1, 7)]


@pytest.fixture
def sandbox() -> Iterator[QiniuSandbox]:
    server = QiniuSandbox(QiniuSandboxConfig(api_key=DEFAULT_API_KEY, training_seconds=0.3)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def adapter(sandbox: QiniuSandbox) -> QiniuAdapter:
    return QiniuAdapter(sandbox.url, DEFAULT_API_KEY)


@pytest.fixture(scope="module")
def audio() -> Iterator[LocalAudioSource]:
    """Served once for the module: the file never changes, and each server takes a moment to stop."""
    source = LocalAudioSource(SAMPLES, TEXT_IDS)
    try:
        yield source
    finally:
        source.close()


def training_request(**options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=uuid.uuid4().hex,
        session_id=uuid.uuid4().hex,
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id=t, s3_key=f"jobs/{t}.wav") for t in TEXT_IDS],
        options=options,
    )


def prepared(adapter: QiniuAdapter) -> TrainingRequest:
    """A job's request with its slot chosen, as the workflow passes it to create_task."""
    request = training_request()
    return request.model_copy(update={"options": adapter.prepare_options(request)})


def finished(adapter: QiniuAdapter, task_id: str) -> TrainingStatus:
    return wait_for(
        lambda: (s := adapter.get_status(task_id)).state.finished and s,
        timeout=10,
        interval=0.05,
        what="training to finish",
    )


def raw(sandbox: QiniuSandbox, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request straight to the sandbox (not through the adapter), answering the envelope."""
    response = httpx.request(
        method,
        sandbox.url + path,
        json=body,
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        timeout=10,
    )
    envelope: dict[str, Any] = response.json()
    assert envelope["reqid"]
    return envelope


class Unreachable:
    """An assembled file at a URL where nothing listens (a port taken and let go again)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{probe.getsockname()[1]}/voice.wav"

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        raise AssertionError("read")

    def document(self, name: str) -> bytes:
        raise AssertionError("read")

    def assembled_url(self) -> str:
        return self.url


# ----- the happy path ------------------------------------------------------------------------


def test_a_full_clone_succeeds(adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource) -> None:
    # Given a job with six recorded sentences (about 50 s once assembled)
    request = training_request()

    # When its slot is prepared, training is started and polled to the end
    options = adapter.prepare_options(request)
    request = request.model_copy(update={"options": options})
    task_id = adapter.create_task(request, audio)
    status = finished(adapter, task_id)

    # Then the clone succeeded with the slot as the voice, trained once from the downloaded audio
    assert task_id == options["voice_id"]
    assert status.state is TrainingState.SUCCEEDED and status.vendor_state == "Success"
    assert status.voice is not None
    assert status.voice.details == {"voice_id": task_id, "name": slot_name(request.job_id)}
    assert sandbox.tasks_created == 1
    slot = sandbox.slots[task_id]
    assert (slot.language, slot.tier) == ("zh", "free")
    # And the account lists it as a successful voice
    assert [(v.voice_id, v.details["state"]) for v in adapter.list_voices()] == [(task_id, "Success")]


def test_a_repeated_prepare_reuses_the_slot_and_another_job_never_takes_it(
    adapter: QiniuAdapter, sandbox: QiniuSandbox
) -> None:
    # Given a job whose slot was prepared, and the prepare repeated (its answer was lost)
    request = training_request()
    first = adapter.prepare_options(request)
    assert adapter.prepare_options(request) == first

    # When another job prepares while the first never trained its slot (it failed before training)
    second = adapter.prepare_options(training_request())

    # Then the repeated prepare reused the job's own slot, and the other job got a slot of its own:
    # a slot another job named is never claimed, so concurrent jobs cannot race for one
    assert second != first
    assert sandbox.requests["POST /v1/voice-clones"] == 2
    assert len(sandbox.slots) == 2


# ----- errors and faults ---------------------------------------------------------------------


@pytest.mark.parametrize("as_http_status", [True, False], ids=["http-status", "in-200-body"])
def test_a_wrong_key_is_an_auth_error_with_the_code(sandbox: QiniuSandbox, as_http_status: bool) -> None:
    # Given a sandbox that sends codes as HTTP statuses, or only inside a 200 body
    sandbox.config.errors_as_http_status = as_http_status
    wrong = QiniuAdapter(sandbox.url, "not-the-key")

    # When a request is made with the wrong key / Then Qiniu's 401 as an auth error
    with pytest.raises(VendorAuthError) as info:
        wrong.list_voices()
    assert info.value.code == "401"
    assert info.value.details["request_id"]


@pytest.mark.parametrize(("as_http_status", "code"), [(True, "429"), (False, "429")])
def test_throttling_is_retryable_and_the_retry_succeeds(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource, as_http_status: bool, code: str
) -> None:
    # Given a job ready to train and the next request throttled
    request = prepared(adapter)
    sandbox.config.errors_as_http_status = as_http_status
    sandbox.config.throttle_first = 1

    # When training is started / Then throttled, retryable
    with pytest.raises(VendorThrottled) as info:
        adapter.create_task(request, audio)
    assert info.value.code == code and info.value.retryable

    # And the retry starts the training, once
    assert adapter.create_task(request, audio) == request.options["voice_id"]
    assert finished(adapter, request.options["voice_id"]).state is TrainingState.SUCCEEDED
    assert sandbox.tasks_created == 1


def test_an_internal_error_is_retryable(adapter: QiniuAdapter, sandbox: QiniuSandbox) -> None:
    # Given one injected server error / When listing twice / Then unavailable, then an answer
    sandbox.config.internal_error_first = 1
    with pytest.raises(VendorUnavailable) as info:
        adapter.list_voices()
    assert info.value.code == "500"
    assert adapter.list_voices() == []


def test_a_failed_training_gives_the_reason(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource
) -> None:
    # Given training configured to fail
    sandbox.config.fail_training = "音色训练失败：音频质量不合格"

    # When a job is trained / Then FAILED with Qiniu's reason
    status = finished(adapter, adapter.create_task(prepared(adapter), audio))
    assert (status.state, status.vendor_state) == (TrainingState.FAILED, "Failed")
    assert (status.error_code, status.error_message) == ("TrainingFailed", "音色训练失败：音频质量不合格")
    assert status.voice is None


@pytest.mark.parametrize(
    ("clip", "problem"),
    [
        (wav_bytes(seconds=12.0, amplitude=0.0), "silent"),
        (wav_bytes(seconds=3.0), "at least 10 s"),
        (wav_bytes(seconds=12.0, rate=8000), "8000 Hz"),
    ],
    ids=["silent", "too-short", "8khz"],
)
def test_an_unusable_assembled_file_fails_training_with_a_reason_naming_it(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, tmp_path: Path, clip: bytes, problem: str
) -> None:
    # Given an assembled recording that cannot make a voice
    (tmp_path / "00001.wav").write_bytes(clip)
    bad = LocalAudioSource(tmp_path, ["00001"])
    try:
        # When it is trained
        status = finished(adapter, adapter.create_task(prepared(adapter), bad))
    finally:
        bad.close()

    # Then the training started, then failed with a reason that names the problem
    assert sandbox.tasks_created == 1
    assert status.state is TrainingState.FAILED
    assert problem in status.error_message


def test_an_unreachable_audio_url_is_rejected_and_trains_nothing(
    adapter: QiniuAdapter, sandbox: QiniuSandbox
) -> None:
    # Given an audio URL where nothing listens / When training is started
    request = prepared(adapter)
    with pytest.raises(VendorRejected) as info:
        adapter.create_task(request, Unreachable())

    # Then Qiniu's 400 saying the audio could not be fetched, and the slot is still untrained
    assert info.value.code == "400"
    assert "cannot fetch the audio" in info.value.message
    assert sandbox.tasks_created == 0
    assert adapter.find_existing_task(request) is None


def test_a_lost_create_response_is_found_and_not_trained_twice(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource
) -> None:
    # Given a job ready to train, and the answer to the PUT that starts training about to be lost
    request = prepared(adapter)
    sandbox.config.drop_create_response_first = 1

    # When training is started / Then the caller sees a retryable failure
    with pytest.raises(VendorUnavailable):
        adapter.create_task(request, audio)

    # And the retry finds the training the lost PUT started: one training, and a repeated create adds none
    assert adapter.find_existing_task(request) == request.options["voice_id"]
    assert sandbox.tasks_created == 1
    assert adapter.create_task(request, audio) == request.options["voice_id"]
    assert sandbox.tasks_created == 1
    assert finished(adapter, request.options["voice_id"]).state is TrainingState.SUCCEEDED


def test_a_paid_slot_cannot_be_deleted_and_a_free_one_can(
    adapter: QiniuAdapter, sandbox: QiniuSandbox
) -> None:
    # Given a pro slot made in the console and a free slot of ours
    pro_id = raw(sandbox, "POST", "/v1/voice-clones", {"language": "ja", "tier": "pro"})["data"]["id"]
    free_id = prepared(adapter).options["voice_id"]

    # When the pro slot is deleted / Then a rejection that says why, and the slot is still there
    listed = {v.voice_id: v for v in adapter.list_voices()}
    with pytest.raises(VendorRejected) as info:
        adapter.delete_voice(listed[pro_id])
    assert (info.value.code, info.value.message) == ("403", PAID_SLOT_MESSAGE)
    assert pro_id in sandbox.slots

    # And the free slot is deleted; deleting it again is not an error
    adapter.delete_voice(listed[free_id])
    adapter.delete_voice(listed[free_id])
    assert [v.voice_id for v in adapter.list_voices()] == [pro_id]


# ----- rename, delete and cancel -------------------------------------------------------------


def test_a_trained_voice_is_renamed_without_training_again(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource
) -> None:
    # Given a trained voice, as get_status gave it
    task_id = adapter.create_task(prepared(adapter), audio)
    voice = finished(adapter, task_id).voice
    assert voice is not None and voice.voice_id == task_id

    # When renamed with 20 characters
    puts = sandbox.requests["PUT /v1/voice-clones/{id}"]
    adapter.rename_voice(voice, "温柔的女声" * 4)

    # Then the new name shows in GET and in the listing, still Success, and nothing was trained again
    status = adapter.get_status(task_id)
    assert (status.state, status.vendor_state) == (TrainingState.SUCCEEDED, "Success")
    assert status.voice is not None and status.voice.details["name"] == "温柔的女声" * 4
    assert raw(sandbox, "GET", f"/v1/voice-clones/{task_id}")["data"]["name"] == "温柔的女声" * 4
    assert [v.details["name"] for v in adapter.list_voices()] == ["温柔的女声" * 4]
    assert sandbox.tasks_created == 1 and sandbox.requests["PUT /v1/voice-clones/{id}"] == puts + 1


def test_renaming_while_training_does_not_restart_or_finish_it(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource
) -> None:
    # Given a slot in training
    sandbox.config.training_seconds = 30
    task_id = adapter.create_task(prepared(adapter), audio)
    task = sandbox.slots[task_id].task
    # When renamed / Then still Training on the same simulated task, renamed
    adapter.rename_voice(VendorVoice(vendor="qiniu", voice_id=task_id), "新名字")
    assert adapter.get_status(task_id).vendor_state == "Training"
    assert sandbox.slots[task_id].task is task and sandbox.slots[task_id].name == "新名字"
    assert sandbox.tasks_created == 1


def test_a_name_too_long_is_rejected_without_a_request(adapter: QiniuAdapter, sandbox: QiniuSandbox) -> None:
    voice_id = prepared(adapter).options["voice_id"]
    puts = sandbox.requests["PUT /v1/voice-clones/{id}"]
    with pytest.raises(VendorRejected) as info:
        adapter.rename_voice(VendorVoice(vendor="qiniu", voice_id=voice_id), "x" * 21)
    assert info.value.code == "NameTooLong" and "20" in info.value.message
    assert sandbox.requests["PUT /v1/voice-clones/{id}"] == puts


def test_renaming_a_deleted_voice_is_its_404(adapter: QiniuAdapter) -> None:
    voice = VendorVoice(vendor="qiniu", voice_id=prepared(adapter).options["voice_id"])
    adapter.delete_voice(voice)
    with pytest.raises(VendorRejected) as info:
        adapter.rename_voice(voice, "新名字")
    assert info.value.code == "404"


@pytest.mark.parametrize("as_http_status", [True, False], ids=["http-status", "in-200-body"])
def test_cancel_during_training_deletes_the_slot(
    adapter: QiniuAdapter, sandbox: QiniuSandbox, audio: LocalAudioSource, as_http_status: bool
) -> None:
    # Given a job whose slot is training (for a long while)
    sandbox.config.errors_as_http_status = as_http_status
    sandbox.config.training_seconds = 30
    task_id = adapter.create_task(prepared(adapter), audio)
    assert adapter.get_status(task_id).vendor_state == "Training"

    # When the task is cancelled
    adapter.cancel_task(task_id)

    # Then the slot is gone: its GET is a 404, the account no longer lists it
    assert task_id not in sandbox.slots
    with pytest.raises(VendorRejected) as info:
        adapter.get_status(task_id)
    assert info.value.code == "404"
    assert adapter.list_voices() == []
    # And cancelling again (a retry) is not an error
    adapter.cancel_task(task_id)


def test_keys_and_audio_urls_stay_out_of_the_logs(
    adapter: QiniuAdapter, audio: LocalAudioSource, caplog: pytest.LogCaptureFixture
) -> None:
    # Given every logger at DEBUG / When a job is trained
    caplog.set_level(logging.DEBUG)
    finished(adapter, adapter.create_task(prepared(adapter), audio))
    # Then the key was logged nowhere, and the audio URL (a presigned URL in AWS) not by our code
    assert DEFAULT_API_KEY not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("voiceclone")]
    assert ours and not any(audio.assembled_url() in line for line in ours)


# ----- the sandbox's validations (the current doc revision) ----------------------------------


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ({"key": ""}, "name is required"),
        ({"key": "", "name": "  "}, "name is required"),
        ({"key": "", "name": "名" * 21}, "at most 20 characters"),
        ({"key": "", "name": "ok", "language": "en"}, "language of a voice is fixed"),
        ({"key": "ftp://host/a.wav", "name": "ok"}, "http(s) URL"),
        ({"key": 5, "name": "ok"}, "key must be a string"),
    ],
    ids=["no-name", "blank-name", "long-name", "language-change", "bad-url", "key-type"],
)
def test_put_validates_its_body(sandbox: QiniuSandbox, body: dict[str, Any], msg: str) -> None:
    # Given a free zh slot / When PUT with one bad field / Then 400 saying which
    voice_id = raw(sandbox, "POST", "/v1/voice-clones", {"language": "zh", "tier": "free"})["data"]["id"]
    envelope = raw(sandbox, "PUT", f"/v1/voice-clones/{voice_id}", body)
    assert envelope["code"] == 400 and msg in envelope["msg"]
    assert sandbox.tasks_created == 0


def test_a_twenty_character_name_renames_without_training(sandbox: QiniuSandbox) -> None:
    # Given a new slot with the default name / When renamed with 20 characters and no key
    created = raw(sandbox, "POST", "/v1/voice-clones", {})["data"]
    renamed = raw(sandbox, "PUT", f"/v1/voice-clones/{created['id']}", {"key": "", "name": "声" * 20})["data"]
    # Then the current doc's defaults and shape, the new name, and still Init
    assert created["name"] == "复刻音色-" + created["id"][-5:]
    assert (created["language"], created["tier"], created["state"]) == ("zh", "free", "Init")
    assert set(created) == {"id", "name", "language", "demo_url", "state", "tier"}
    assert (renamed["name"], renamed["state"]) == ("声" * 20, "Init")
    assert sandbox.tasks_created == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"language": "ja", "tier": "free"}, 400),
        ({"language": "ja", "tier": "pro"}, 0),
        ({"tier": "gold"}, 400),
        ({"model_id": "QN_ACV"}, 0),
    ],
    ids=["free-ja", "pro-ja", "bad-tier", "old-model-id"],
)
def test_create_validates_language_and_tier(sandbox: QiniuSandbox, body: dict[str, Any], code: int) -> None:
    # Given a create body / When sent / Then languages follow the tier; the old model_id is harmless
    assert raw(sandbox, "POST", "/v1/voice-clones", body)["code"] == code


def test_an_unknown_voice_is_404(sandbox: QiniuSandbox, adapter: QiniuAdapter) -> None:
    # Given an id nobody created / When read through the adapter / Then Qiniu's 404 as a rejection
    assert raw(sandbox, "GET", "/v1/voice-clones/nope")["code"] == 404
    with pytest.raises(VendorRejected) as info:
        adapter.get_status("nope")
    assert info.value.code == "404"


def test_an_unauthenticated_request_does_not_use_up_a_fault(
    sandbox: QiniuSandbox, adapter: QiniuAdapter
) -> None:
    # Given one throttled request armed / When a request with a wrong key comes first
    sandbox.config.throttle_first = 1
    with pytest.raises(VendorAuthError):
        QiniuAdapter(sandbox.url, "wrong").list_voices()
    # Then the throttle still applies to the next authenticated request
    with pytest.raises(VendorThrottled):
        adapter.list_voices()


def test_stop_before_start_releases_the_port() -> None:
    # Given a sandbox never started / When stopped (twice) / Then it returns
    sandbox = QiniuSandbox()
    sandbox.stop()
    sandbox.stop()


def test_the_config_does_not_show_the_key() -> None:
    assert DEFAULT_API_KEY not in repr(QiniuSandboxConfig(api_key=DEFAULT_API_KEY))
