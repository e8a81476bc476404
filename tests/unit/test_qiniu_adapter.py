"""The Qiniu xrobo adapter against recorded vendor responses (no network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.qiniu import (
    PAID_SLOT_CANCEL_MESSAGE,
    PAID_SLOT_MESSAGE,
    QiniuAdapter,
    slot_name,
)

from tests.unit.conftest import Recorder
from tests.unit.conftest import routes as recorded_routes

API_KEY = "qiniu-test-key"
ENDPOINT = "https://xrobo.qiniu.com"
JOB_ID = "3f2a9c1e7b6d4a0f8e5c2b1a9d8e7f60"
NAME = slot_name(JOB_ID)
VOICE_ID = "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"
AUDIO_URL = "https://bucket.example/assembled.wav?X-Amz-Signature=abc"

Answer = Callable[[httpx.Request], tuple[int, Any]]


def voice(**fields: Any) -> dict[str, Any]:
    """A voice object as the current doc revision shows it."""
    return {
        "id": VOICE_ID,
        "name": "复刻音色-4d5e6",
        "language": "zh",
        "demo_url": "",
        "state": "Init",
        "tier": "free",
        **fields,
    }


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "", "reqid": "req-ok", "data": data}


def err(code: int, msg: str = "boom") -> dict[str, Any]:
    return {"code": code, "msg": msg, "reqid": "req-err", "data": {}}


def routes(table: dict[tuple[str, str], tuple[int, Any]]) -> Answer:
    """Answer by (method, path); anything else fails the test."""
    return recorded_routes(dict(table), key=lambda request: (request.method, request.url.path))


def adapter_with(answer: Answer) -> tuple[QiniuAdapter, Recorder]:
    recorder = Recorder(answer)
    return QiniuAdapter(ENDPOINT, API_KEY, transport=recorder.transport), recorder


def training_request(job_id: str = JOB_ID, **options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=job_id,
        session_id="session-1",
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id=t.text_id, s3_key=f"k/{t.text_id}") for t in STANDARD_SCRIPT[:6]],
        options=options,
    )


class UrlAudio:
    """Qiniu downloads the assembled file itself: only its URL may be read."""

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        raise AssertionError("read")

    def document(self, name: str) -> bytes:
        raise AssertionError("read")

    def assembled_url(self) -> str:
        return AUDIO_URL


ONE = f"/v1/voice-clones/{VOICE_ID}"
# The voice as get_status gives it on success: the slot id is the voice id.
VOICE = VendorVoice(vendor="qiniu", voice_id=VOICE_ID, details={"voice_id": VOICE_ID, "name": NAME})


# ----- configuration and shape ---------------------------------------------------------------


def test_capabilities_ask_for_six_sentences_in_one_file_by_url_and_polling() -> None:
    # Given the adapter class / Then it polls, takes one assembled file by URL and reads six sentences
    caps = QiniuAdapter.capabilities
    assert (caps.sentence_check, caps.completion, caps.audio_transport, caps.audio_files) == (
        "local",
        "polling",
        "url",
        "single",
    )
    assert (caps.sentence_count, caps.poll_initial_seconds, caps.poll_max_seconds) == (6, 30, 300)
    # And it renames, deletes, and cancels (by deleting the slot) at Qiniu
    assert (caps.rename_voice, caps.delete_voice, caps.cancel_task) == (True, True, True)
    adapter, _ = adapter_with(routes({}))
    assert [t.text_id for t in adapter.training_texts()] == [t.text_id for t in STANDARD_SCRIPT[:6]]


def test_from_environment_reads_the_key_and_defaults_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only a key in the environment
    monkeypatch.delenv("VOICECLONE_QINIU_ENDPOINT", raising=False)
    monkeypatch.delenv("VOICECLONE_QINIU_SECRET_ARN", raising=False)
    monkeypatch.setenv("VOICECLONE_QINIU_API_KEY", "k-from-env")
    # When the adapter is configured / Then it talks to Qiniu's public endpoint
    assert QiniuAdapter.from_environment().endpoint == "https://xrobo.qiniu.com"
    # And without a key it says which variable to set
    monkeypatch.delenv("VOICECLONE_QINIU_API_KEY")
    with pytest.raises(VendorAuthError) as info:
        QiniuAdapter.from_environment()
    assert "VOICECLONE_QINIU_API_KEY" in info.value.message


def test_every_request_carries_the_bearer_key_and_json_bodies_are_json() -> None:
    # Given a vendor that creates a slot
    adapter, recorder = adapter_with(
        routes(
            {
                ("GET", "/v1/voice-clones"): (200, ok({"voices": []})),
                ("POST", "/v1/voice-clones"): (200, ok(voice())),
                ("PUT", ONE): (200, ok(voice(name=NAME))),
            }
        )
    )
    # When the job's slot is prepared
    adapter.prepare_options(training_request())
    # Then each request is authorised with the key; those with a body declare JSON
    for request in recorder.requests:
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        if request.content:
            assert request.headers["Content-Type"] == "application/json"


def test_slot_names_are_short_stable_and_distinct_per_job() -> None:
    # Given job ids as the service makes them (uuid4 hex) and one in another format
    other = "job/2024-01-01/000000000000000000001"
    names = {slot_name(JOB_ID), slot_name("0" * 32), slot_name(other), slot_name(other[:-1] + "2")}
    # Then every name fits Qiniu's 20 characters, is the same on every call and differs between jobs
    assert len(names) == 4
    assert all(len(n) <= 20 for n in names)
    assert slot_name(JOB_ID) == slot_name(JOB_ID) == "vc-" + JOB_ID[:17]


# ----- prepare_options -----------------------------------------------------------------------


def test_prepare_creates_a_free_zh_slot_and_names_it_for_the_job() -> None:
    # Given an account with only a console user's slot (default name, not ours)
    foreign = voice(id="f" * 32, name="复刻音色-fffff")
    adapter, recorder = adapter_with(
        routes(
            {
                ("GET", "/v1/voice-clones"): (200, ok({"voices": [foreign]})),
                ("POST", "/v1/voice-clones"): (200, ok(voice())),
                ("PUT", ONE): (200, ok(voice(name=NAME))),
            }
        )
    )
    # When the job's slot is prepared
    options = adapter.prepare_options(training_request())
    # Then a free zh slot is created and renamed (not trained) for the job
    assert options == {"voice_id": VOICE_ID}
    assert recorder.calls() == [
        ("GET", "/v1/voice-clones", None),
        ("POST", "/v1/voice-clones", {"language": "zh", "tier": "free"}),
        ("PUT", ONE, {"key": "", "name": NAME}),
    ]


def test_prepare_again_for_the_same_job_finds_its_slot() -> None:
    # Given the slot an earlier, lost prepare of this job made
    adapter, recorder = adapter_with(
        routes({("GET", "/v1/voice-clones"): (200, ok({"voices": [voice(name=NAME)]}))})
    )
    # When prepared again / Then it is reused without creating or renaming anything
    assert adapter.prepare_options(training_request()) == {"voice_id": VOICE_ID}
    assert [r.method for r in recorder.requests] == ["GET"]


def test_prepare_never_takes_another_jobs_slot() -> None:
    # Given slots we cannot take: a console user's, ours trained, a pro one, an English one;
    # and an untrained slot of another job (it may be that job's slot between its prepare
    # and its training, so taking it made 19 of 20 concurrent jobs fail SlotTaken)
    others = [
        voice(id="1" * 32, name="复刻音色-11111"),
        voice(id="2" * 32, name=slot_name("a" * 32), state="Training"),
        voice(id="3" * 32, name=slot_name("b" * 32), state="Success"),
        voice(id="4" * 32, name=slot_name("c" * 32), tier="pro"),
        voice(id="6" * 32, name=slot_name("e" * 32), language="en"),
        voice(id="5" * 32, name=slot_name("d" * 32)),
    ]
    adapter, recorder = adapter_with(
        routes(
            {
                ("GET", "/v1/voice-clones"): (200, ok({"voices": others})),
                ("POST", "/v1/voice-clones"): (200, ok(voice())),
                ("PUT", ONE): (200, ok(voice(name=NAME))),
            }
        )
    )
    # When the job's slot is prepared
    options = adapter.prepare_options(training_request())
    # Then a slot of its own is created and named for it; no other slot is renamed
    assert options == {"voice_id": VOICE_ID}
    assert recorder.calls()[1:] == [
        ("POST", "/v1/voice-clones", {"language": "zh", "tier": "free"}),
        ("PUT", ONE, {"key": "", "name": NAME}),
    ]


class SlotAccount:
    """A Qiniu account's slots, kept in memory and changed by the requests, as the service does."""

    def __init__(self, slots: list[dict[str, Any]] | None = None) -> None:
        self.slots = {s["id"]: s for s in slots or []}
        self.lock = threading.Lock()
        self.listed = threading.Barrier(2)  # both jobs have listed the slots before either goes on

    def __call__(self, request: httpx.Request) -> tuple[int, Any]:
        path, method = request.url.path, request.method
        with self.lock:
            if (method, path) == ("GET", "/v1/voice-clones"):
                answer: tuple[int, Any] = (200, ok({"voices": [dict(s) for s in self.slots.values()]}))
            elif (method, path) == ("POST", "/v1/voice-clones"):
                slot = voice(id=f"{len(self.slots):032x}")
                self.slots[slot["id"]] = slot
                answer = (200, ok(dict(slot)))
            else:
                slot = self.slots[path.rsplit("/", 1)[1]]
                if method == "PUT":
                    body = json.loads(request.content)
                    slot["name"] = body["name"]
                    slot["state"] = "Training" if body["key"] else slot["state"]
                answer = (200, ok(dict(slot)))
        if (method, path) == ("GET", "/v1/voice-clones"):
            self.listed.wait(timeout=10)
        return answer


def test_two_jobs_preparing_at_once_never_share_a_slot() -> None:
    # Given an account with an untrained slot an earlier job left, and two new jobs
    left = voice(id="e" * 32, name=slot_name("d" * 32))
    account = SlotAccount([left])
    jobs = ["1" * 32, "2" * 32]
    # When both prepare at the same moment (each lists the slots before the other creates or renames)
    adapter = QiniuAdapter(ENDPOINT, API_KEY, transport=httpx.MockTransport(Recorder(account)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        chosen = list(pool.map(lambda job: adapter.prepare_options(training_request(job))["voice_id"], jobs))
    # Then each has a slot of its own, named for it, and the slot left behind is untouched
    assert len(set(chosen)) == 2 and left["id"] not in chosen
    assert [account.slots[v]["name"] for v in chosen] == [slot_name(j) for j in jobs]
    assert account.slots[left["id"]]["name"] == slot_name("d" * 32)
    # And each then trains its slot: neither finds it taken
    for job, voice_id in zip(jobs, chosen, strict=True):
        assert adapter.create_task(training_request(job, voice_id=voice_id), UrlAudio()) == voice_id
    assert {account.slots[v]["state"] for v in chosen} == {"Training"}


def test_prepare_keeps_a_slot_already_chosen() -> None:
    # Given a job whose options already hold its slot / When prepared / Then no request is made
    adapter, recorder = adapter_with(routes({}))
    assert adapter.prepare_options(training_request(voice_id=VOICE_ID)) == {"voice_id": VOICE_ID}
    assert recorder.requests == []


# ----- create_task and find_existing_task ----------------------------------------------------


def test_create_task_trains_the_slot_from_the_audio_url() -> None:
    # Given the job's untrained slot
    adapter, recorder = adapter_with(
        routes({("GET", ONE): (200, ok(voice(name=NAME))), ("PUT", ONE): (200, ok(voice(name=NAME)))})
    )
    # When training is started
    task_id = adapter.create_task(training_request(voice_id=VOICE_ID), UrlAudio())
    # Then the slot is PUT with the assembled file's URL and the job's name; the slot id is the task id
    assert task_id == VOICE_ID
    assert recorder.calls() == [("GET", ONE, None), ("PUT", ONE, {"key": AUDIO_URL, "name": NAME})]


@pytest.mark.parametrize("state", ["Training", "Success", "Failed"])
def test_create_task_does_not_train_twice(state: str) -> None:
    # Given the job's slot already trained by an earlier create
    adapter, recorder = adapter_with(routes({("GET", ONE): (200, ok(voice(name=NAME, state=state)))}))
    # When create is called again / Then it answers the slot without a second PUT
    assert adapter.create_task(training_request(voice_id=VOICE_ID), UrlAudio()) == VOICE_ID
    assert [r.method for r in recorder.requests] == ["GET"]


def test_create_task_refuses_a_slot_another_job_took() -> None:
    # Given the job's slot renamed by another job since it was prepared
    adapter, recorder = adapter_with(routes({("GET", ONE): (200, ok(voice(name=slot_name("9" * 32))))}))
    # When training is started / Then it is refused, and nothing is trained
    with pytest.raises(VendorRejected) as info:
        adapter.create_task(training_request(voice_id=VOICE_ID), UrlAudio())
    assert info.value.code == "SlotTaken"
    assert [r.method for r in recorder.requests] == ["GET"]


def test_create_task_without_a_prepared_slot_is_rejected() -> None:
    # Given a request without options / When training is started / Then a clear rejection, no request
    adapter, recorder = adapter_with(routes({}))
    with pytest.raises(VendorRejected) as info:
        adapter.create_task(training_request(), UrlAudio())
    assert info.value.code == "NoVoiceSlot"
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("state", "name", "found"),
    [
        ("Init", NAME, False),
        ("Training", NAME, True),
        ("Success", NAME, True),
        ("Failed", NAME, True),
        ("Training", slot_name("9" * 32), False),
    ],
)
def test_find_existing_task_answers_the_slot_once_its_training_began(
    state: str, name: str, found: bool
) -> None:
    # Given the job's slot in some state / When asked whether the lost create happened
    adapter, _ = adapter_with(routes({("GET", ONE): (200, ok(voice(name=name, state=state)))}))
    # Then the slot id only when this job's PUT started a training
    assert adapter.find_existing_task(training_request(voice_id=VOICE_ID)) == (VOICE_ID if found else None)


def test_find_existing_task_without_a_slot_asks_nothing() -> None:
    adapter, recorder = adapter_with(routes({}))
    assert adapter.find_existing_task(training_request()) is None
    assert recorder.requests == []


# ----- status, callback, listing, delete -----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "state", "message"),
    [
        ({"state": "Init"}, TrainingState.RUNNING, ""),
        ({"state": "Training"}, TrainingState.RUNNING, ""),
        ({"state": "Success"}, TrainingState.SUCCEEDED, ""),
        ({"state": "Failed", "reason": "the audio is silent"}, TrainingState.FAILED, "the audio is silent"),
        ({"state": "Failed"}, TrainingState.FAILED, "Qiniu reported the training as Failed without a reason"),
        ({"state": "Queued"}, TrainingState.RUNNING, ""),
    ],
)
def test_status_mapping(fields: dict[str, Any], state: TrainingState, message: str) -> None:
    # Given a slot in a Qiniu state / When its status is asked for
    adapter, recorder = adapter_with(routes({("GET", ONE): (200, ok(voice(name=NAME, **fields)))}))
    status = adapter.get_status(VOICE_ID)
    # Then the state maps, the vendor's state is kept, and only a success carries a voice
    assert recorder.calls() == [("GET", ONE, None)]
    assert (status.task_id, status.state, status.vendor_state) == (VOICE_ID, state, fields["state"])
    assert status.error_message == message
    assert status.error_code == ("TrainingFailed" if state is TrainingState.FAILED else "")
    if state is TrainingState.SUCCEEDED:
        assert status.voice is not None
        assert (status.voice.vendor, status.voice.voice_id) == ("qiniu", VOICE_ID)
        assert status.voice.details == {"voice_id": VOICE_ID, "name": NAME}
    else:
        assert status.voice is None


def test_there_is_no_callback() -> None:
    adapter, _ = adapter_with(routes({}))
    with pytest.raises(VendorRejected) as info:
        adapter.parse_callback(b"{}")
    assert info.value.code == "NoCallback"


def test_list_voices_shows_every_slot_with_its_state() -> None:
    # Given two slots / When listed / Then both, with state and tier in the details
    voices = [voice(name=NAME, state="Success"), voice(id="7" * 32, state="Init", tier="pro")]
    adapter, _ = adapter_with(routes({("GET", "/v1/voice-clones"): (200, ok({"voices": voices}))}))
    listed = adapter.list_voices()
    assert [(v.vendor, v.voice_id, v.details["state"], v.details["tier"]) for v in listed] == [
        ("qiniu", VOICE_ID, "Success", "free"),
        ("qiniu", "7" * 32, "Init", "pro"),
    ]


def test_delete_voice_sends_delete() -> None:
    adapter, recorder = adapter_with(routes({("DELETE", ONE): (200, ok({}))}))
    adapter.delete_voice(VOICE)
    assert recorder.calls() == [("DELETE", ONE, None)]


@pytest.mark.parametrize("status", [403, 200])
def test_deleting_a_paid_slot_is_a_clear_rejection(status: int) -> None:
    # Given Qiniu's 403 for a pro slot, as an HTTP status or inside a 200 body
    adapter, _ = adapter_with(routes({("DELETE", ONE): (status, err(403, "付费音色不能删除"))}))
    # When deleted / Then a rejection that says why, keeping Qiniu's own words and request id
    with pytest.raises(VendorRejected) as info:
        adapter.delete_voice(VOICE)
    assert (info.value.code, info.value.message) == ("403", PAID_SLOT_MESSAGE)
    assert info.value.details["vendor_message"] == "付费音色不能删除"
    assert info.value.details["request_id"] == "req-err"


def test_deleting_a_voice_already_gone_is_done() -> None:
    # Given a retried delete whose first answer was lost / When Qiniu says 404 / Then nothing is raised
    adapter, _ = adapter_with(routes({("DELETE", ONE): (404, err(404, "voice not found"))}))
    adapter.delete_voice(VOICE)


# ----- rename and cancel ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["新名字", "声" * 20, "a"])
def test_rename_puts_an_empty_key_and_the_name(name: str) -> None:
    # Given a trained voice / When renamed with up to 20 characters
    adapter, recorder = adapter_with(routes({("PUT", ONE): (200, ok(voice(name=name, state="Success")))}))
    adapter.rename_voice(VOICE, name)
    # Then one PUT of the slot with an empty key (rename only, no training) and the name as given
    assert recorder.calls() == [("PUT", ONE, {"key": "", "name": name})]


def test_a_name_over_twenty_characters_is_rejected_before_anything_is_sent() -> None:
    # Given 21 characters (Qiniu counts 汉字 as one each) / When renamed
    adapter, recorder = adapter_with(routes({}))
    with pytest.raises(VendorRejected) as info:
        adapter.rename_voice(VOICE, "声" * 21)
    # Then NameTooLong, saying the limit, and Qiniu is not asked
    assert info.value.code == "NameTooLong"
    assert "at most 20 characters" in info.value.message and "21" in info.value.message
    assert info.value.details["max_chars"] == 20
    assert recorder.requests == []


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_rejected(name: str) -> None:
    adapter, recorder = adapter_with(routes({}))
    with pytest.raises(VendorRejected) as info:
        adapter.rename_voice(VOICE, name)
    assert info.value.code == "InvalidName" and recorder.requests == []


def test_renaming_a_voice_qiniu_no_longer_has_is_its_404() -> None:
    adapter, _ = adapter_with(routes({("PUT", ONE): (200, err(404, "voice not found"))}))
    with pytest.raises(VendorRejected) as info:
        adapter.rename_voice(VOICE, "新名字")
    assert info.value.code == "404"


def test_cancel_deletes_the_jobs_slot() -> None:
    # Given a job training its slot (the slot id is the task id) / When cancelled
    adapter, recorder = adapter_with(routes({("DELETE", ONE): (200, ok({}))}))
    adapter.cancel_task(VOICE_ID)
    # Then the slot is deleted: Qiniu has no cancel, deleting is the only way to stop training
    assert recorder.calls() == [("DELETE", ONE, None)]


@pytest.mark.parametrize("status", [404, 200])
def test_cancelling_a_slot_already_gone_is_done(status: int) -> None:
    adapter, _ = adapter_with(routes({("DELETE", ONE): (status, err(404, "voice not found"))}))
    adapter.cancel_task(VOICE_ID)


def test_a_paid_slot_cannot_be_cancelled_and_says_why() -> None:
    adapter, _ = adapter_with(routes({("DELETE", ONE): (403, err(403, "付费音色不能删除"))}))
    with pytest.raises(VendorRejected) as info:
        adapter.cancel_task(VOICE_ID)
    assert (info.value.code, info.value.message) == ("403", PAID_SLOT_CANCEL_MESSAGE)
    assert info.value.details["vendor_message"] == "付费音色不能删除"


def test_a_cancel_during_an_outage_is_retryable() -> None:
    adapter, _ = adapter_with(routes({("DELETE", ONE): (503, "upstream down")}))
    with pytest.raises(VendorUnavailable):
        adapter.cancel_task(VOICE_ID)


# ----- the error mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code"),
    [
        # The code inside a 200 body
        (200, err(400, "name too long"), VendorRejected, "400"),
        (200, err(401, "token expired"), VendorAuthError, "401"),
        (200, err(403, "forbidden"), VendorRejected, "403"),
        (200, err(404, "voice not found"), VendorRejected, "404"),
        (200, err(429, "too many requests"), VendorThrottled, "429"),
        (200, err(500, "internal error"), VendorUnavailable, "500"),
        (200, err(503, "busy"), VendorUnavailable, "503"),
        (200, err(1001, "Rate limit exceeded"), VendorThrottled, "1001"),
        (200, err(1002, "请求过于频繁"), VendorThrottled, "1002"),
        (200, err(1003, "something else"), VendorRejected, "1003"),
        # The code as the HTTP status (with the envelope, or with a body that is not Qiniu's)
        (400, err(400, "bad params"), VendorRejected, "400"),
        (401, err(401, "unauthorized"), VendorAuthError, "401"),
        (403, err(403, "forbidden"), VendorRejected, "403"),
        (404, err(404, "not found"), VendorRejected, "404"),
        (401, err(0, ""), VendorAuthError, "401"),
        (401, "Unauthorized", VendorAuthError, "401"),
        (404, "<html>404</html>", VendorRejected, "404"),
        # 429 and 5xx statuses are retryable and keep Qiniu's code; HTTP<status> when the body has none
        (429, err(429, "slow down"), VendorThrottled, "429"),
        (429, {"code": 429, "message": "rate limited"}, VendorThrottled, "429"),
        (429, "slow down", VendorThrottled, "HTTP429"),
        (500, err(500, "internal"), VendorUnavailable, "500"),
        (503, err(0, ""), VendorUnavailable, "HTTP503"),
        (502, "bad gateway", VendorUnavailable, "HTTP502"),
        # A 200 that is not the API
        (200, "<html>login</html>", VendorUnavailable, "HTTP200"),
        (200, {"unexpected": True}, VendorUnavailable, "HTTP200"),
        (200, {"code": "zero"}, VendorUnavailable, "HTTP200"),
    ],
)
def test_errors_map_to_the_taxonomy_with_the_vendor_code(
    status: int, body: Any, error_type: type[VendorError], code: str
) -> None:
    # Given Qiniu answering a status poll this way
    adapter, _ = adapter_with(lambda request: (status, body))
    # When the status is asked for
    with pytest.raises(error_type) as info:
        adapter.get_status(VOICE_ID)
    # Then the error has the class and Qiniu's code, and serialises with them for the workflow
    assert type(info.value) is error_type
    assert info.value.code == code
    assert json.loads(str(info.value))["code"] == code
    assert info.value.vendor == "qiniu"


def test_the_envelope_message_and_request_id_are_kept() -> None:
    # Given a refusal with Qiniu's msg and reqid / When it is raised / Then both are on the error
    adapter, _ = adapter_with(lambda request: (200, err(400, "name 必填")))
    with pytest.raises(VendorRejected) as info:
        adapter.get_status(VOICE_ID)
    assert info.value.message == "name 必填"
    assert json.loads(str(info.value))["request_id"] == "req-err"


def test_an_empty_message_gets_one_that_says_what_to_fix() -> None:
    adapter, _ = adapter_with(lambda request: (401, err(401, "")))
    with pytest.raises(VendorAuthError) as info:
        adapter.get_status(VOICE_ID)
    assert "api_key" in info.value.message


def test_a_success_without_a_voice_object_is_retryable() -> None:
    # Given a 200 envelope whose data is not a voice / When read / Then a retryable BadResponse
    adapter, _ = adapter_with(lambda request: (200, ok({"nothing": "here"})))
    with pytest.raises(VendorUnavailable) as info:
        adapter.get_status(VOICE_ID)
    assert info.value.code == "BadResponse"
    adapter, _ = adapter_with(lambda request: (200, ok({"voices": "nope"})))
    with pytest.raises(VendorUnavailable):
        adapter.list_voices()


def test_network_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter = QiniuAdapter(ENDPOINT, API_KEY, transport=httpx.MockTransport(refuse))
    with pytest.raises(VendorUnavailable) as info:
        adapter.get_status(VOICE_ID)
    assert info.value.code == "NetworkError"
