"""The real Volcengine adapter against the Volcengine sandbox over HTTP: slots, upload, training, faults."""

from __future__ import annotations

import base64
import json
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState, TrainingStatus
from voiceclone.vendors.signing import volc_v4
from voiceclone.vendors.volcengine import AUDIO_REASONS, VolcengineAdapter
from voiceclone_local.sandboxes.volcengine import (
    DEFAULT_SPEAKER_IDS,
    VolcengineSandbox,
    VolcengineSandboxConfig,
)
from volcengine.auth.SignerV4 import SignerV4  # type: ignore[import-untyped]
from volcengine.base.Request import Request  # type: ignore[import-untyped]
from volcengine.Credentials import Credentials  # type: ignore[import-untyped]

from tests.helpers import LocalAudioSource, wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
TEXT_IDS = [f"{n:05d}" for n in range(1, 21)]
LIST_QUERY = {"Action": "BatchListMegaTTSTrainStatus", "Version": "2023-11-07"}


@pytest.fixture
def sandbox() -> Iterator[VolcengineSandbox]:
    # One row per console page, so every listing walks several pages.
    server = VolcengineSandbox(
        VolcengineSandboxConfig(
            training_seconds=0.3,
            max_page_size=1,
            appid="2100000001",
            access_token="sandbox-volcengine-access-token",
            access_key_id="AKLTsandboxvoiceclone000000000",
            secret_access_key="sandbox-volcengine-secret-access-key",
            speaker_ids=list(DEFAULT_SPEAKER_IDS),
        )
    ).start()
    try:
        yield server
    finally:
        server.stop()


def adapter_for(sandbox: VolcengineSandbox, **overrides: Any) -> VolcengineAdapter:
    config = sandbox.config
    settings: dict[str, Any] = {
        "endpoint": sandbox.url,
        "console_endpoint": sandbox.url,
        "appid": config.appid,
        "access_token": config.access_token,
        "access_key_id": config.access_key_id,
        "secret_access_key": config.secret_access_key,
        "speaker_ids": config.speaker_ids,
        **overrides,
    }
    return VolcengineAdapter(**settings)


@pytest.fixture
def adapter(sandbox: VolcengineSandbox) -> VolcengineAdapter:
    return adapter_for(sandbox)


@pytest.fixture(scope="module")
def audio() -> LocalAudioSource:
    """The 20 sample sentences; the assembled WAV (about 5.6 MB) is what is uploaded."""
    return LocalAudioSource(SAMPLES, TEXT_IDS)


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


def prepared(adapter: VolcengineAdapter, **options: str) -> TrainingRequest:
    """A job's request with its slot chosen, as the workflow passes it to create_task."""
    request = training_request(**options)
    return request.model_copy(update={"options": adapter.prepare_options(request)})


def finished(adapter: VolcengineAdapter, task_id: str) -> TrainingStatus:
    return wait_for(
        lambda: s if (s := adapter.get_status(task_id)).state.finished else None,
        timeout=10,
        interval=0.05,
        what="training to finish",
    )


def speech(sandbox: VolcengineSandbox, path: str, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    """One data-plane request straight to the sandbox (not through the adapter)."""
    sent = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer;{sandbox.config.access_token}",
        "Resource-Id": "seed-icl-1.0",
        **headers,
    }
    response = httpx.post(sandbox.url + path, content=json.dumps(body).encode(), headers=sent, timeout=10)
    return response.status_code, response.json()


def upload_body(sandbox: VolcengineSandbox, wav: bytes, **fields: Any) -> dict[str, Any]:
    return {
        "appid": sandbox.config.appid,
        "speaker_id": DEFAULT_SPEAKER_IDS[0],
        "audios": [{"audio_bytes": base64.b64encode(wav).decode(), "audio_format": "wav"}],
        "source": 2,
        "language": 0,
        "model_type": 1,
        "extra_params": "{}",
        **fields,
    }


# ----- the happy path ------------------------------------------------------------------------


def test_a_full_clone_trains_a_pool_slot_to_a_usable_voice(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given a job whose slot the adapter picks from the pool (the console listing spans three pages)
    request = prepared(adapter)
    speaker_id = request.options["speaker_id"]
    assert speaker_id in DEFAULT_SPEAKER_IDS

    # When the 20 sentences are uploaded and the status polled until training ends
    task_id = adapter.create_task(request, audio)
    result = finished(adapter, task_id)

    # Then the slot holds a voice TTS can use, made by exactly one upload
    assert task_id == speaker_id
    assert result.state is TrainingState.SUCCEEDED and result.vendor_state == "Success"
    assert result.voice is not None and result.voice.voice_id == speaker_id
    assert result.voice.details == {
        "speaker_id": speaker_id,
        "cluster": "volcano_icl",
        "resource_id": "seed-icl-1.0",
    }
    assert sandbox.tasks_created == 1 and sandbox.uploads_by_speaker == {speaker_id: 1}
    assert [v.voice_id for v in adapter.list_voices()] == [speaker_id]
    assert sandbox.requests["POST /?Action=BatchListMegaTTSTrainStatus"] >= 3


def test_the_next_job_gets_another_slot_and_an_activated_voice_still_counts_as_usable(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given a slot that was trained and then activated in the console
    first = adapter.create_task(prepared(adapter), audio)
    finished(adapter, first)
    sandbox.activate(first)

    # When another job prepares / Then it is given a different, free slot
    second = prepared(adapter).options["speaker_id"]
    assert second != first

    # And the activated voice (status 4) is a success, as 2 is
    status = adapter.get_status(first)
    assert status.state is TrainingState.SUCCEEDED and status.vendor_state == "Active"


# ----- authentication ------------------------------------------------------------------------


def test_a_wrong_token_is_an_auth_error(sandbox: VolcengineSandbox, audio: LocalAudioSource) -> None:
    # Given an adapter with the wrong access token
    adapter = adapter_for(sandbox, access_token="not-the-token")

    # When it uploads / Then the configuration is blamed and nothing is spent
    with pytest.raises(VendorAuthError):
        adapter.create_task(training_request(speaker_id=DEFAULT_SPEAKER_IDS[0]), audio)
    assert sandbox.tasks_created == 0 and sandbox.uploads_by_speaker == {}


@pytest.mark.parametrize("header", ["Bearer;{token}", "Bearer; {token}"])
def test_bearer_semicolon_token_is_accepted_with_or_without_a_space(
    sandbox: VolcengineSandbox, header: str
) -> None:
    # Given the right token as the doc's HTTP demo writes it, and as its prose and WebSocket demo do
    value = header.format(token=sandbox.config.access_token)

    # When the status is asked with it / Then it is answered
    status, body = speech(
        sandbox,
        "/api/v1/mega_tts/status",
        {"appid": sandbox.config.appid, "speaker_id": DEFAULT_SPEAKER_IDS[0]},
        Authorization=value,
    )
    assert status == 200 and body["BaseResp"]["StatusCode"] == 0


@pytest.mark.parametrize("header", ["Bearer {token}", "bearer;{token}", "{token}", "Bearer;"])
def test_other_token_shapes_are_refused(sandbox: VolcengineSandbox, header: str) -> None:
    # Given the right token in shapes the doc never shows
    value = header.format(token=sandbox.config.access_token)

    # When the status is asked with it / Then HTTP 401 with a non-zero StatusCode
    status, body = speech(
        sandbox,
        "/api/v1/mega_tts/status",
        {"appid": sandbox.config.appid, "speaker_id": DEFAULT_SPEAKER_IDS[0]},
        Authorization=value,
    )
    assert status == 401 and body["BaseResp"]["StatusCode"] != 0


def test_resource_id_is_required_and_must_be_granted(sandbox: VolcengineSandbox) -> None:
    # Given status requests without a Resource-Id, and with one the token does not cover
    body = {"appid": sandbox.config.appid, "speaker_id": DEFAULT_SPEAKER_IDS[0]}
    missing = httpx.post(
        sandbox.url + "/api/v1/mega_tts/status",
        json=body,
        headers={"Authorization": f"Bearer;{sandbox.config.access_token}"},
    )
    status, refused = speech(sandbox, "/api/v1/mega_tts/status", body, **{"Resource-Id": "seed-tts-9.9"})

    # When answered / Then the first is a bad request and the second forbidden
    assert missing.status_code == 400 and missing.json()["BaseResp"]["StatusCode"] == 1001
    assert status == 403 and refused["BaseResp"]["StatusCode"] != 0


def test_a_wrong_secret_key_fails_the_console_signature(sandbox: VolcengineSandbox) -> None:
    # Given an adapter signing console calls with the wrong secret
    adapter = adapter_for(sandbox, secret_access_key="wrong-secret")

    # When it looks for a free slot / Then the signature mismatch is an auth error with the request id
    with pytest.raises(VendorAuthError) as raised:
        adapter.prepare_options(training_request())
    assert raised.value.code == "SignatureDoesNotMatch" and raised.value.details["request_id"]


def test_a_wrong_access_key_id_is_named(sandbox: VolcengineSandbox) -> None:
    # Given an unknown access key id / When listing / Then InvalidAccessKey, an auth error
    with pytest.raises(VendorAuthError) as raised:
        adapter_for(sandbox, access_key_id="AKLTnobody").list_voices()
    assert raised.value.code == "InvalidAccessKey"


def test_the_sandbox_accepts_what_the_official_sdk_signs(sandbox: VolcengineSandbox) -> None:
    # Given a console request signed by the official SDK (not by our signer)
    host = sandbox.url.removeprefix("http://")
    body = json.dumps({"AppID": sandbox.config.appid, "PageNumber": 1, "PageSize": 10}).encode()
    request = Request()
    request.set_method("POST")
    request.set_path("/")
    request.set_query(OrderedDict(LIST_QUERY))
    request.set_headers(OrderedDict({"Host": host, "Content-Type": "application/json"}))
    request.set_body(body)
    config = sandbox.config
    SignerV4.sign(
        request, Credentials(config.access_key_id, config.secret_access_key, "speech_saas_prod", "cn-north-1")
    )

    # When it is sent, and again with one byte of the body changed
    url = sandbox.url + "/?" + volc_v4.canonical_query(LIST_QUERY)
    accepted = httpx.post(url, content=body, headers=dict(request.headers))
    tampered = httpx.post(url, content=body.replace(b"10", b"11"), headers=dict(request.headers))

    # Then the signed one is listed and the tampered one refused
    assert accepted.status_code == 200 and accepted.json()["Result"]["TotalCount"] == 3
    assert tampered.status_code == 401
    assert tampered.json()["ResponseMetadata"]["Error"]["Code"] == "SignatureDoesNotMatch"


def test_a_stale_x_date_is_refused(sandbox: VolcengineSandbox) -> None:
    # Given a console request signed correctly but an hour ago
    config = sandbox.config
    body = json.dumps({"AppID": config.appid}).encode()
    with mock.patch.object(volc_v4, "x_date", return_value="20200101T000000Z"):
        headers = volc_v4.signed_request_headers(
            access_key_id=config.access_key_id,
            secret_access_key=config.secret_access_key,
            host=sandbox.url.removeprefix("http://"),
            method="POST",
            path="/",
            query=LIST_QUERY,
            body=body,
        )

    # When sent / Then InvalidTimestamp, 403
    response = httpx.post(
        sandbox.url + "/?" + volc_v4.canonical_query(LIST_QUERY), content=body, headers=headers
    )
    assert response.status_code == 403
    assert response.json()["ResponseMetadata"]["Error"]["Code"] == "InvalidTimestamp"


# ----- faults --------------------------------------------------------------------------------


def test_throttling_then_success(sandbox: VolcengineSandbox, adapter: VolcengineAdapter) -> None:
    # Given the sandbox throttles the next two requests, on either plane
    sandbox.config.throttle_first = 2

    # When the adapter calls each plane once, then again
    with pytest.raises(VendorThrottled):
        adapter.get_status(DEFAULT_SPEAKER_IDS[0])
    with pytest.raises(VendorThrottled):
        adapter.list_voices()

    # Then the retries (the workflow's) go through
    assert adapter.get_status(DEFAULT_SPEAKER_IDS[0]).state is TrainingState.PENDING
    assert adapter.list_voices() == []


def test_an_internal_error_is_retryable(sandbox: VolcengineSandbox, adapter: VolcengineAdapter) -> None:
    # Given the next request fails inside the vendor / When asked / Then retryable, and the next one works
    sandbox.config.internal_error_first = 1
    with pytest.raises(VendorUnavailable):
        adapter.get_status(DEFAULT_SPEAKER_IDS[0])
    assert adapter.get_status(DEFAULT_SPEAKER_IDS[0]).vendor_state == "NotFound"


def test_failed_training_is_reported_failed(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given training that will fail
    sandbox.config.fail_training = "voice model did not converge"

    # When a job uploads and polls
    task_id = adapter.create_task(prepared(adapter), audio)
    result = finished(adapter, task_id)

    # Then the job fails, naming the slot
    assert result.state is TrainingState.FAILED and result.vendor_state == "Failed"
    assert result.error_code == "TrainingFailed" and task_id in result.error_message
    assert result.voice is None


def test_silent_audio_is_rejected_with_a_reason_the_speaker_understands(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, tmp_path: Path
) -> None:
    # Given two silent 3-second recordings (a muted microphone)
    for text_id in TEXT_IDS[:2]:
        (tmp_path / f"{text_id}.wav").write_bytes(wav_bytes(seconds=3.0, amplitude=0.0))
    silent = LocalAudioSource(tmp_path, TEXT_IDS[:2])
    request = prepared(adapter)

    # When uploaded
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(request, silent)

    # Then Volcengine's 1111 comes back as what to do, with the vendor's own words kept, and no training
    error = raised.value
    assert error.code == "1111"
    assert error.message == AUDIO_REASONS[1111] and "microphone" in error.message
    assert "silent" in error.details["vendor_message"] and error.details["request_id"]
    assert sandbox.tasks_created == 0 and sandbox.uploads_by_speaker == {request.options["speaker_id"]: 1}


def test_noise_and_script_mismatch_reasons_come_through(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given the vendor finds the recording too noisy, then not matching the script
    for code in (1112, 1109):
        sandbox.config.force_upload_status = code

        # When uploaded / Then the readable reason is the message
        with pytest.raises(VendorRejected) as raised:
            adapter.create_task(prepared(adapter), audio)
        assert (raised.value.code, raised.value.message) == (str(code), AUDIO_REASONS[code])


def test_a_lost_upload_answer_is_found_instead_of_uploaded_twice(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given the upload is performed but its answer never arrives
    sandbox.config.drop_create_response_first = 1
    request = prepared(adapter)
    with pytest.raises(VendorUnavailable):
        adapter.create_task(request, audio)

    # When the workflow asks before retrying
    found = adapter.find_existing_task(request)

    # Then the earlier upload is found, only one was made, and it trains to a voice
    assert found == request.options["speaker_id"]
    assert sandbox.tasks_created == 1 and sandbox.uploads_by_speaker == {found: 1}
    assert finished(adapter, found).state is TrainingState.SUCCEEDED


def test_a_job_that_never_uploaded_finds_nothing(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter
) -> None:
    # Given a prepared job whose upload never reached the vendor / When asked / Then None: upload again
    assert adapter.find_existing_task(prepared(adapter)) is None


def test_when_every_slot_is_trained_no_slot_is_free(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given a pool of one slot that already holds a voice
    sandbox.config.speaker_ids = [DEFAULT_SPEAKER_IDS[0]]
    adapter = adapter_for(sandbox)
    finished(adapter, adapter.create_task(prepared(adapter), audio))

    # When another job prepares / Then it is refused with what to do
    with pytest.raises(VendorRejected) as raised:
        adapter.prepare_options(training_request())
    assert raised.value.code == "NoFreeSpeakerId"
    assert "Volcengine console" in raised.value.message and "options.speaker_id" in raised.value.message


def test_a_slot_out_of_uploads_is_refused_with_1123(
    sandbox: VolcengineSandbox, adapter: VolcengineAdapter, audio: LocalAudioSource
) -> None:
    # Given a slot allowed one upload, which failed in training
    sandbox.config.uploads_per_speaker = 1
    sandbox.config.fail_training = "failed"
    request = prepared(adapter, speaker_id=DEFAULT_SPEAKER_IDS[1])
    finished(adapter, adapter.create_task(request, audio))
    sandbox.config.fail_training = None

    # When the same slot is uploaded to again / Then 1123, saying to use another slot
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(prepared(adapter, speaker_id=DEFAULT_SPEAKER_IDS[1]), audio)
    assert raised.value.code == "1123" and "use another slot" in raised.value.message

    # And the console no longer offers it as free
    assert adapter.prepare_options(training_request())["speaker_id"] != DEFAULT_SPEAKER_IDS[1]


# ----- upload validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "http_status", "code"),
    [
        ({"extra_params": {}}, 400, 1001),
        ({"model_type": "1"}, 400, 1001),
        ({"model_type": 5}, 400, 1001),
        ({"model_type": 4}, 400, 1001),  # ICL 2.0 under the seed-icl-1.0 Resource-Id
        ({"source": 1}, 400, 1001),
        ({"audios": []}, 400, 1001),
        ({"audios": [{"audio_bytes": "not base64!", "audio_format": "wav"}]}, 400, 1001),
        ({"speaker_id": "S_notours"}, 200, 1107),
        ({"appid": "999"}, 403, 1001),
    ],
)
def test_the_upload_is_validated_before_it_counts(
    sandbox: VolcengineSandbox, fields: dict[str, Any], http_status: int, code: int
) -> None:
    # Given an upload with one thing wrong
    body = upload_body(sandbox, wav_bytes(seconds=6.0), **fields)

    # When sent straight to the sandbox / Then it is refused with the code, and no upload is spent
    status, answer = speech(sandbox, "/api/v1/mega_tts/audio/upload", body)
    assert (status, answer["BaseResp"]["StatusCode"]) == (http_status, code)
    assert sandbox.uploads_by_speaker == {} and sandbox.tasks_created == 0


def test_an_upload_without_model_type_trains_the_legacy_model(sandbox: VolcengineSandbox) -> None:
    # Given an upload that names no model_type (optional, the API's default 0) under the 1.0 Resource-Id
    body = upload_body(sandbox, wav_bytes(seconds=6.0))
    del body["model_type"]

    # When sent / Then it is accepted and the slot trains
    status, answer = speech(sandbox, "/api/v1/mega_tts/audio/upload", body)
    assert (status, answer["BaseResp"]["StatusCode"]) == (200, 0)
    assert sandbox.tasks_created == 1


def test_two_audios_are_refused(sandbox: VolcengineSandbox) -> None:
    # Given an upload with two audio entries (the API takes exactly one)
    body = upload_body(sandbox, wav_bytes(seconds=6.0))
    body["audios"] = body["audios"] * 2

    # When sent / Then a bad request
    status, answer = speech(sandbox, "/api/v1/mega_tts/audio/upload", body)
    assert (status, answer["BaseResp"]["StatusCode"]) == (400, 1001)


@pytest.mark.parametrize(
    ("wav", "code"),
    [
        (b"not a wav at all", 1105),
        (wav_bytes(seconds=6.0, rate=8000), 1108),
        (wav_bytes(seconds=2.0), 1114),
    ],
)
def test_bad_audio_is_answered_with_its_code_on_http_200(
    sandbox: VolcengineSandbox, wav: bytes, code: int
) -> None:
    # Given an upload of audio Volcengine cannot use / When sent
    status, answer = speech(sandbox, "/api/v1/mega_tts/audio/upload", upload_body(sandbox, wav))

    # Then HTTP 200 with the audio code and a message, and the upload counted
    assert (status, answer["BaseResp"]["StatusCode"]) == (200, code)
    assert answer["BaseResp"]["StatusMessage"]
    assert sandbox.uploads_by_speaker == {DEFAULT_SPEAKER_IDS[0]: 1} and sandbox.tasks_created == 0


def test_a_repeated_query_key_signed_as_sent_is_accepted(sandbox: VolcengineSandbox) -> None:
    # Given a console request whose query repeats a key, signed over both values (as the gateway signs)
    config = sandbox.config
    query = {**LIST_QUERY, "Tag": ["b-second", "a-first"]}
    body = json.dumps({"AppID": config.appid}).encode()
    headers = volc_v4.signed_request_headers(
        access_key_id=config.access_key_id,
        secret_access_key=config.secret_access_key,
        host=sandbox.url.removeprefix("http://"),
        method="POST",
        path="/",
        query=query,
        body=body,
    )
    url = sandbox.url + "/?Action=BatchListMegaTTSTrainStatus&Version=2023-11-07&Tag=b-second&Tag=a-first"

    # When it is sent with both values, and again with only the last one
    accepted = httpx.post(url, content=body, headers=headers)
    one_value = httpx.post(url.replace("Tag=b-second&", ""), content=body, headers=headers)

    # Then the whole query is what is verified: accepted as signed, refused with a value missing
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["Result"]["TotalCount"] == 3
    assert one_value.status_code == 401
    assert one_value.json()["ResponseMetadata"]["Error"]["Code"] == "SignatureDoesNotMatch"
