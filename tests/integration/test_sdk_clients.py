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
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tts.v20190823 import models as tts_models
from tencentcloud.tts.v20190823.tts_client import TtsClient
from tencentcloud.vrs.v20200824 import models as vrs_models
from tencentcloud.vrs.v20200824.vrs_client import VrsClient
from voiceclone_local.sandboxes.tencent_vrs import TRAINING_TEXTS, TencentVrsSandbox, TencentVrsSandboxConfig

from tests.helpers import wait_for

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
