"""The sandboxes judged by the vendors' own code: their official SDKs (or published examples) against them.

Each class starts one sandbox on its own port (no local stack) and drives it the way a
vendor's customer would: through every action voiceclone uses and every action of the
vendor's clone API, with right and wrong credentials, on a host with a port
(``127.0.0.1:PORT``). A call either works as the vendor documents it or is refused the
way the vendor refuses an action it does not offer; wrong credentials raise the SDK's
own exception with the vendor's code. Where a vendor publishes no SDK, the requests are
the ones its documentation shows (docs/vendors/<vendor>.md names them).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmetastudio.v1 import MetaStudioClient
from huaweicloudsdkmetastudio.v1 import model as hw
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tts.v20190823 import models as tts_models
from tencentcloud.tts.v20190823.tts_client import TtsClient
from tencentcloud.vrs.v20200824 import models as vrs_models
from tencentcloud.vrs.v20200824.vrs_client import VrsClient
from voiceclone_local.sandboxes.huawei import HuaweiSandbox, HuaweiSandboxConfig
from voiceclone_local.sandboxes.qiniu import QiniuSandbox, QiniuSandboxConfig
from voiceclone_local.sandboxes.tencent_gateway import TencentGatewaySandbox, TencentGatewaySandboxConfig
from voiceclone_local.sandboxes.tencent_vrs import TRAINING_TEXTS, TencentVrsSandbox, TencentVrsSandboxConfig
from voiceclone_local.sandboxes.volcengine import VolcengineSandbox, VolcengineSandboxConfig
from volcengine.ApiInfo import ApiInfo  # type: ignore[import-untyped]
from volcengine.base.Service import Service  # type: ignore[import-untyped]
from volcengine.Credentials import Credentials  # type: ignore[import-untyped]
from volcengine.ServiceInfo import ServiceInfo  # type: ignore[import-untyped]

from tests.helpers import LocalAudioSource, wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


# ----- Tencent Cloud VRS (tencentcloud-sdk-python-vrs, -tts) ------------------------------------------


def tencent_profile(url: str) -> ClientProfile:
    """The SDK pointed at the sandbox: its endpoint is ``127.0.0.1:PORT``, over plain HTTP."""
    http = HttpProfile(endpoint=url.removeprefix("http://"))
    http.scheme = "http"
    return ClientProfile(httpProfile=http)


def tencent_request(model: Any, **fields: Any) -> Any:
    model.from_json_string(json.dumps(fields))
    return model


class TestTencentVrs:
    SECRET_ID = "AKIDsdkclienttest0000000000000000"
    SECRET_KEY = "sdk-client-test-key"

    @pytest.fixture(scope="class")
    def sandbox(self) -> Iterator[TencentVrsSandbox]:
        config = TencentVrsSandboxConfig(
            secret_id=self.SECRET_ID, secret_key=self.SECRET_KEY, training_seconds=0.3
        )
        with TencentVrsSandbox(config) as running:
            yield running

    def vrs(self, sandbox: TencentVrsSandbox, secret_id: str = "", secret_key: str = "") -> VrsClient:
        credential = Credential(secret_id or self.SECRET_ID, secret_key or self.SECRET_KEY)
        return VrsClient(credential, "", tencent_profile(sandbox.url))

    @pytest.fixture(scope="class")
    def voice(self, sandbox: TencentVrsSandbox) -> dict[str, Any]:
        """A voice cloned end to end through the SDK: texts, 20 checks, a task, its status."""
        client = self.vrs(sandbox)
        texts = client.GetTrainingText(vrs_models.GetTrainingTextRequest()).Data.TrainingTextList
        assert [(t.TextId, t.Text) for t in texts] == TRAINING_TEXTS
        audio_ids = []
        for text in texts:
            audio = base64.b64encode((SAMPLES / f"{text.TextId}.wav").read_bytes()).decode()
            check = client.DetectEnvAndSoundQuality(
                tencent_request(
                    vrs_models.DetectEnvAndSoundQualityRequest(),
                    TextId=text.TextId,
                    AudioData=audio,
                    TypeId=2,
                    Codec="wav",
                    SampleRate=16000,
                )
            ).Data
            assert check.DetectionCode == 0, check.DetectionMsg
            audio_ids.append(check.AudioId)
        task_id = client.CreateVRSTask(
            tencent_request(
                vrs_models.CreateVRSTaskRequest(),
                SessionId="sdk-session-1",
                VoiceName="SDK 测试",
                VoiceGender=2,
                VoiceLanguage=1,
                AudioIdList=audio_ids,
                Codec="wav",
                SampleRate=16000,
            )
        ).Data.TaskId
        status = wait_for(lambda: self._finished(client, task_id), timeout=10, what="the task to finish")
        assert (status.Status, status.StatusStr) == (2, "success")
        return {"task_id": task_id, "voice_type": status.VoiceType}

    @staticmethod
    def _finished(client: VrsClient, task_id: str) -> Any:
        request = tencent_request(vrs_models.DescribeVRSTaskStatusRequest(), TaskId=task_id)
        data = client.DescribeVRSTaskStatus(request).Data
        return data if data.Status in (2, 3) else None

    def test_a_voice_is_cloned_and_listed(self, sandbox: TencentVrsSandbox, voice: dict[str, Any]) -> None:
        client = self.vrs(sandbox)
        listed = client.GetVRSVoiceTypes(vrs_models.GetVRSVoiceTypesRequest()).Data.VoiceTypeList
        assert [(v.VoiceType, v.TaskID, v.VoiceName) for v in listed] == [
            (voice["voice_type"], voice["task_id"], "SDK 测试")
        ]
        info = client.GetVRSVoiceTypeInfo(
            tencent_request(vrs_models.GetVRSVoiceTypeInfoRequest(), VoiceType=voice["voice_type"])
        ).Data
        assert (info.VoiceType, info.VoiceGender, info.IsDeployed) == (voice["voice_type"], 2, True)

    def test_an_unknown_voice_type_is_an_invalid_parameter(self, sandbox: TencentVrsSandbox) -> None:
        request = tencent_request(vrs_models.GetVRSVoiceTypeInfoRequest(), VoiceType=999)
        with pytest.raises(TencentCloudSDKException) as caught:
            self.vrs(sandbox).GetVRSVoiceTypeInfo(request)
        assert caught.value.code == "InvalidParameter"

    def test_the_cloned_voice_speaks_through_the_tts_sdk(
        self, sandbox: TencentVrsSandbox, voice: dict[str, Any]
    ) -> None:
        client = TtsClient(Credential(self.SECRET_ID, self.SECRET_KEY), "", tencent_profile(sandbox.url))
        request = tencent_request(
            tts_models.TextToVoiceRequest(),
            Text="你好，世界",
            SessionId="sdk-speech-1",
            VoiceType=voice["voice_type"],
            Codec="wav",
            SampleRate=16000,
        )
        answer = client.TextToVoice(request)
        audio = base64.b64decode(answer.Audio)
        assert audio[:4] == b"RIFF" and len(audio) > 1000
        assert answer.SessionId == "sdk-speech-1"

    @pytest.mark.parametrize(
        ("action", "request_model"),
        [
            ("CancelVRSTask", vrs_models.CancelVRSTaskRequest),
            ("DownloadVRSModel", vrs_models.DownloadVRSModelRequest),
        ],
    )
    def test_actions_tencent_has_not_opened_are_unsupported(
        self, sandbox: TencentVrsSandbox, voice: dict[str, Any], action: str, request_model: Any
    ) -> None:
        request = tencent_request(request_model(), TaskId=voice["task_id"])
        with pytest.raises(TencentCloudSDKException) as caught:
            getattr(self.vrs(sandbox), action)(request)
        assert caught.value.code == "UnsupportedOperation"

    @pytest.mark.parametrize(
        ("credentials", "code"),
        [
            ({"secret_key": "not-the-key"}, "AuthFailure.SignatureFailure"),
            ({"secret_id": "AKIDnobody000000000000000000000000"}, "AuthFailure.SecretIdNotFound"),
        ],
        ids=["wrong-key", "unknown-id"],
    )
    def test_wrong_credentials_raise_tencents_codes(
        self, sandbox: TencentVrsSandbox, credentials: dict[str, str], code: str
    ) -> None:
        client = self.vrs(sandbox, **credentials)
        with pytest.raises(TencentCloudSDKException) as caught:
            client.GetTrainingText(vrs_models.GetTrainingTextRequest())
        assert caught.value.code == code
        assert caught.value.requestId

    def test_a_wrong_key_on_an_unknown_action_is_still_an_auth_failure(
        self, sandbox: TencentVrsSandbox
    ) -> None:
        # Tencent's common client calls any action; signed with a wrong key, the signature is what fails
        profile = tencent_profile(sandbox.url)
        wrong = CommonClient("vrs", "2020-08-24", Credential(self.SECRET_ID, "not-the-key"), "", profile)
        with pytest.raises(TencentCloudSDKException) as caught:
            wrong.call_json("DeleteVoice", {})
        assert caught.value.code == "AuthFailure.SignatureFailure"
        # And signed right, the action is refused as one the API does not have
        right = CommonClient("vrs", "2020-08-24", Credential(self.SECRET_ID, self.SECRET_KEY), "", profile)
        with pytest.raises(TencentCloudSDKException) as caught:
            right.call_json("DeleteVoice", {})
        assert caught.value.code == "InvalidAction"


# ----- Tencent smart-content gateway: no SDK; the requests of its voice-cloning doc ----------------------


class TestTencentGateway:
    SECRET_ID, SECRET_KEY = "AKIDsdkgatewaytest000000000000000", "sdk-gateway-test-key"

    @pytest.fixture
    def sandbox(self) -> Iterator[TencentGatewaySandbox]:
        config = TencentGatewaySandboxConfig(
            secret_id=self.SECRET_ID, secret_key=self.SECRET_KEY, training_seconds=0.2, speech_seconds=0.1
        )
        with TencentGatewaySandbox(config) as running:
            yield running

    @pytest.fixture(scope="class")
    def audio(self) -> Iterator[LocalAudioSource]:
        source = LocalAudioSource(SAMPLES, [f"{n:05d}" for n in range(1, 7)])
        try:
            yield source
        finally:
            source.close()

    def call(
        self, sandbox: TencentGatewaySandbox, path: str, action: str, request: dict[str, Any], key: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """A POST as the doc's examples make it: action, secretId and secretKey in the JSON body."""
        body = {
            "action": action,
            "secretId": self.SECRET_ID,
            "secretKey": key or self.SECRET_KEY,
            f"{action[0].lower()}{action[1:]}Request": request,
        }
        answer = httpx.post(sandbox.url + path, json=body, timeout=30)
        return answer.status_code, answer.json()

    def test_a_model_is_trained_found_listed_and_speaks(
        self, sandbox: TencentGatewaySandbox, audio: LocalAudioSource
    ) -> None:
        train = {
            "inputs": [{"url": audio.assembled_url()}],
            "outputs": [
                {
                    "inputSelectors": [0],
                    "smartContentDescriptor": {"voiceCloning": {"type": 2, "modelName": "sdk_model"}},
                }
            ],
            "customId": "sdk-job-1",
        }
        _, created = self.call(sandbox, "/release/job", "CreateJob", train)
        job_id = created["createJobResponse"]["job"]["id"]
        done = wait_for(lambda: self._done(sandbox, job_id), timeout=10, what="the training")
        assert done["state"] == 3
        _, jobs = self.call(sandbox, "/release/job", "ListJobs", {"customId": "sdk-job-1"})
        assert [j["id"] for j in jobs["listJobsResponse"]["jobs"]] == [job_id]
        _, models = self.call(sandbox, "/release/music_model", "ListModels", {"offset": 0, "limit": 10})
        assert [m["name"] for m in models["listModelsResponse"]["models"]] == ["sdk_model"]

        content_id = sandbox.credentials()["content_id"]
        speak = {
            "inputs": [{"sourceData": "你好"}],
            "outputs": [
                {
                    "contentId": content_id,
                    "inputSelectors": [0],
                    "smartContentDescriptor": {"voiceCloning": {"type": 1, "modelName": "sdk_model"}},
                }
            ],
        }
        _, spoken = self.call(sandbox, "/release/job", "CreateJob", speak)
        speech = wait_for(lambda: self._done(sandbox, spoken["createJobResponse"]["job"]["id"]), timeout=10)
        assert speech["state"] == 3

    def _done(self, sandbox: TencentGatewaySandbox, job_id: str) -> dict[str, Any] | None:
        _, answer = self.call(sandbox, "/release/job", "GetJob", {"id": job_id})
        job: dict[str, Any] = answer["getJobResponse"]["job"]
        return job if job["state"] in (3, 4, 5) else None

    @pytest.mark.parametrize("action", ["ListJobs", "DeleteModel"])
    def test_wrong_credentials_are_refused_before_the_action_is_looked_up(
        self, sandbox: TencentGatewaySandbox, action: str
    ) -> None:
        status, answer = self.call(sandbox, "/release/job", action, {"customId": "x"}, key="not-the-key")
        assert (status, answer["error"]["code"]) == (401, "AuthFailure")

    def test_an_unknown_action_with_good_credentials_is_invalid(self, sandbox: TencentGatewaySandbox) -> None:
        status, answer = self.call(sandbox, "/release/job", "DeleteModel", {"name": "x"})
        assert (status, answer["error"]["code"]) == (400, "InvalidAction")


# ----- Volcengine: the data plane as the doc's demo calls it, the console through the volcengine SDK -----


class TestVolcengine:
    APPID = "2100000777"
    TOKEN = "sdk-client-test-token"
    AK, SK = "AKLTsdkclienttest000000000000", "sdk-client-test-secret-key"
    SPEAKERS = ("S_sdktest01", "S_sdktest02")

    @pytest.fixture
    def sandbox(self) -> Iterator[VolcengineSandbox]:
        config = VolcengineSandboxConfig(
            appid=self.APPID,
            access_token=self.TOKEN,
            access_key_id=self.AK,
            secret_access_key=self.SK,
            speaker_ids=list(self.SPEAKERS),
            training_seconds=0.2,
        )
        with VolcengineSandbox(config) as running:
            yield running

    def speech(
        self, sandbox: VolcengineSandbox, path: str, body: dict[str, Any], authorization: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """One data-plane call with the headers of the doc's demo (``Bearer;`` token, Resource-Id)."""
        headers = {"Authorization": authorization or f"Bearer;{self.TOKEN}", "Resource-Id": "seed-icl-1.0"}
        answer = httpx.post(sandbox.url + path, json=body, headers=headers, timeout=10)
        return answer.status_code, answer.json()

    def console(self, sandbox: VolcengineSandbox, secret_key: str = "") -> Service:
        """The SDK's generic Service, set up as the doc's Python demo sets it up, on ``127.0.0.1:PORT``."""
        credentials = Credentials(self.AK, secret_key or self.SK, "speech_saas_prod", "cn-north-1")
        info = ServiceInfo(
            sandbox.url.removeprefix("http://"), {"Accept": "application/json"}, credentials, 5, 5
        )
        actions = (
            "BatchListMegaTTSTrainStatus",
            "ListMegaTTSTrainStatus",
            "ActivateMegaTTSTrainStatus",
            "OrderAccessResourcePacks",
            "RenewAccessResourcePacks",
        )
        query = {"Version": "2023-11-07"}
        apis = {a: ApiInfo("POST", "/", {"Action": a, **query}, {}, {}) for a in actions}
        return Service(info, apis)

    def call(self, service: Service, action: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(service.json(action, {}, json.dumps(body)))
        return answer

    @staticmethod
    def refusal(caught: pytest.ExceptionInfo[Exception]) -> dict[str, Any]:
        """The SDK raises the error body as the exception's argument (bytes of JSON)."""
        metadata: dict[str, Any] = json.loads(caught.value.args[0])["ResponseMetadata"]
        return metadata

    @pytest.mark.parametrize("authorization", ["Bearer;{token}", "Bearer; {token}"])
    def test_the_demo_upload_without_model_type_trains_a_voice(
        self, sandbox: VolcengineSandbox, authorization: str
    ) -> None:
        # The doc's demo body (its older revision sends no model_type: the default 0 applies)
        speaker = self.SPEAKERS[0]
        body = {
            "appid": self.APPID,
            "speaker_id": speaker,
            "audios": [{"audio_bytes": base64.b64encode(wav_bytes(6.0)).decode(), "audio_format": "wav"}],
            "source": 2,
            "language": 0,
        }
        header = authorization.format(token=self.TOKEN)
        status, answer = self.speech(sandbox, "/api/v1/mega_tts/audio/upload", body, header)
        assert (status, answer["BaseResp"]["StatusCode"], answer["speaker_id"]) == (200, 0, speaker)
        done = wait_for(
            lambda: self._trained(sandbox, speaker, header), timeout=10, what="the training to finish"
        )
        assert done["status"] == 2 and done["demo_audio"]

    def _trained(self, sandbox: VolcengineSandbox, speaker: str, header: str) -> dict[str, Any] | None:
        body = {"appid": self.APPID, "speaker_id": speaker}
        _, answer = self.speech(sandbox, "/api/v1/mega_tts/status", body, header)
        return answer if answer.get("status") in (2, 3, 4) else None

    def test_a_wrong_token_is_refused(self, sandbox: VolcengineSandbox) -> None:
        body = {"appid": self.APPID, "speaker_id": self.SPEAKERS[0]}
        status, answer = self.speech(sandbox, "/api/v1/mega_tts/status", body, "Bearer;not-the-token")
        assert status == 401 and answer["BaseResp"]["StatusCode"] != 0

    def test_the_console_lists_activates_and_lists_again(self, sandbox: VolcengineSandbox) -> None:
        service = self.console(sandbox)
        speaker = self.SPEAKERS[0]
        body = {"appid": self.APPID, "speaker_id": speaker}
        audios = [{"audio_bytes": base64.b64encode(wav_bytes(6.0)).decode()}]
        status, _ = self.speech(
            sandbox, "/api/v1/mega_tts/audio/upload", {**body, "source": 2, "audios": audios}
        )
        assert status == 200
        wait_for(lambda: self._trained(sandbox, speaker, f"Bearer;{self.TOKEN}"), timeout=10)
        page = self.call(service, "BatchListMegaTTSTrainStatus", {"AppID": self.APPID, "PageSize": 1})
        assert page["Result"]["TotalCount"] == len(self.SPEAKERS) and page["Result"]["NextToken"]
        assert page["ResponseMetadata"]["Action"] == "BatchListMegaTTSTrainStatus"

        activated = self.call(
            service, "ActivateMegaTTSTrainStatus", {"AppID": self.APPID, "SpeakerIDs": [speaker]}
        )
        assert [r["State"] for r in activated["Result"]["Statuses"]] == ["Active"]
        listed = self.call(service, "ListMegaTTSTrainStatus", {"AppID": self.APPID, "SpeakerIDs": [speaker]})
        assert [(r["SpeakerID"], r["State"]) for r in listed["Result"]["Statuses"]] == [(speaker, "Active")]
        _, status_answer = self.speech(sandbox, "/api/v1/mega_tts/status", body)
        assert status_answer["status"] == 4

    def test_activating_an_untrained_slot_is_an_invalid_speaker(self, sandbox: VolcengineSandbox) -> None:
        service = self.console(sandbox)
        with pytest.raises(Exception) as caught:
            self.call(
                service, "ActivateMegaTTSTrainStatus", {"AppID": self.APPID, "SpeakerIDs": ["S_notours"]}
            )
        assert self.refusal(caught)["Error"]["Code"] == "OperationDenied.InvalidSpeakerID"

    @pytest.mark.parametrize("action", ["OrderAccessResourcePacks", "RenewAccessResourcePacks"])
    def test_buying_slots_is_an_unknown_action(self, sandbox: VolcengineSandbox, action: str) -> None:
        with pytest.raises(Exception) as caught:
            self.call(self.console(sandbox), action, {"AppID": self.APPID})
        assert self.refusal(caught)["Error"]["Code"] == "InvalidActionOrVersion"

    @pytest.mark.parametrize("action", ["BatchListMegaTTSTrainStatus", "OrderAccessResourcePacks"])
    def test_a_wrong_secret_key_is_a_signature_mismatch(
        self, sandbox: VolcengineSandbox, action: str
    ) -> None:
        with pytest.raises(Exception) as caught:
            self.call(self.console(sandbox, secret_key="not-the-key"), action, {"AppID": self.APPID})
        assert self.refusal(caught)["Error"]["Code"] == "SignatureDoesNotMatch"


# ----- Qiniu xrobo: no SDK; the requests of its voice-clone doc (qiniu/Xrobot-docs) ----------------------


class TestQiniu:
    KEY = "sdk-client-test-qiniu-key"

    @pytest.fixture
    def sandbox(self) -> Iterator[QiniuSandbox]:
        config = QiniuSandboxConfig(
            api_key=self.KEY, training_seconds=0.2, clone_quota={"free": 2, "lite": 1, "pro": 0}
        )
        with QiniuSandbox(config) as running:
            yield running

    @pytest.fixture(scope="class")
    def audio(self) -> Iterator[LocalAudioSource]:
        source = LocalAudioSource(SAMPLES, [f"{n:05d}" for n in range(1, 7)])
        try:
            yield source
        finally:
            source.close()

    def call(
        self, sandbox: QiniuSandbox, method: str, path: str, body: dict[str, Any] | None = None, key: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """One request with the doc's headers: ``Authorization: Bearer <token>``, JSON body."""
        headers = {"Authorization": f"Bearer {key or self.KEY}", "Content-Type": "application/json"}
        answer = httpx.request(method, sandbox.url + path, json=body, headers=headers, timeout=30)
        return answer.status_code, answer.json()

    @pytest.mark.parametrize("tier", ["free", "lite"])
    def test_a_slot_of_each_tier_is_created_trained_and_counted(
        self, sandbox: QiniuSandbox, audio: LocalAudioSource, tier: str
    ) -> None:
        _, created = self.call(sandbox, "POST", "/v1/voice-clones", {"language": "zh", "tier": tier})
        voice = created["data"]
        assert (created["code"], voice["state"], voice["tier"]) == (0, "Init", tier)
        _, before = self.call(sandbox, "GET", f"/v1/voice-clones/quota?tier={tier}")
        assert before == {
            "code": 0,
            "msg": "",
            "reqid": before["reqid"],
            "data": {"available_count": 1 if tier == "lite" else 2},
        }

        body = {"key": audio.assembled_url(), "name": "我的专属音色"}
        _, trained = self.call(sandbox, "PUT", f"/v1/voice-clones/{voice['id']}", body)
        assert (trained["code"], trained["data"]["state"]) == (0, "Training")
        done = wait_for(lambda: self._done(sandbox, voice["id"]), timeout=10, what="the training")
        assert done["state"] == "Success"
        _, after = self.call(sandbox, "GET", f"/v1/voice-clones/quota?tier={tier}")
        assert after["data"]["available_count"] == before["data"]["available_count"] - 1
        _, listed = self.call(sandbox, "GET", "/v1/voice-clones")
        assert [v["id"] for v in listed["data"]["voices"]] == [voice["id"]]

        # A paid (lite) slot cannot be deleted; a free one can
        status, deleted = self.call(sandbox, "DELETE", f"/v1/voice-clones/{voice['id']}")
        assert (status, deleted["code"]) == ((403, 403) if tier == "lite" else (200, 0))

    def _done(self, sandbox: QiniuSandbox, voice_id: str) -> dict[str, Any] | None:
        _, answer = self.call(sandbox, "GET", f"/v1/voice-clones/{voice_id}")
        voice: dict[str, Any] = answer["data"]
        return voice if voice["state"] in ("Success", "Failed") else None

    def test_a_tier_without_quota_cannot_train(self, sandbox: QiniuSandbox, audio: LocalAudioSource) -> None:
        _, created = self.call(sandbox, "POST", "/v1/voice-clones", {"language": "ja", "tier": "pro"})
        body = {"key": audio.assembled_url(), "name": "pro"}
        status, answer = self.call(sandbox, "PUT", f"/v1/voice-clones/{created['data']['id']}", body)
        assert (status, answer["code"]) == (400, 400)

    @pytest.mark.parametrize("query", ["", "?tier=gold"])
    def test_the_quota_needs_a_known_tier(self, sandbox: QiniuSandbox, query: str) -> None:
        status, answer = self.call(sandbox, "GET", f"/v1/voice-clones/quota{query}")
        assert (status, answer["code"]) == (400, 400)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/v1/voice-clones"),
            ("GET", "/v1/voice-clones/quota?tier=free"),
            ("GET", "/v1/no-such-api"),
        ],
    )
    def test_a_wrong_token_is_401_before_anything_else(
        self, sandbox: QiniuSandbox, method: str, path: str
    ) -> None:
        status, answer = self.call(sandbox, method, path, key="not-the-key")
        assert (status, answer["code"]) == (401, 401)


# ----- Huawei MetaStudio (huaweicloudsdkmetastudio) -------------------------------------------------------


class TestHuawei:
    PROJECT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    AK, SK = "SDKCLIENTTESTAK0000", "sdk-client-test-huawei-secret"
    LETTER = b"%PDF-1.4\n% signed authorization letter\n%%EOF\n"

    @pytest.fixture
    def sandbox(self) -> Iterator[HuaweiSandbox]:
        config = HuaweiSandboxConfig(
            project_id=self.PROJECT,
            access_key=self.AK,
            secret_key=self.SK,
            training_seconds=0.3,
            speech_seconds=0.1,
        )
        with HuaweiSandbox(config) as running:
            yield running

    def client(self, sandbox: HuaweiSandbox, secret_key: str = "") -> Any:
        credentials = BasicCredentials(self.AK, secret_key or self.SK, self.PROJECT)
        return MetaStudioClient.new_builder().with_credentials(credentials).with_endpoint(sandbox.url).build()

    @staticmethod
    def package() -> bytes:
        """The BASIC edition's zip: 0.wav…19.wav with 0.txt…19.txt."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for index, (text_id, text) in enumerate(TRAINING_TEXTS):
                archive.writestr(f"{index}.wav", (SAMPLES / f"{text_id}.wav").read_bytes())
                archive.writestr(f"{index}.txt", text)
        return buffer.getvalue()

    def trained_job(self, sandbox: HuaweiSandbox) -> tuple[Any, str]:
        """A BASIC job created, uploaded to its URLs, committed and trained, through the SDK."""
        client = self.client(sandbox)
        body = hw.CreateTrainingJobReq(
            voice_name="sdk-voice", sex="FEMALE", language="CN", create_type="PACKAGE"
        )
        created = client.create_training_basic_job(hw.CreateTrainingBasicJobRequest(body=body))
        for url, content, kind in (
            (created.training_data_uploading_url, self.package(), "application/zip"),
            (created.authorization_letter_uploading_url, self.LETTER, "application/pdf"),
        ):
            assert (
                httpx.put(url, content=content, headers={"Content-Type": kind}, timeout=30).status_code == 200
            )
        job_id = created.job_id
        client.commit_voice_training_job(
            hw.CommitVoiceTrainingJobRequest(job_id=job_id, body=hw.CommitJobReq())
        )
        wait_for(lambda: self._finished(client, job_id), timeout=10, what="the training")
        return client, job_id

    @staticmethod
    def _finished(client: Any, job_id: str) -> Any:
        job = client.show_voice_training_job(hw.ShowVoiceTrainingJobRequest(job_id=job_id))
        return job if job.state in ("SUCCEED", "FAILED", "AUDIT_FAILED") else None

    def test_a_voice_is_trained_listed_spoken_and_deleted(self, sandbox: HuaweiSandbox) -> None:
        client, job_id = self.trained_job(sandbox)
        job = client.show_voice_training_job(hw.ShowVoiceTrainingJobRequest(job_id=job_id))
        assert job.state == "SUCCEED" and job.asset_id
        listed = client.list_voice_training_job(hw.ListVoiceTrainingJobRequest(state="SUCCEED"))
        assert (listed.count, [j.job_id for j in listed.jobs]) == (1, [job_id])
        audit = client.show_job_audit_result(hw.ShowJobAuditResultRequest(job_id=job_id))
        assert audit.system_audit_result.errors in (None, [])
        urls = client.show_job_uploading_address(hw.ShowJobUploadingAddressRequest(job_id=job_id))
        assert urls.package_url.training_data_uploading_url

        tts_body = hw.CreateAsyncTtsJobRequestBody(
            text="你好", voice_asset_id=job.asset_id, audio_format="WAV"
        )
        tts_job = client.create_async_tts_job(hw.CreateAsyncTtsJobRequest(body=tts_body)).job_id
        spoken = wait_for(lambda: self._spoken(client, tts_job), timeout=10, what="the speech")
        assert spoken.state == "SUCCEED"
        assert httpx.get(spoken.audio_file_url, timeout=10).content[:4] == b"RIFF"

        client.delete_voice_training_job(hw.DeleteVoiceTrainingJobRequest(job_id=job_id))
        with pytest.raises(ClientRequestException) as caught:
            client.show_voice_training_job(hw.ShowVoiceTrainingJobRequest(job_id=job_id))
        assert (caught.value.status_code, caught.value.error_code) == (404, "MSS.00000004")

    @staticmethod
    def _spoken(client: Any, job_id: str) -> Any:
        job = client.show_async_tts_job(hw.ShowAsyncTtsJobRequest(job_id=job_id))
        return job if job.state in ("SUCCEED", "FAILED") else None

    def test_a_failed_training_and_an_unknown_asset_have_different_codes(
        self, sandbox: HuaweiSandbox
    ) -> None:
        sandbox.config.fail_training = "the model did not converge"
        client, job_id = self.trained_job(sandbox)
        job = client.show_voice_training_job(hw.ShowVoiceTrainingJobRequest(job_id=job_id))
        assert (job.state, job.job_failed_reason) == ("FAILED", "the model did not converge")

        tts_body = hw.CreateAsyncTtsJobRequestBody(
            text="你好", voice_asset_id="no-such-asset", audio_format="WAV"
        )
        with pytest.raises(ClientRequestException) as caught:
            client.create_async_tts_job(hw.CreateAsyncTtsJobRequest(body=tts_body))
        assert (caught.value.status_code, caught.value.error_code) == (400, "MSS.10001001")
        assert job.job_failed_code != caught.value.error_code

    @pytest.mark.parametrize(
        ("call", "sdk_request"),
        [
            (
                "create_training_middle_job",
                hw.CreateTrainingMiddleJobRequest(body=hw.CreateTrainingJobReq("v")),
            ),
            (
                "create_training_third_party_job",
                hw.CreateTrainingThirdPartyJobRequest(body=hw.CreateTrainingJobReq("v")),
            ),
            ("show_voice_training_quotas", hw.ShowVoiceTrainingQuotasRequest()),
            ("create_short_job", hw.CreateShortJobRequest()),
            ("check_voice_asset", hw.CheckVoiceAssetRequest(voice_asset_id="asset")),
        ],
        ids=lambda value: value if isinstance(value, str) else "",
    )
    def test_calls_the_sandbox_does_not_serve_are_apis_the_gateway_lacks(
        self, sandbox: HuaweiSandbox, call: str, sdk_request: Any
    ) -> None:
        with pytest.raises(ClientRequestException) as caught:
            getattr(self.client(sandbox), call)(sdk_request)
        assert (caught.value.status_code, caught.value.error_code) == (404, "APIGW.0101")

    def test_a_wrong_secret_key_raises_the_gateways_auth_error(self, sandbox: HuaweiSandbox) -> None:
        with pytest.raises(ClientRequestException) as caught:
            self.client(sandbox, secret_key="not-the-key").list_voice_training_job(
                hw.ListVoiceTrainingJobRequest()
            )
        assert (caught.value.status_code, caught.value.error_code) == (401, "APIGW.0301")
