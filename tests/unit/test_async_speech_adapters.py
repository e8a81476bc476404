"""The async vendors' synthesis calls against recorded answers: the exact request, job states, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from voiceclone.domain.audio import wav_file
from voiceclone.domain.errors import VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.vendors.huawei import HuaweiAdapter
from voiceclone.vendors.signing import huawei as signer
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisState
from voiceclone.vendors.tencent_gateway import TencentGatewayAdapter, speech_destination

from tests.unit.conftest import Recorder

WAV = wav_file(16000, b"\x10\x20" * 16000)  # one second


def request(**fields: Any) -> SynthesisRequest:
    return SynthesisRequest(**{"text": "你好，世界。", "format": "wav", "sample_rate": 16000, **fields})


# ----- Tencent gateway: CreateJob type 1, GetJob -------------------------------------------------------


def gateway(answer: Any, **settings: str) -> tuple[TencentGatewayAdapter, Recorder]:
    recorder = Recorder(answer)
    options = {"content_id": "repo-1", "output_url": "https://bucket.cos.example/repo-1/", **settings}
    adapter = TencentGatewayAdapter(
        "https://gw.example", "sid", "skey", transport=recorder.transport, **options
    )
    return adapter, recorder


def job(state: int, **extra: Any) -> dict[str, Any]:
    output = {
        "contentId": "repo-1",
        "destination": "/voiceclone/abc",
        "inputSelectors": [0],
        "smartContentDescriptor": {"voiceCloning": {"type": 1, "modelName": "vc_1"}},
    }
    return {"id": "job-1", "state": state, "outputs": [output], **extra}


def test_the_gateway_generates_audio_with_create_job_type_1_and_the_model_name() -> None:
    adapter, recorder = gateway(lambda r: (200, {"requestId": "r1", "createJobResponse": {"job": job(1)}}))
    started = adapter.start_synthesis(adapter.voice("vc_1", modelName="vc_1"), request(), tag="sp-1-0")
    body = json.loads(recorder.requests[0].content)
    assert body == {
        "action": "CreateJob",
        "secretId": "sid",
        "secretKey": "skey",
        "createJobRequest": {
            "customId": "sp-1-0",
            "inputs": [{"sourceData": "你好，世界。"}],
            "outputs": [
                {
                    "contentId": "repo-1",
                    "destination": speech_destination("sp-1-0"),
                    "inputSelectors": [0],
                    "smartContentDescriptor": {"voiceCloning": {"type": 1, "modelName": "vc_1"}},
                }
            ],
        },
    }
    assert recorder.requests[0].url.path == "/release/job"
    assert started.job_id == "job-1" and started.state is SynthesisState.RUNNING


def test_a_completed_generation_job_points_at_its_file_and_an_error_keeps_the_reason() -> None:
    done = job(3)
    done["outputs"][0]["smartContentResult"] = {"voiceCloning": {"voiceName": "out.wav"}}
    adapter, recorder = gateway(lambda r: (200, {"getJobResponse": {"job": done}}))
    found = adapter.get_synthesis("job-1")
    assert json.loads(recorder.requests[0].content)["getJobRequest"] == {"id": "job-1"}
    assert found.state is SynthesisState.SUCCEEDED
    assert found.audio_url == "https://bucket.cos.example/repo-1/voiceclone/abc/out.wav"
    failed = job(4, error={"code": "TextInvalid", "message": "unsupported characters"})
    adapter, _ = gateway(lambda r: (200, {"getJobResponse": {"job": failed}}))
    ended = adapter.get_synthesis("job-1")
    assert (ended.state, ended.error_code, ended.error_message) == (
        SynthesisState.FAILED,
        "TextInvalid",
        "unsupported characters",
    )
    adapter, _ = gateway(lambda r: (200, {"getJobResponse": {"job": job(2)}}))
    assert adapter.get_synthesis("job-1").state is SynthesisState.RUNNING


def test_the_gateway_refuses_speech_without_its_repository_and_classifies_throttling() -> None:
    adapter, recorder = gateway(lambda r: (200, {}), content_id="", output_url="")
    with pytest.raises(VendorRejected) as caught:
        adapter.start_synthesis(adapter.voice("vc_1"), request(), tag="t")
    assert caught.value.code == "SpeechNotConfigured" and recorder.requests == []
    adapter, _ = gateway(lambda r: (429, {"error": {"code": "RequestLimitExceeded", "message": "slow"}}))
    with pytest.raises(VendorThrottled):
        adapter.start_synthesis(adapter.voice("vc_1"), request(), tag="t")


# ----- Huawei: ttsc/async-jobs --------------------------------------------------------------------------

PROJECT = "proj-1"


def huawei(answer: Any) -> tuple[HuaweiAdapter, Recorder]:
    recorder = Recorder(answer)
    adapter = HuaweiAdapter("https://metastudio.example", PROJECT, "AK1", "SK1", transport=recorder.transport)
    return adapter, recorder


def test_huawei_creates_an_async_tts_job_signed_with_the_voice_asset() -> None:
    adapter, recorder = huawei(lambda r: (200, {"job_id": "tts-1"}))
    voice = adapter.voice("asset-9", asset_id="asset-9", job_id="train-1")
    started = adapter.start_synthesis(voice, request(format="mp3", speed=1.5), tag="t")
    sent = recorder.requests[0]
    assert sent.method == "POST" and sent.url.path == f"/v1/{PROJECT}/ttsc/async-jobs"
    assert json.loads(sent.content) == {
        "text": "你好，世界。",
        "voice_asset_id": "asset-9",
        "audio_format": "MP3",
        "speed": 150,
    }
    parsed = signer.parse_authorization(sent.headers["Authorization"])
    assert parsed is not None and parsed.access_key == "AK1"
    assert sent.headers["X-Project-Id"] == PROJECT
    assert started == SynthesisJob(job_id="tts-1")


@pytest.mark.parametrize(
    ("answer", "state", "url", "code"),
    [
        ({"state": "WAITING"}, SynthesisState.RUNNING, "", ""),
        ({"state": "PROCESSING"}, SynthesisState.RUNNING, "", ""),
        ({"state": "SUCCEED", "audio_file_url": "https://obs.example/a.wav"}, SynthesisState.SUCCEEDED,
         "https://obs.example/a.wav", ""),
        ({"state": "FAILED", "code": "MSS.1", "message": "bad text"}, SynthesisState.FAILED, "", "MSS.1"),
        ({"state": "SUCCEED"}, SynthesisState.FAILED, "", "NoAudioUrl"),
    ],
)  # fmt: skip
def test_huawei_reads_the_tts_jobs_state(
    answer: dict[str, Any], state: SynthesisState, url: str, code: str
) -> None:
    adapter, recorder = huawei(lambda r: (200, {"job_id": "tts-1", **answer}))
    found = adapter.get_synthesis("tts-1")
    assert recorder.requests[0].url.path == f"/v1/{PROJECT}/ttsc/async-jobs/tts-1"
    assert (found.state, found.audio_url, found.error_code) == (state, url, code)


def test_huawei_refuses_a_speed_it_cannot_make_and_maps_its_errors() -> None:
    adapter, recorder = huawei(lambda r: (200, {"job_id": "x"}))
    with pytest.raises(VendorRejected):
        adapter.start_synthesis(adapter.voice("a"), request(speed=3.0), tag="t")
    assert recorder.requests == []
    adapter, _ = huawei(lambda r: (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}))
    with pytest.raises(VendorThrottled):
        adapter.get_synthesis("tts-1")
    adapter, _ = huawei(lambda r: (400, {"error_code": "MSS.10001001", "error_msg": "Asset not found"}))
    with pytest.raises(VendorRejected) as caught:
        adapter.start_synthesis(adapter.voice("a"), request(), tag="t")
    assert caught.value.code == "MSS.10001001"


# ----- the shared download of a finished job's audio -----------------------------------------------------


def test_a_finished_jobs_audio_is_fetched_plainly_and_its_wav_rate_read() -> None:
    def files(r: httpx.Request) -> httpx.Response:
        if r.url.path == "/a.wav":
            return httpx.Response(200, content=WAV)
        if r.url.path == "/busy.wav":
            return httpx.Response(503, text="busy")
        return httpx.Response(403, text="<Error>AccessDenied</Error>")

    adapter, recorder = huawei(files)
    done = SynthesisJob(job_id="tts-1", state=SynthesisState.SUCCEEDED, audio_url="https://obs.example/a.wav")
    result = adapter.synthesis_audio(done, request(sample_rate=8000))
    assert result.audio == WAV and result.sample_rate == 16000  # the file's own rate
    assert "Authorization" not in recorder.requests[0].headers  # presigned: nothing of ours is sent
    with pytest.raises(VendorUnavailable):
        adapter.synthesis_audio(
            done.model_copy(update={"audio_url": "https://obs.example/busy.wav"}), request()
        )
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesis_audio(done.model_copy(update={"audio_url": "https://obs.example/x.wav"}), request())
    assert caught.value.code == "AudioUnavailable"


def test_the_gateway_finds_a_generation_job_whose_answer_was_lost_by_its_custom_id_and_folder() -> None:
    mine = job(2, customId="sp-1-0")
    mine["outputs"][0]["destination"] = speech_destination("sp-1-0")
    other = job(2, customId="sp-1-0")  # same customId (not unique), another folder: not ours
    other["id"] = "job-other"
    adapter, recorder = gateway(lambda r: (200, {"listJobsResponse": {"jobs": [other, mine], "total": 2}}))
    found = adapter.find_synthesis("sp-1-0")
    assert json.loads(recorder.requests[0].content)["listJobsRequest"] == {"customId": "sp-1-0"}
    assert found is not None and found.job_id == "job-1"
    adapter, _ = gateway(lambda r: (200, {"listJobsResponse": {"jobs": [other], "total": 1}}))
    assert adapter.find_synthesis("sp-1-0") is None


# ----- speech callbacks: the callback URL each job is given, the job id each callback names ------------

CALLBACK = "https://api.example/v1/callbacks/{vendor}/sp-1?token=secret"


def test_the_gateway_gives_the_job_its_callback_and_reads_the_whole_job_it_posts() -> None:
    adapter, recorder = gateway(lambda r: (200, {"requestId": "r1", "createJobResponse": {"job": job(1)}}))
    url = CALLBACK.format(vendor="tencent_gateway")
    adapter.start_synthesis(adapter.voice("vc_1"), request(callback_url=url), tag="sp-1-0")
    assert json.loads(recorder.requests[0].content)["createJobRequest"]["callback"] == url
    # Without one, no callback field at all
    adapter.start_synthesis(adapter.voice("vc_1"), request(), tag="sp-1-1")
    assert "callback" not in json.loads(recorder.requests[1].content)["createJobRequest"]
    # The callback body is the bare Job, or wrapped: its id, nothing trusted beyond it
    for body in (job(3), {"job": job(3)}, {"getJobResponse": {"job": job(4)}}):
        assert adapter.parse_synthesis_callback(json.dumps(body).encode()) == "job-1"
    for bad in (b"not json", b"[1]", b'{"state": 3}'):
        with pytest.raises(VendorRejected) as caught:
            adapter.parse_synthesis_callback(bad)
        assert caught.value.code == "BadCallback"


def test_huawei_gives_the_tts_job_its_callback_config_and_reads_the_job_id_it_posts() -> None:
    adapter, recorder = huawei(lambda r: (200, {"job_id": "tts-1"}))
    url = CALLBACK.format(vendor="huawei")
    adapter.start_synthesis(adapter.voice("a", asset_id="a"), request(callback_url=url), tag="t")
    assert json.loads(recorder.requests[0].content)["callback_config"] == {"callback_url": url}
    adapter.start_synthesis(adapter.voice("a", asset_id="a"), request(), tag="t")
    assert "callback_config" not in json.loads(recorder.requests[1].content)
    posted = {
        "status": "FINISHED",
        "job_id": "tts-1",
        "audio_file_download_url": "https://obs.example/a.wav",
        "audio_duration": 1.2,
    }
    assert adapter.parse_synthesis_callback(json.dumps(posted).encode()) == "tts-1"
    for bad in (b"<xml/>", b'"tts-1"', b'{"status": "ERROR"}', b'{"job_id": 7}'):
        with pytest.raises(VendorRejected) as caught:
            adapter.parse_synthesis_callback(bad)
        assert caught.value.code == "BadCallback"
