"""The Volcengine adapter against recorded vendor responses (no network)."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from unittest import mock

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.signing import volc_v4
from voiceclone.vendors.volcengine import (
    AUDIO_REASONS,
    MAX_AUDIO_BYTES,
    OPTION_BASELINE,
    VolcengineAdapter,
)
from volcengine.auth.SignerV4 import SignerV4  # type: ignore[import-untyped]
from volcengine.base.Request import Request  # type: ignore[import-untyped]
from volcengine.Credentials import Credentials  # type: ignore[import-untyped]

from tests.helpers import wav_bytes
from tests.unit.conftest import Recorder
from tests.unit.conftest import routes as recorded_routes

ENDPOINT = "https://openspeech.bytedance.com"
CONSOLE = "https://open.volcengineapi.com"
APPID = "9476442538"
TOKEN = "test-access-token"
AK = "AKLTtestaccesskey"
SK = "test-secret-access-key"
POOL = ("S_pool001", "S_pool002", "S_pool003")
SPEAKER = "S_pool002"
UPLOAD = "/api/v1/mega_tts/audio/upload"
STATUS = "/api/v1/mega_tts/status"
LIST = "BatchListMegaTTSTrainStatus"
WAV = wav_bytes(seconds=0.5)

Answer = Callable[[httpx.Request], tuple[int, Any]]


def route(request: httpx.Request) -> str:
    """The data-plane path, or the console's Action."""
    return request.url.params.get("Action") or request.url.path


def log_id(request: httpx.Request) -> dict[str, str]:
    """The data plane answers with its log id header; the console does not."""
    return {"X-Tt-Logid": "logid-123"} if request.url.host != "open.volcengineapi.com" else {}


def routes(table: dict[str, Any]) -> Answer:
    """Answer by route; a value is (status, body), or a list of them served in turn; unknown routes fail."""
    return recorded_routes(table, key=route)


def ok(**fields: Any) -> dict[str, Any]:
    return {"BaseResp": {"StatusCode": 0, "StatusMessage": ""}, **fields}


def failed(code: int, message: str = "boom") -> dict[str, Any]:
    return {"BaseResp": {"StatusCode": code, "StatusMessage": message}}


def status(value: int, speaker_id: str = SPEAKER, **fields: Any) -> tuple[int, Any]:
    return 200, ok(speaker_id=speaker_id, status=value, **fields)


def listing(*rows: dict[str, Any], next_token: str = "", total: int | None = None) -> tuple[int, Any]:
    result = {
        "AppID": APPID,
        "TotalCount": len(rows) if total is None else total,
        "NextToken": next_token,
        "PageNumber": 1,
        "PageSize": 100,
        "Statuses": list(rows),
    }
    return 200, {"ResponseMetadata": {"RequestId": "req-list", "Action": LIST}, "Result": result}


def console_error(http_status: int, code: str, message: str = "no") -> tuple[int, Any]:
    return http_status, {
        "ResponseMetadata": {
            "RequestId": "req-err",
            "Action": LIST,
            "Error": {"Code": code, "Message": message},
        }
    }


def row(speaker_id: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"SpeakerID": speaker_id, "State": state, **fields}


def adapter_with(answer: Answer, **overrides: Any) -> tuple[VolcengineAdapter, Recorder]:
    recorder = Recorder(answer, route=route, headers=log_id)
    settings: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "console_endpoint": CONSOLE,
        "appid": APPID,
        "access_token": TOKEN,
        "access_key_id": AK,
        "secret_access_key": SK,
        "speaker_ids": POOL,
        **overrides,
    }
    return VolcengineAdapter(**settings, transport=recorder.transport), recorder


def training_request(job_id: str = "job-1", texts: bool = False, **options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=job_id,
        session_id="session-1",
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[
            CheckedSentence(text_id=t.text_id, text=t.text if texts else "", s3_key=f"k/{t.text_id}")
            for t in STANDARD_SCRIPT[:3]
        ],
        options=options,
    )


class InlineAudio:
    """Volcengine takes the assembled file inline: only it may be read."""

    def __init__(self, wav: bytes = WAV) -> None:
        self.wav = wav

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        return self.wav

    def assembled_url(self) -> str:
        raise AssertionError("read")

    def document(self, name: str) -> bytes:
        raise AssertionError("read")


# ----- configuration -------------------------------------------------------------------------


def test_capabilities_poll_one_inline_file_of_twenty_sentences_with_a_speaker_option() -> None:
    # Given the adapter class / Then it polls, takes one assembled file inline and offers speaker_id
    caps = VolcengineAdapter.capabilities
    assert (caps.sentence_check, caps.completion, caps.audio_transport, caps.audio_files) == (
        "local",
        "polling",
        "inline",
        "single",
    )
    assert (caps.sentence_count, caps.poll_initial_seconds, caps.poll_max_seconds) == (20, 10, 60)
    assert caps.options == ("speaker_id",)
    assert VolcengineAdapter.vendor_id == "volcengine"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for field in (
        "endpoint",
        "console_endpoint",
        "appid",
        "access_token",
        "access_key_id",
        "secret_access_key",
        "resource_id",
        "model_type",
        "speaker_ids",
        "secret_arn",
    ):
        monkeypatch.delenv(f"VOICECLONE_VOLCENGINE_{field.upper()}", raising=False)
    monkeypatch.setenv("VOICECLONE_VOLCENGINE_APPID", APPID)
    monkeypatch.setenv("VOICECLONE_VOLCENGINE_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("VOICECLONE_VOLCENGINE_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("VOICECLONE_VOLCENGINE_SECRET_ACCESS_KEY", SK)
    return monkeypatch


def test_from_environment_defaults_endpoints_resource_model_and_an_empty_pool(
    clean_env: pytest.MonkeyPatch,
) -> None:
    # Given only the credentials in the environment / When the adapter is made
    adapter = VolcengineAdapter.from_environment()

    # Then the documented defaults apply and there is no pool
    assert (adapter.endpoint, adapter.console_endpoint) == (ENDPOINT, CONSOLE)
    assert (adapter.resource_id, adapter.model_type, adapter.speaker_ids) == ("seed-icl-1.0", 1, ())
    assert adapter.appid == APPID


def test_from_environment_reads_the_pool_and_the_model(clean_env: pytest.MonkeyPatch) -> None:
    # Given a pool with blanks and a repeat, ICL 2.0 and its resource id
    clean_env.setenv("VOICECLONE_VOLCENGINE_SPEAKER_IDS", " S_a, S_b,,S_a ")
    clean_env.setenv("VOICECLONE_VOLCENGINE_MODEL_TYPE", "4")
    clean_env.setenv("VOICECLONE_VOLCENGINE_RESOURCE_ID", "seed-icl-2.0")

    # When the adapter is made / Then the pool is cleaned up and the model taken
    adapter = VolcengineAdapter.from_environment()
    assert (adapter.speaker_ids, adapter.model_type, adapter.resource_id) == (
        ("S_a", "S_b"),
        4,
        "seed-icl-2.0",
    )


def test_from_environment_refuses_a_missing_token_and_a_bad_model_type(clean_env: pytest.MonkeyPatch) -> None:
    # Given no access token / When the adapter is made / Then the variable to set is named
    clean_env.delenv("VOICECLONE_VOLCENGINE_ACCESS_TOKEN")
    with pytest.raises(VendorAuthError) as missing:
        VolcengineAdapter.from_environment()
    assert "VOICECLONE_VOLCENGINE_ACCESS_TOKEN" in missing.value.message

    # Given a model type that is not a number / Then it is refused as configuration
    clean_env.setenv("VOICECLONE_VOLCENGINE_ACCESS_TOKEN", TOKEN)
    clean_env.setenv("VOICECLONE_VOLCENGINE_MODEL_TYPE", "icl")
    with pytest.raises(VendorAuthError) as bad:
        VolcengineAdapter.from_environment()
    assert bad.value.code == "InvalidConfiguration"


# ----- request shapes ------------------------------------------------------------------------


def test_the_upload_is_json_with_one_base64_wav_and_explicit_model_type() -> None:
    # Given a slot that was never trained
    adapter, recorder = adapter_with(
        routes({STATUS: status(0), UPLOAD: (200, ok(speaker_id=SPEAKER))}), model_type=1
    )

    # When the job's recording is uploaded
    task_id = adapter.create_task(training_request(texts=True, speaker_id=SPEAKER), InlineAudio())

    # Then it is one JSON upload: base64 audio, the script, source 2, ICL 1.0 and a string extra_params
    assert task_id == SPEAKER
    (upload,) = [r for r in recorder.requests if r.url.path == UPLOAD]
    assert upload.method == "POST" and upload.url.host == "openspeech.bytedance.com"
    assert upload.headers["Authorization"] == f"Bearer;{TOKEN}"
    assert upload.headers["Resource-Id"] == "seed-icl-1.0"
    assert upload.headers["Content-Type"] == "application/json"
    body = json.loads(upload.content)
    assert set(body) == {"appid", "speaker_id", "audios", "source", "language", "model_type", "extra_params"}
    assert (body["appid"], body["speaker_id"], body["source"], body["language"]) == (APPID, SPEAKER, 2, 0)
    assert body["model_type"] == 1 and isinstance(body["model_type"], int)
    assert body["extra_params"] == "{}"
    (audio,) = body["audios"]
    assert base64.b64decode(audio["audio_bytes"]) == WAV
    assert audio["audio_format"] == "wav"
    assert audio["text"] == "\n".join(t.text for t in STANDARD_SCRIPT[:3])


def test_the_script_text_comes_from_the_standard_script_when_sentences_carry_none() -> None:
    # Given sentences without their text (only ids)
    adapter, recorder = adapter_with(routes({STATUS: status(0), UPLOAD: (200, ok(speaker_id=SPEAKER))}))

    # When uploaded / Then the text is the standard script's, in recording order
    adapter.create_task(training_request(texts=False, speaker_id=SPEAKER), InlineAudio())
    (body,) = recorder.bodies(UPLOAD)
    assert body["audios"][0]["text"].split("\n") == [t.text for t in STANDARD_SCRIPT[:3]]


def test_the_status_call_is_a_post_with_the_app_and_speaker() -> None:
    # Given a slot in training
    adapter, recorder = adapter_with(routes({STATUS: status(1)}))

    # When its status is asked
    adapter.get_status(SPEAKER)

    # Then it is a JSON POST (not a GET:
    # docs/vendors/volcengine.md#where-other-descriptions-of-the-api-differ)
    # with the bearer token and Resource-Id
    (request,) = recorder.requests
    assert request.method == "POST" and request.url.path == STATUS and not request.url.query
    assert json.loads(request.content) == {"appid": APPID, "speaker_id": SPEAKER}
    assert request.headers["Authorization"] == f"Bearer;{TOKEN}"
    assert request.headers["Resource-Id"] == "seed-icl-1.0"


def test_the_console_call_is_v4_signed_as_the_official_sdk_signs_it() -> None:
    # Given a console listing
    adapter, recorder = adapter_with(routes({LIST: listing(row("S_pool001", "Success"))}))

    # When the voices are listed
    adapter.list_voices()

    # Then the request goes to the console with Action and Version, and the SDK signs it identically
    (request,) = recorder.requests
    assert request.url.host == "open.volcengineapi.com" and request.url.path == "/"
    assert dict(request.url.params) == {"Action": LIST, "Version": "2023-11-07"}
    assert request.headers["X-Content-Sha256"] == volc_v4.content_sha256(request.content)
    sdk = Request()
    sdk.set_method("POST")
    sdk.set_path("/")
    sdk.set_query(OrderedDict(request.url.params))
    sdk.set_headers(
        OrderedDict({"Host": request.headers["Host"], "Content-Type": request.headers["Content-Type"]})
    )
    sdk.set_body(request.content)
    with mock.patch.object(SignerV4, "get_current_format_date", return_value=request.headers["X-Date"]):
        SignerV4.sign(sdk, Credentials(AK, SK, "speech_saas_prod", "cn-north-1"))
    assert request.headers["Authorization"] == sdk.headers["Authorization"]
    assert json.loads(request.content) == {"AppID": APPID, "PageNumber": 1, "PageSize": 100}


# ----- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "state", "vendor_state"),
    [
        (0, TrainingState.PENDING, "NotFound"),
        (1, TrainingState.RUNNING, "Training"),
        (2, TrainingState.SUCCEEDED, "Success"),
        (3, TrainingState.FAILED, "Failed"),
        (4, TrainingState.SUCCEEDED, "Active"),
        (9, TrainingState.RUNNING, "9"),
    ],
)
def test_the_status_enum_maps_to_training_states(value: int, state: TrainingState, vendor_state: str) -> None:
    # Given the data plane's integer status
    adapter, _ = adapter_with(routes({STATUS: status(value, create_time=1701055304000, version="V1")}))

    # When read
    result = adapter.get_status(SPEAKER)

    # Then 2 and 4 are both usable voices, 3 a failure, 0 not registered yet
    assert (result.task_id, result.state, result.vendor_state) == (SPEAKER, state, vendor_state)
    if state is TrainingState.SUCCEEDED:
        assert result.voice is not None
        assert (result.voice.vendor, result.voice.voice_id) == ("volcengine", SPEAKER)
        assert result.voice.details == {
            "speaker_id": SPEAKER,
            "cluster": "volcano_icl",
            "resource_id": "seed-icl-1.0",
        }
    else:
        assert result.voice is None
    if state is TrainingState.FAILED:
        assert result.error_code == "TrainingFailed" and SPEAKER in result.error_message
    else:
        assert result.error_code == "" and result.error_message == ""


# ----- error mapping -------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(AUDIO_REASONS))
def test_audio_codes_become_rejections_with_a_reason_a_person_understands(code: int) -> None:
    # Given an upload Volcengine answers with HTTP 200 and an audio StatusCode
    adapter, _ = adapter_with(routes({STATUS: status(0), UPLOAD: (200, failed(code, "vendor words"))}))

    # When uploaded
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(speaker_id=SPEAKER), InlineAudio())

    # Then the job is rejected with the readable reason; the vendor's code, words and log id are kept
    error = raised.value
    assert (error.code, error.message) == (str(code), AUDIO_REASONS[code])
    assert error.details["vendor_message"] == "vendor words"
    assert error.details["request_id"] == "logid-123"
    assert error.details["speaker_id"] == SPEAKER


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (1111, "no speech was detected"),
        (1112, "too much background noise"),
        (1109, "does not match the script"),
        (1123, "used all 10 training uploads: use another slot"),
        (1105, "could not be read"),
    ],
)
def test_the_common_audio_reasons_say_what_to_do(code: int, words: str) -> None:
    # Given the reasons table / Then the common failures name the problem and the remedy
    assert words in AUDIO_REASONS[code]


def test_an_unlisted_audio_code_keeps_the_vendor_words() -> None:
    # Given a code inside the audio range that the table does not name
    adapter, _ = adapter_with(routes({STATUS: status(0), UPLOAD: (200, failed(1115, "odd audio"))}))

    # When uploaded / Then it is still a rejection, with Volcengine's words
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(speaker_id=SPEAKER), InlineAudio())
    assert raised.value.code == "1115" and "odd audio" in raised.value.message


@pytest.mark.parametrize(
    ("http_status", "body", "error_type", "code"),
    [
        (401, failed(1001, "invalid token"), VendorAuthError, "1001"),
        (403, "forbidden", VendorAuthError, "HTTP403"),
        (429, failed(429, "slow down"), VendorThrottled, "429"),
        (429, "", VendorThrottled, "HTTP429"),
        (500, failed(500, "internal"), VendorUnavailable, "500"),
        (503, "", VendorUnavailable, "HTTP503"),
        (200, "<html>proxy</html>", VendorUnavailable, "BadResponse"),
        (400, failed(1001, "speaker_id is missing"), VendorRejected, "1001"),
        (400, "bad request", VendorRejected, "HTTP400"),
        (200, failed(1101, "upload failed"), VendorUnavailable, "1101"),
        (200, failed(1001, "too many requests, qps limit"), VendorThrottled, "1001"),
        (200, failed(1001, "requested resource not granted"), VendorAuthError, "1001"),
        (200, failed(1001, "bad params"), VendorRejected, "1001"),
        (200, failed(42, ""), VendorRejected, "42"),
    ],
)
def test_data_plane_errors_map_by_http_status_and_status_code(
    http_status: int, body: Any, error_type: type[Exception], code: str
) -> None:
    # Given a status call answered with an error
    adapter, _ = adapter_with(routes({STATUS: (http_status, body)}))

    # When asked / Then the error class says whether to retry, fix the configuration or give up
    with pytest.raises(error_type) as raised:
        adapter.get_status(SPEAKER)
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert type(raised.value) is error_type


def test_a_non_zero_status_code_fails_even_on_http_200() -> None:
    # Given HTTP 200 with StatusCode 1107 (the slot is not the app's)
    adapter, _ = adapter_with(routes({STATUS: (200, failed(1107, "SpeakerIDNotFoundError"))}))

    # When asked / Then it is a rejection telling where to check the slot id
    with pytest.raises(VendorRejected) as raised:
        adapter.get_status("S_other")
    assert raised.value.code == "1107" and "console" in raised.value.message


@pytest.mark.parametrize(
    ("answer", "error_type", "code"),
    [
        (console_error(401, "SignatureDoesNotMatch"), VendorAuthError, "SignatureDoesNotMatch"),
        (console_error(401, "InvalidAccessKey"), VendorAuthError, "InvalidAccessKey"),
        (console_error(403, "Forbidden.InvalidService"), VendorAuthError, "Forbidden.InvalidService"),
        (console_error(400, "InvalidParameter.AppID"), VendorAuthError, "InvalidParameter.AppID"),
        (console_error(200, "AccountFlowLimitExceeded"), VendorThrottled, "AccountFlowLimitExceeded"),
        (console_error(429, "AccountFlowLimitExceeded"), VendorThrottled, "AccountFlowLimitExceeded"),
        (console_error(200, "InternalError.NotCaptured"), VendorUnavailable, "InternalError.NotCaptured"),
        (console_error(500, "InternalError"), VendorUnavailable, "InternalError"),
        ((503, "upstream down"), VendorUnavailable, "HTTP503"),
        (
            console_error(400, "OperationDenied.InvalidSpeakerID"),
            VendorRejected,
            "OperationDenied.InvalidSpeakerID",
        ),
        ((403, "denied"), VendorAuthError, "HTTP403"),
        ((200, {"ResponseMetadata": {"RequestId": "r"}}), VendorUnavailable, "BadResponse"),
    ],
)
def test_console_errors_map_by_code(answer: tuple[int, Any], error_type: type[Exception], code: str) -> None:
    # Given a console listing answered with ResponseMetadata.Error (or something else)
    adapter, _ = adapter_with(routes({LIST: answer}))

    # When the voices are listed / Then the mapped error keeps the code (and the request id)
    with pytest.raises(error_type) as raised:
        adapter.list_voices()
    assert type(raised.value) is error_type
    assert raised.value.code == code  # type: ignore[attr-defined]
    if isinstance(answer[1], dict) and "Error" in answer[1]["ResponseMetadata"]:
        assert raised.value.details["request_id"] == "req-err"  # type: ignore[attr-defined]


# ----- choosing the speaker slot -------------------------------------------------------------


def test_a_free_pool_slot_is_chosen_from_the_console_listing() -> None:
    # Given a pool where one slot is trained, one is out of uploads and one was never trained
    adapter, recorder = adapter_with(
        routes(
            {
                LIST: listing(
                    row("S_pool001", "Success", AvailableTrainingTimes=9, ResourceID="seed-icl-1.0"),
                    row("S_pool002", "Unknown", AvailableTrainingTimes=0),
                    row("S_pool003", "Unknown"),
                )
            }
        )
    )

    # When the job's options are prepared
    options = adapter.prepare_options(training_request())

    # Then the untrained slot with uploads left is chosen, after asking about the pool only
    assert options == {"speaker_id": "S_pool003"}
    (body,) = recorder.bodies(LIST)
    assert body == {"AppID": APPID, "SpeakerIDs": list(POOL), "PageNumber": 1, "PageSize": 100}


def test_the_listing_is_followed_by_next_token() -> None:
    # Given a listing in two pages linked by NextToken, the free slot on the second
    adapter, recorder = adapter_with(
        routes(
            {
                LIST: [
                    listing(row("S_pool001", "Success"), next_token="page-2"),
                    listing(row("S_pool002", "Active"), row("S_pool003", "Unknown")),
                ]
            }
        )
    )

    # When the job's options are prepared
    options = adapter.prepare_options(training_request())

    # Then both pages were read, the second by its token
    assert options == {"speaker_id": "S_pool003"}
    first, second = recorder.bodies(LIST)
    assert "NextToken" not in first and first["PageNumber"] == 1
    assert second["NextToken"] == "page-2" and "PageNumber" not in second


def test_the_listing_is_followed_by_page_number_when_there_is_no_token() -> None:
    # Given pages of one row each, told apart only by TotalCount
    pages = [
        (200, {"ResponseMetadata": {}, "Result": {"TotalCount": 3, "PageSize": 1, "Statuses": [r]}})
        for r in (row("S_pool001", "Success"), row("S_pool002", "Training"), row("S_pool003", "Unknown"))
    ]
    adapter, recorder = adapter_with(routes({LIST: pages}))

    # When the job's options are prepared / Then pages 1, 2 and 3 were read
    assert adapter.prepare_options(training_request()) == {"speaker_id": "S_pool003"}
    assert [b["PageNumber"] for b in recorder.bodies(LIST)] == [1, 2, 3]


def test_no_free_slot_is_a_rejection_that_says_what_to_do() -> None:
    # Given a pool whose slots are all trained, one not even in the app
    adapter, _ = adapter_with(
        routes({LIST: listing(row("S_pool001", "Success"), row("S_pool002", "Expired"))})
    )

    # When the job's options are prepared
    with pytest.raises(VendorRejected) as raised:
        adapter.prepare_options(training_request())

    # Then the job is refused with what to do: buy a slot or pass one
    error = raised.value
    assert error.code == "NoFreeSpeakerId"
    assert "console" in error.message and "options.speaker_id" in error.message
    assert "S_pool003: not in this app" in error.details["slots"]


def test_no_pool_at_all_is_refused_without_asking_the_console() -> None:
    # Given no configured pool and no speaker_id
    adapter, recorder = adapter_with(routes({}), speaker_ids=())

    # When prepared / Then NoFreeSpeakerId, and no request was made
    with pytest.raises(VendorRejected) as raised:
        adapter.prepare_options(training_request())
    assert (
        raised.value.code == "NoFreeSpeakerId" and "VOICECLONE_VOLCENGINE_SPEAKER_IDS" in raised.value.message
    )
    assert recorder.requests == []


def test_concurrent_jobs_spread_over_free_slots_and_a_job_keeps_its_choice() -> None:
    # Given three free slots
    adapter, _ = adapter_with(routes({LIST: listing(*(row(s, "Unknown") for s in POOL))}))

    # When many jobs prepare their options
    chosen = {adapter.prepare_options(training_request(job_id=f"job-{n}"))["speaker_id"] for n in range(30)}
    again = {adapter.prepare_options(training_request(job_id="job-7"))["speaker_id"] for _ in range(3)}

    # Then they do not all take the same slot, and one job always takes the same one
    assert len(chosen) > 1 and len(again) == 1


@pytest.mark.parametrize(("value", "baseline"), [(0, None), (3, None), (2, "1701055304000/V1")])
def test_a_given_speaker_id_is_used_and_a_trained_one_remembered(value: int, baseline: str | None) -> None:
    # Given the client's own slot, never trained, failed or already holding a voice
    adapter, recorder = adapter_with(routes({STATUS: status(value, create_time=1701055304000, version="V1")}))

    # When prepared
    options = adapter.prepare_options(training_request(speaker_id=SPEAKER))

    # Then that slot is used without the console, and a trained slot's status is kept to compare later
    expected = (
        {"speaker_id": SPEAKER} if baseline is None else {"speaker_id": SPEAKER, OPTION_BASELINE: baseline}
    )
    assert options == expected
    assert [route(r) for r in recorder.requests] == [STATUS]


@pytest.mark.parametrize(("value", "code"), [(4, "SpeakerActivated"), (1, "SpeakerBusy")])
def test_a_given_speaker_id_that_cannot_be_trained_now_is_refused(value: int, code: str) -> None:
    # Given the client's slot is activated, or training
    adapter, _ = adapter_with(routes({STATUS: status(value)}))

    # When prepared / Then the job is refused, naming the slot
    with pytest.raises(VendorRejected) as raised:
        adapter.prepare_options(training_request(speaker_id=SPEAKER))
    assert raised.value.code == code and SPEAKER in raised.value.message


# ----- exactly one upload --------------------------------------------------------------------


@pytest.mark.parametrize(("value", "found"), [(0, False), (1, True), (2, True), (3, False), (4, True)])
def test_find_existing_task_asks_the_status_before_a_re_upload(value: int, found: bool) -> None:
    # Given the slot's status after an upload whose answer was lost
    adapter, _ = adapter_with(routes({STATUS: status(value)}))

    # When the workflow asks before retrying / Then Training, Success and Active mean the upload happened
    assert adapter.find_existing_task(training_request(speaker_id=SPEAKER)) == (SPEAKER if found else None)


def test_find_existing_task_tells_a_new_training_from_the_old_voice() -> None:
    # Given a retrained slot whose job recorded its old status
    request = training_request().model_copy(
        update={"options": {"speaker_id": SPEAKER, OPTION_BASELINE: "1000/V1"}}
    )
    unchanged, _ = adapter_with(routes({STATUS: status(2, create_time=1000, version="V1")}))
    retrained, _ = adapter_with(routes({STATUS: status(2, create_time=2000, version="V2")}))

    # When asked / Then the old voice is not taken for the job's upload, a newer one is
    assert unchanged.find_existing_task(request) is None
    assert retrained.find_existing_task(request) == SPEAKER


def test_find_existing_task_without_a_slot_asks_nothing() -> None:
    # Given a request with no slot yet / When asked / Then None, and no request was made
    adapter, recorder = adapter_with(routes({}))
    assert adapter.find_existing_task(training_request()) is None
    assert recorder.requests == []


def test_a_slot_trained_by_someone_else_since_it_was_chosen_is_not_uploaded_to() -> None:
    # Given a pool slot that another job started training after this job chose it
    adapter, recorder = adapter_with(routes({STATUS: status(1)}))

    # When this job uploads / Then it is refused before spending an upload
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(speaker_id=SPEAKER), InlineAudio())
    assert raised.value.code == "SpeakerTaken"
    assert [route(r) for r in recorder.requests] == [STATUS]


def test_a_recording_over_ten_megabytes_is_refused_before_upload() -> None:
    # Given an assembled recording larger than Volcengine accepts
    adapter, recorder = adapter_with(routes({STATUS: status(0)}))

    # When uploaded / Then it is refused with the sizes, no upload spent
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(speaker_id=SPEAKER), InlineAudio(b"\0" * (MAX_AUDIO_BYTES + 1)))
    assert raised.value.code == "AudioTooLarge" and "10 MB" in raised.value.message
    assert UPLOAD not in [route(r) for r in recorder.requests]


def test_a_lost_upload_answer_is_a_retryable_error() -> None:
    # Given an upload whose connection drops without an answer
    def answer(request: httpx.Request) -> tuple[int, Any]:
        if request.url.path == UPLOAD:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return status(0)

    adapter, _ = adapter_with(answer)

    # When uploaded / Then the workflow is told to retry (and will ask find_existing_task first)
    with pytest.raises(VendorUnavailable) as raised:
        adapter.create_task(training_request(speaker_id=SPEAKER), InlineAudio())
    assert raised.value.code == "NetworkError" and raised.value.details["speaker_id"] == SPEAKER


# ----- the rest of the interface -------------------------------------------------------------


def test_list_voices_returns_the_usable_slots_across_pages() -> None:
    # Given slots in every console state over two pages
    adapter, _ = adapter_with(
        routes(
            {
                LIST: [
                    listing(
                        row(
                            "S_a",
                            "Success",
                            ResourceID="seed-icl-2.0",
                            AvailableTrainingTimes=8,
                            Version="V2",
                        ),
                        row("S_b", "Unknown"),
                        next_token="t",
                    ),
                    listing(row("S_c", "Active", ExpireTime=1792943999000), row("S_d", "Expired")),
                ]
            }
        )
    )

    # When listed / Then Success and Active are the voices, with what TTS needs
    voices = adapter.list_voices()
    assert [v.voice_id for v in voices] == ["S_a", "S_c"]
    assert (
        voices[0].details["resource_id"] == "seed-icl-2.0" and voices[0].details["cluster"] == "volcano_icl"
    )
    assert voices[0].details["available_training_times"] == 8
    assert voices[1].details["resource_id"] == "seed-icl-1.0" and voices[1].details["state"] == "Active"


def test_there_is_no_callback_and_no_delete() -> None:
    # Given the adapter / When a callback or a delete is asked / Then both are refused, saying why
    adapter, recorder = adapter_with(routes({}))
    with pytest.raises(VendorRejected) as callback:
        adapter.parse_callback(b"{}")
    with pytest.raises(VendorRejected) as delete:
        adapter.delete_voice(VendorVoice(vendor="volcengine", voice_id=SPEAKER))
    assert callback.value.code == "NoCallback" and delete.value.code == "NotSupported"
    assert recorder.requests == []
