"""Tencent Cloud VRS (声音复刻): TC3-signed JSON actions, per-sentence quality check, callback.

Wire format per NOTES.md section 2, with the official SDK's action names (the
seed's example headers carry typos). Errors arrive as HTTP 200 with
``Response.Error``; they are mapped to the shared taxonomy here and nowhere else.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import httpx

from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Gender, SentenceCheck, TrainingText, VendorVoice
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    TrainingRequest,
    TrainingState,
    TrainingStatus,
    VendorAdapter,
)
from voiceclone.vendors.config import vendor_settings
from voiceclone.vendors.http import VendorHttp
from voiceclone.vendors.signing import tc3

VENDOR_ID = "tencent_vrs"
SERVICE = "vrs"
API_VERSION = "2020-08-24"
DEFAULT_ENDPOINT = "https://vrs.tencentcloudapi.com"
CONTENT_TYPE = "application/json"

# Codes that mean "try again later" (the SDK's StandardRetryer list plus internal errors).
_THROTTLED = ("RequestLimitExceeded",)
_UNAVAILABLE = ("InternalError", "FailedOperation.VoiceEvaluateFailed", "ResourceUnavailable")
_AUTH = ("AuthFailure",)
# Codes about one recording: the sentence is rejected with the vendor's reason, the job goes on.
_AUDIO_CODES = (
    "InvalidParameterValue.AudioData",
    "InvalidParameterValue.AudioDurationExceedsLimit",
    "InvalidParameterValue.Codec",
    "InvalidParameterValue.SampleRate",
    "FailedOperation.VoiceNotQualified",
)
_AUDIO_ADVICE = {
    "InvalidParameterValue.AudioData": "the file is not usable audio: record it again as a 16 kHz mono WAV",
    "InvalidParameterValue.AudioDurationExceedsLimit": "the recording is longer than 15 s: record it again",
    "InvalidParameterValue.Codec": "use WAV",
    "InvalidParameterValue.SampleRate": "record at 16 kHz",
    "FailedOperation.VoiceNotQualified": "the audio quality is too poor: record it again in a quiet room",
}
_DETECTION_ADVICE = {
    -2: "words were missing, wrong or extra: read the sentence exactly as written and record it again",
    -3: "too much noise: record it again in a quieter place",
}
_TAGS = {1: "extra", 2: "missing", 3: "misread", 4: "unknown word", 5: "unclear"}
_STATES = {
    0: TrainingState.PENDING,
    1: TrainingState.RUNNING,
    2: TrainingState.SUCCEEDED,
    3: TrainingState.FAILED,
}
_GENDERS = {Gender.MALE: 1, Gender.FEMALE: 2}


class TencentVrsAdapter(VendorAdapter):
    vendor_id: ClassVar[str] = VENDOR_ID
    default_endpoint: ClassVar[str] = DEFAULT_ENDPOINT
    credential_fields: ClassVar[tuple[str, ...]] = ("secret_id", "secret_key")
    capabilities: ClassVar[Capabilities] = Capabilities(
        sentence_check="vendor",
        completion="callback",
        audio_transport="inline",
        audio_files="per_sentence",
        sentence_count=20,
        sample_rate=16000,
        max_sentence_seconds=15.0,
    )

    def __init__(
        self,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).hostname or ""
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._http = VendorHttp(VENDOR_ID, self.endpoint, timeout_seconds, transport)

    @classmethod
    def from_environment(cls) -> Self:
        conf = vendor_settings(
            VENDOR_ID, ("endpoint", "secret_id", "secret_key"), defaults={"endpoint": DEFAULT_ENDPOINT}
        )
        return cls(conf["endpoint"], conf["secret_id"], conf["secret_key"])

    # ----- transport -------------------------------------------------------------------------

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """One signed action; returns ``Response.Data`` or raises the mapped error."""
        # Serialise once and sign exactly these bytes (NOTES.md section 1.1); sign right before sending.
        body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        sig = tc3.signature(
            secret_key=self._secret_key, service=SERVICE, timestamp=timestamp, host=self.host, body=body
        )
        headers = {
            "Host": self.host,
            "Content-Type": CONTENT_TYPE,
            "X-TC-Action": action,
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3.authorization(
                secret_id=self._secret_id, service=SERVICE, timestamp=timestamp, sig=sig
            ),
        }
        response = self._http.request("POST", "/", content=body, headers=headers)
        try:
            envelope = response.json()["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise VendorUnavailable(
                VENDOR_ID, f"HTTP{response.status_code}", "the vendor answered something that is not its API"
            ) from exc
        error = envelope.get("Error")
        if error:
            raise self.map_error(error.get("Code", ""), error.get("Message", ""), envelope.get("RequestId"))
        data: dict[str, Any] = envelope.get("Data") or {}
        return data

    @staticmethod
    def map_error(code: str, message: str, request_id: str | None = None) -> VendorError:
        details = {"request_id": request_id} if request_id else {}
        if code.startswith(_THROTTLED):
            return VendorThrottled(VENDOR_ID, code, message, **details)
        if code.startswith(_UNAVAILABLE):
            return VendorUnavailable(VENDOR_ID, code, message, **details)
        if code.startswith(_AUTH):
            return VendorAuthError(VENDOR_ID, code, message, **details)
        return VendorRejected(VENDOR_ID, code, message, **details)

    # ----- operations ------------------------------------------------------------------------

    def training_texts(self) -> list[TrainingText]:
        data = self.call("GetTrainingText", {})
        return [TrainingText(text_id=t["TextId"], text=t["Text"]) for t in data.get("TrainingTextList") or []]

    def check_sentence(self, text_id: str, audio: bytes) -> SentenceCheck:
        params = {
            "TextId": text_id,
            "AudioData": base64.b64encode(audio).decode("ascii"),
            "TypeId": 2,
            "Codec": "wav",
            "SampleRate": self.capabilities.sample_rate,
        }
        try:
            data = self.call("DetectEnvAndSoundQuality", params)
        except VendorRejected as exc:
            if exc.code.startswith(_AUDIO_CODES):
                advice = _AUDIO_ADVICE.get(exc.code, "record the sentence again")
                return SentenceCheck(
                    passed=False, code=exc.code, message=f"{exc.message} ({advice})", source=VENDOR_ID
                )
            raise
        code = int(data.get("DetectionCode") or 0)
        if code == 0 and data.get("AudioId"):
            return SentenceCheck(
                passed=True, code="0", message="passed", source=VENDOR_ID, vendor_audio_id=data["AudioId"]
            )
        if code == -1 or code == 0:
            # -1: the vendor could not evaluate this time; the workflow retries the check.
            raise VendorUnavailable(VENDOR_ID, f"DetectionCode{code}", data.get("DetectionMsg") or "retry")
        tips = [
            f"{w.get('Word', '')}: {_TAGS.get(int(w.get('Tag') or 0), 'check')}"
            for w in data.get("DetectionTip") or []
            if int(w.get("Tag") or 0) != 0
        ]
        advice = _DETECTION_ADVICE.get(code, "record the sentence again")
        return SentenceCheck(
            passed=False,
            code=f"DetectionCode{code}",
            message=f"{data.get('DetectionMsg') or 'not passed'} ({advice})",
            tips=tips[:20],
            source=VENDOR_ID,
        )

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        # The audio already reached Tencent with each check; its AudioIds stand for it. The
        # SessionId is the job's, the same on every retry, so a repeated create is recognised.
        params: dict[str, Any] = {
            "SessionId": request.session_id,
            "VoiceName": request.voice_name,
            "VoiceGender": _GENDERS[request.gender],
            "VoiceLanguage": 1,
            "SampleRate": self.capabilities.sample_rate,
            "Codec": "wav",
            "AudioIdList": [s.vendor_audio_id for s in request.sentences],
        }
        if request.callback_url:
            params["CallbackUrl"] = request.callback_url
        data = self.call("CreateVRSTask", params)
        task_id = data.get("TaskId")
        if not task_id:
            raise VendorUnavailable(VENDOR_ID, "NoTaskId", "CreateVRSTask answered without a TaskId")
        return str(task_id)

    def get_status(self, task_id: str) -> TrainingStatus:
        return self._status(self.call("DescribeVRSTaskStatus", {"TaskId": task_id}), task_id)

    def parse_callback(self, body: bytes) -> TrainingStatus:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body is not JSON") from exc
        if not isinstance(data, dict) or not data.get("TaskId"):
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body has no TaskId")
        return self._status(data, str(data["TaskId"]))

    # Voice management: Tencent VRS offers none of it (capabilities keep the three flags False).

    def rename_voice(self, voice: VendorVoice, name: str) -> None:
        raise VendorRejected(VENDOR_ID, "NotSupported", "Tencent VRS has no action to rename a cloned voice")

    def delete_voice(self, voice: VendorVoice) -> None:
        raise VendorRejected(VENDOR_ID, "NotSupported", "Tencent VRS has no action to delete a cloned voice")

    def cancel_task(self, task_id: str) -> None:
        raise VendorRejected(
            VENDOR_ID,
            "NotSupported",
            "Tencent VRS cannot stop a training task: CancelVRSTask is listed as not yet open",
        )

    @staticmethod
    def _status(data: dict[str, Any], task_id: str) -> TrainingStatus:
        status = data.get("Status")
        state = (
            _STATES.get(int(status), TrainingState.RUNNING) if status is not None else TrainingState.RUNNING
        )
        voice = None
        if state is TrainingState.SUCCEEDED and data.get("VoiceType") is not None:
            details: dict[str, Any] = {"VoiceType": int(data["VoiceType"])}
            if data.get("FastVoiceType"):
                details["FastVoiceType"] = data["FastVoiceType"]
            voice = VendorVoice(vendor=VENDOR_ID, voice_id=str(data["VoiceType"]), details=details)
        return TrainingStatus(
            task_id=str(data.get("TaskId") or task_id),
            state=state,
            vendor_state=str(data.get("StatusStr") or status),
            voice=voice,
            error_code="TrainingFailed" if state is TrainingState.FAILED else "",
            error_message=str(data.get("ErrorMsg") or ""),
        )
