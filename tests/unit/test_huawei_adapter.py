"""The Huawei adapter's wire format and mappings, over recorded responses (httpx.MockTransport)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
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
from voiceclone.vendors.http import VendorHttp
from voiceclone.vendors.huawei import DEFAULT_ENDPOINT, HuaweiAdapter, batch_name
from voiceclone.vendors.signing import huawei as signer

from tests.helpers import wav_bytes
from tests.unit.conftest import Recorder

PROJECT = "3f0924078d1b471c884a5383d4dec9fa"
BASE = f"/v1/{PROJECT}/voice-training-manage"
AK, SK = "AKEXAMPLE", "sk-example"
OBS = "https://bucket.obs.cn-north-4.myhuaweicloud.com"
DATA_URL = f"{OBS}/job-1/data.zip?AccessKeyId=x&Signature=abc%2F&Expires=9"
LETTER_URL = f"{OBS}/job-1/letter?AccessKeyId=x&Signature=def&Expires=9"
WAV = wav_bytes(1.0)
LETTER = b"%PDF-1.4 letter"
Responder = Callable[[httpx.Request], httpx.Response]


class FakeAudio:
    """An AudioSource: one short WAV per sentence, a marker for the long WAV, and the letter."""

    def sentence_audio(self, text_id: str) -> bytes:
        return WAV + text_id.encode()

    def assembled_wav(self) -> bytes:
        return b"LONG" + WAV

    def assembled_url(self) -> str:
        raise AssertionError("Huawei takes uploads, not URLs")

    def document(self, name: str) -> bytes:
        assert name == "authorization_letter"
        return LETTER


def route(request: httpx.Request) -> str:
    """ "METHOD path" (API paths after the project prefix), or "METHOD host" for the upload host."""
    path = request.url.path
    return f"{request.method} {path.removeprefix(BASE) if path.startswith(BASE) else request.url.host}"


class Vendor(Recorder):
    """Recorded answers by route; a route it does not know gets the API gateway's own 404."""

    def __init__(self, routes: dict[str, Responder | httpx.Response]) -> None:
        self.routes = routes
        super().__init__(self.answer_for, route=route)

    def answer_for(self, request: httpx.Request) -> httpx.Response:
        answer = self.routes.get(route(request))
        if answer is None:
            no_route = {"error_code": "APIGW.0101", "error_msg": f"no route {route(request)}"}
            return httpx.Response(404, json=no_route)
        return answer(request) if callable(answer) else answer

    def calls(self) -> list[str]:  # type: ignore[override]
        return [route(r) for r in self.requests]


def ok(body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=body) if body is not None else httpx.Response(200, headers=headers)


def make_adapter(vendor: Vendor) -> HuaweiAdapter:
    return HuaweiAdapter(DEFAULT_ENDPOINT, PROJECT, AK, SK, transport=vendor.transport)


def request_for(edition: str | None = None, sentences: int = 20) -> TrainingRequest:
    request = TrainingRequest(
        job_id=uuid.uuid4().hex,
        session_id="0123456789abcdef0123456789abcdef",
        voice_name="温柔女声",
        gender=Gender.MALE,
        language=Language.ZH_CN,
        sentences=[
            CheckedSentence(text_id=t.text_id, text=t.text, s3_key=f"k/{t.text_id}")
            for t in STANDARD_SCRIPT[:sentences]
        ],
        options={"edition": edition} if edition else {},
    )
    adapter = make_adapter(Vendor({}))
    return request.model_copy(update={"options": adapter.prepare_options(request)})


def job(state: str, **fields: Any) -> dict[str, Any]:
    return {
        "job_id": "job-1",
        "state": state,
        "batch_name": batch_name("0123456789abcdef0123456789abcdef"),
        **fields,
    }


CREATED = {
    "job_id": "job-1",
    "training_data_uploading_url": DATA_URL,
    "authorization_letter_uploading_url": LETTER_URL,
}


def create_routes(
    edition_path: str = "basic-jobs", listed: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "GET /user/jobs": ok({"count": len(listed or []), "jobs": listed or []}),
        f"POST /user/{edition_path}": ok(CREATED),
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com": httpx.Response(200),
        "POST /user/jobs/job-1": httpx.Response(200),
    }


def zip_of(request: httpx.Request) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(request.content)) as package:
        return {name: package.read(name) for name in package.namelist()}


def assert_signed(request: httpx.Request) -> None:
    """The request carries a valid SDK-HMAC-SHA256 signature over host, date, project and content type."""
    parsed = signer.parse_authorization(request.headers["Authorization"])
    assert parsed is not None and parsed.access_key == AK
    assert parsed.signed_headers == ("content-type", "host", "x-project-id", "x-sdk-date")
    assert request.headers["X-Project-Id"] == PROJECT
    assert request.headers["Host"] == "metastudio.cn-north-4.myhuaweicloud.com"
    expected = signer.sign(
        access_key=AK,
        secret_key=SK,
        method=request.method,
        path=request.url.path,
        query=[(k, v) for k, v in request.url.params.multi_items()],
        headers={name: request.headers[name] for name in parsed.signed_headers},
        body=request.content,
    )
    assert request.headers["Authorization"] == expected


# ----- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "edition"), [(None, "BASIC"), ("basic", "BASIC"), (" Advance ", "ADVANCE")]
)
def test_the_edition_is_normalised(given: str | None, edition: str) -> None:
    # Given a client's edition option / When prepared / Then the upper-case edition and the job's batch
    options = request_for(given).options
    assert options == {"edition": edition, "batch_name": "voiceclone-0123456789abcdef0123456789abcdef"}


def test_an_unknown_edition_is_rejected_listing_the_editions() -> None:
    # Given the intl "Advanced Edition" name (which is MIDDLE, not offered) / When prepared / Then rejected
    with pytest.raises(VendorRejected) as caught:
        request_for("MIDDLE")
    assert caught.value.code == "InvalidEdition"
    assert "BASIC" in caught.value.message and "ADVANCE" in caught.value.message


def test_the_batch_name_is_stable_and_distinct() -> None:
    # Given session ids / When batch names are derived / Then equal ids give equal names, others differ
    assert batch_name("abc") == batch_name("abc") != batch_name("abd")
    odd = batch_name("a session id with spaces and 中文 " * 4)
    assert odd.startswith("voiceclone-") and len(odd) <= 59 and " " not in odd


# ----- create ----------------------------------------------------------------------------------------


def test_a_basic_create_uploads_the_zip_and_letter_then_commits() -> None:
    # Given no earlier job for the batch
    vendor = Vendor(create_routes())

    # When a BASIC job is created
    job_id = make_adapter(vendor).create_task(request_for(), FakeAudio())

    # Then: list by batch, create, PUT zip, PUT letter, commit; the job id is returned
    assert job_id == "job-1"
    assert vendor.calls() == [
        "GET /user/jobs",
        "POST /user/basic-jobs",
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "POST /user/jobs/job-1",
    ]
    listing, create, put_zip, put_letter, commit = vendor.requests
    for api_call in (listing, create, commit):
        assert api_call.url.path.startswith(f"/v1/{PROJECT}/voice-training-manage/user/")
        assert_signed(api_call)
    assert listing.url.params["batch_name"] == "voiceclone-0123456789abcdef0123456789abcdef"
    assert json.loads(create.content) == {
        "voice_name": "温柔女声",
        "sex": "MALE",
        "language": "CN",
        "create_type": "PACKAGE",
        "batch_name": "voiceclone-0123456789abcdef0123456789abcdef",
    }
    assert json.loads(commit.content) == {}
    # The presigned PUTs: the URL exactly as given, the documented types, and none of our auth headers
    assert str(put_zip.url) == DATA_URL and put_zip.headers["Content-Type"] == "application/zip"
    assert str(put_letter.url) == LETTER_URL and put_letter.headers["Content-Type"] == "application/pdf"
    for put in (put_zip, put_letter):
        assert not {"authorization", "x-sdk-date", "x-project-id"} & {k.lower() for k in put.headers}
    assert put_letter.content == LETTER
    files = zip_of(put_zip)
    assert set(files) == {f"{i}.{ext}" for i in range(20) for ext in ("wav", "txt")}
    assert files["0.wav"] == WAV + b"00001" and files["19.wav"] == WAV + b"00020"
    assert files["3.txt"].decode("utf-8") == STANDARD_SCRIPT[3].text


def test_an_advance_create_zips_one_long_wav() -> None:
    # Given the premium edition / When created
    vendor = Vendor(create_routes("advance-jobs"))
    make_adapter(vendor).create_task(request_for("ADVANCE"), FakeAudio())

    # Then the advance-jobs path, and a zip with the assembled WAV only
    assert "POST /user/advance-jobs" in vendor.calls()
    assert zip_of(vendor.requests[2]) == {"audio.wav": b"LONG" + WAV}


def test_a_basic_job_needs_twenty_sentences() -> None:
    # Given six sentences / When a BASIC job is created / Then rejected before any request
    vendor = Vendor(create_routes())
    with pytest.raises(VendorRejected) as caught:
        make_adapter(vendor).create_task(request_for(sentences=6), FakeAudio())
    assert caught.value.code == "SentenceCount"
    assert vendor.requests == []


def test_an_uncommitted_job_of_the_batch_is_finished_not_recreated() -> None:
    # Given the batch already has a job that was created but never committed
    routes = create_routes(listed=[job("CREATING", create_time=1)])
    routes["GET /user/jobs/job-1/uploading-address-url"] = ok(
        {
            "package_url": {"training_data_uploading_url": DATA_URL},
            "authorization_letter_uploading_url": LETTER_URL,
        }
    )
    vendor = Vendor(routes)

    # When the create is retried
    job_id = make_adapter(vendor).create_task(request_for(), FakeAudio())

    # Then fresh URLs are fetched, both uploads made and the same job committed; nothing is created
    assert job_id == "job-1"
    assert vendor.calls() == [
        "GET /user/jobs",
        "GET /user/jobs/job-1/uploading-address-url",
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "POST /user/jobs/job-1",
    ]


def test_a_committed_job_of_the_batch_is_returned_as_it_is() -> None:
    # Given the batch's job is already training / When create or find_existing_task run
    vendor = Vendor(create_routes(listed=[job("WAITING")]))
    adapter = make_adapter(vendor)

    # Then it is returned with no create, upload or commit
    assert adapter.create_task(request_for(), FakeAudio()) == "job-1"
    assert adapter.find_existing_task(request_for()) == "job-1"
    assert vendor.calls() == ["GET /user/jobs", "GET /user/jobs"]


def test_a_job_of_another_batch_is_never_taken() -> None:
    # Given a listing that (wrongly) includes another batch's job / When looked up / Then not ours
    other = {**job("SUCCEED"), "batch_name": "voiceclone-someone-else"}
    vendor = Vendor(create_routes(listed=[other]))
    assert make_adapter(vendor).find_existing_task(request_for()) is None


def test_find_existing_task_finishes_a_job_whose_create_answer_was_lost() -> None:
    # Given a create whose answer was lost, then a listing showing the job it made
    calls: list[int] = []

    def create(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("connection dropped")

    listings = iter([ok({"count": 0, "jobs": []}), ok({"count": 1, "jobs": [job("CREATING")]})])
    routes = create_routes()
    routes["POST /user/basic-jobs"] = create
    routes["GET /user/jobs"] = lambda _: next(listings)
    routes["GET /user/jobs/job-1/uploading-address-url"] = ok(
        {
            "package_url": {"training_data_uploading_url": DATA_URL},
            "authorization_letter_uploading_url": LETTER_URL,
        }
    )
    vendor = Vendor(routes)
    adapter = make_adapter(vendor)
    request = request_for()
    with pytest.raises(VendorUnavailable):
        adapter.create_task(request, FakeAudio())

    # When the retry asks for an existing task
    found = adapter.find_existing_task(request)

    # Then the job is uploaded and committed with the audio the first attempt had, and returned
    assert found == "job-1"
    assert calls == [1]
    assert vendor.calls()[-3:] == [
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "PUT bucket.obs.cn-north-4.myhuaweicloud.com",
        "POST /user/jobs/job-1",
    ]


@pytest.mark.parametrize(
    ("status", "error"), [(403, VendorUnavailable), (401, VendorUnavailable), (400, VendorRejected)]
)
def test_a_refused_upload_is_mapped(status: int, error: type[VendorError]) -> None:
    # Given OBS refuses the zip (403: most likely an expired URL, which a retry replaces)
    routes = create_routes()
    routes["PUT bucket.obs.cn-north-4.myhuaweicloud.com"] = httpx.Response(status, text="<Error/>")
    vendor = Vendor(routes)

    # When created / Then the mapped error, and no commit
    with pytest.raises(error):
        make_adapter(vendor).create_task(request_for(), FakeAudio())
    assert "POST /user/jobs/job-1" not in vendor.calls()


# ----- status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("CREATING", TrainingState.PENDING),
        ("UPLOADING", TrainingState.PENDING),
        ("SYSTEM_AUDITING", TrainingState.PENDING),
        ("AUDITING", TrainingState.PENDING),
        ("WAITING", TrainingState.PENDING),
        ("SPLITTING", TrainingState.PENDING),
        ("PROCESSING", TrainingState.RUNNING),
        ("RESULT_REVIEW", TrainingState.RUNNING),
        ("SOMETHING_NEW", TrainingState.RUNNING),
        ("SUCCEED", TrainingState.RUNNING),  # no asset yet
    ],
)
def test_unfinished_states(state: str, expected: TrainingState) -> None:
    # Given a job in a state that is not final / When polled / Then PENDING or RUNNING, state kept
    vendor = Vendor({"GET /user/jobs/job-1": ok(job(state))})
    status = make_adapter(vendor).get_status("job-1")
    assert (status.state, status.vendor_state) == (expected, state)
    assert_signed(vendor.requests[0])


def test_success_gives_the_asset_id_as_the_voice() -> None:
    # Given a succeeded job / When polled / Then the TTS id is the asset id, with the job id kept
    vendor = Vendor({"GET /user/jobs/job-1": ok(job("SUCCEED", asset_id="asset-9"))})
    status = make_adapter(vendor).get_status("job-1")
    assert status.state is TrainingState.SUCCEEDED
    assert status.voice is not None
    assert (status.voice.vendor, status.voice.voice_id) == ("huawei", "asset-9")
    assert status.voice.details == {"asset_id": "asset-9", "job_id": "job-1"}


@pytest.mark.parametrize("state", ["FAILED", "SPLIT_FAILED"])
def test_failure_keeps_the_code_and_reason(state: str) -> None:
    # Given a failed job / When polled / Then FAILED with Huawei's code and reason
    answer = job(state, job_failed_code="MSS.2003", job_failed_reason="too noisy")
    status = make_adapter(Vendor({"GET /user/jobs/job-1": ok(answer)})).get_status("job-1")
    assert (status.state, status.error_code, status.error_message) == (
        TrainingState.FAILED,
        "MSS.2003",
        "too noisy",
    )


def test_an_audit_failure_reports_each_file() -> None:
    # Given a failed audit with per-file errors and a reviewer's note
    audit = {
        "system_audit_result": {
            "audit_time": 1,
            "errors": [
                {"audio_name": "3.wav", "error_code": "MSS.20020011", "error_message": "silent"},
                {"text_name": "7.txt", "error_code": "MSS.20020013", "error_message": "empty"},
            ],
        },
        "admin_audit_result": {"message": "letter unsigned"},
    }
    vendor = Vendor(
        {"GET /user/jobs/job-1": ok(job("AUDIT_FAILED")), "GET /user/jobs/job-1/audit-result": ok(audit)}
    )

    # When polled
    status = make_adapter(vendor).get_status("job-1")

    # Then FAILED as AUDIT_FAILED, the message naming each file with its reason
    assert (status.state, status.error_code) == (TrainingState.FAILED, "AUDIT_FAILED")
    assert "3.wav: silent (MSS.20020011)" in status.error_message
    assert "7.txt: empty" in status.error_message
    assert "reviewer: letter unsigned" in status.error_message


# ----- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (401, "APIGW.0301", VendorAuthError),
        (403, "MSS.00000002", VendorAuthError),
        (400, "APIGW.0303", VendorAuthError),
        (429, "APIGW.0308", VendorThrottled),
        (500, "MSS.00000001", VendorUnavailable),
        (503, "APIGW.0201", VendorUnavailable),
        (400, "MSS.00000003", VendorRejected),
        (404, "MSS.00000004", VendorRejected),
    ],
)
def test_errors_are_mapped(status: int, code: str, error: type[VendorError]) -> None:
    # Given the vendor answers with its error envelope and a request id
    answer = httpx.Response(
        status, json={"error_code": code, "error_msg": "the message"}, headers={"X-Request-Id": "req-1"}
    )
    adapter = make_adapter(Vendor({"GET /user/jobs/job-1": answer}))

    # When polled / Then the mapped error
    with pytest.raises(error) as caught:
        adapter.get_status("job-1")
    # And the vendor's code, message and request id survive, 429 and 5xx included
    assert (caught.value.code, caught.value.message) == (code, "the message")
    assert caught.value.details["request_id"] == "req-1"


def test_a_non_json_success_is_unavailable() -> None:
    # Given a gateway page instead of the API / When polled / Then retryable
    adapter = make_adapter(Vendor({"GET /user/jobs/job-1": httpx.Response(200, text="<html>")}))
    with pytest.raises(VendorUnavailable):
        adapter.get_status("job-1")


# ----- the rest --------------------------------------------------------------------------------------


def test_there_is_no_callback() -> None:
    # Given any body / When parsed as a callback / Then NoCallback
    with pytest.raises(VendorRejected) as caught:
        make_adapter(Vendor({})).parse_callback(b"{}")
    assert caught.value.code == "NoCallback"


def test_voices_are_listed_across_pages_and_deleted_by_asset_id() -> None:
    # Given two pages of succeeded jobs
    pages = {
        "0": {"count": 2, "jobs": [job("SUCCEED", asset_id="a-1", voice_name="v1", job_type="BASIC")]},
        "1": {"count": 2, "jobs": [{**job("SUCCEED", asset_id="a-2"), "job_id": "job-2"}]},
    }
    vendor = Vendor(
        {
            "GET /user/jobs": lambda r: ok(pages[r.url.params["offset"]]),
            "DELETE /user/jobs/job-2": httpx.Response(204),
        }
    )
    adapter = make_adapter(vendor)

    # When listed / Then each asset id is a voice, filtered on SUCCEED
    voices = adapter.list_voices()
    assert [(v.voice_id, v.details["job_id"]) for v in voices] == [("a-1", "job-1"), ("a-2", "job-2")]
    assert vendor.requests[0].url.params["state"] == "SUCCEED"

    # When the second is deleted / Then its job is deleted, by the job id its details carry
    calls = len(vendor.requests)
    adapter.delete_voice(voices[1])
    assert vendor.calls()[calls:] == ["DELETE /user/jobs/job-2"]


def test_the_voice_of_a_status_is_deleted_by_its_job_id_not_its_asset_id() -> None:
    # Given a succeeded job's status (the voice id is the asset id TTS takes)
    vendor = Vendor(
        {
            "GET /user/jobs/job-1": ok(job("SUCCEED", asset_id="asset-1")),
            "DELETE /user/jobs/job-1": httpx.Response(204),
        }
    )
    adapter = make_adapter(vendor)
    voice = adapter.get_status("job-1").voice
    assert voice is not None and voice.voice_id == "asset-1"
    # When it is deleted / Then the job is, with one call
    adapter.delete_voice(voice)
    assert vendor.calls() == ["GET /user/jobs/job-1", "DELETE /user/jobs/job-1"]
    assert_signed(vendor.requests[-1])


def test_a_voice_without_its_job_id_is_found_by_its_asset_id() -> None:
    # Given a voice that names only its asset / When deleted / Then the job with that asset is deleted
    vendor = Vendor(
        {
            "GET /user/jobs": ok(
                {"count": 1, "jobs": [{**job("SUCCEED", asset_id="a-9"), "job_id": "job-9"}]}
            ),
            "DELETE /user/jobs/job-9": httpx.Response(204),
        }
    )
    make_adapter(vendor).delete_voice(VendorVoice(vendor="huawei", voice_id="a-9"))
    assert vendor.calls()[-1] == "DELETE /user/jobs/job-9"


def test_a_voice_whose_job_is_gone_is_deleted() -> None:
    # Given no job has the asset any more / When deleted / Then nothing is deleted and nothing raised
    vendor = Vendor({"GET /user/jobs": ok({"count": 0, "jobs": []})})
    make_adapter(vendor).delete_voice(VendorVoice(vendor="huawei", voice_id="a-9"))
    assert not any(call.startswith("DELETE") for call in vendor.calls())


def gone() -> httpx.Response:
    return httpx.Response(404, json={"error_code": "MSS.00000004", "error_msg": "job does not exist"})


def test_deleting_a_voice_twice_is_done() -> None:
    # Given a retried delete whose first answer was lost / When Huawei says the job is gone / Then done
    vendor = Vendor({"DELETE /user/jobs/job-1": gone()})
    voice = VendorVoice(
        vendor="huawei", voice_id="asset-1", details={"asset_id": "asset-1", "job_id": "job-1"}
    )
    make_adapter(vendor).delete_voice(voice)
    assert vendor.calls() == ["DELETE /user/jobs/job-1"]


# ----- rename and cancel -----------------------------------------------------------------------------


def test_the_capabilities_delete_and_cancel_but_do_not_rename() -> None:
    caps = HuaweiAdapter.capabilities
    assert (caps.rename_voice, caps.delete_voice, caps.cancel_task) == (False, True, True)


def test_rename_is_not_supported_and_asks_nothing() -> None:
    vendor = Vendor({})
    with pytest.raises(VendorRejected) as caught:
        make_adapter(vendor).rename_voice(VendorVoice(vendor="huawei", voice_id="asset-1"), "新名字")
    assert caught.value.code == "NotSupported" and "rename" in caught.value.message
    assert vendor.requests == []


def test_cancel_deletes_the_training_job() -> None:
    # Given a job in training / When cancelled / Then its job is deleted (MetaStudio has no cancel)
    vendor = Vendor({"DELETE /user/jobs/job-1": httpx.Response(204)})
    make_adapter(vendor).cancel_task("job-1")
    assert vendor.calls() == ["DELETE /user/jobs/job-1"]
    assert vendor.requests[0].content == b""
    assert_signed(vendor.requests[0])


def test_cancelling_a_job_already_gone_is_done() -> None:
    vendor = Vendor({"DELETE /user/jobs/job-1": gone()})
    make_adapter(vendor).cancel_task("job-1")


def test_a_404_from_the_gateway_itself_is_not_taken_for_a_deleted_job() -> None:
    # Given no such API (a wrong path: APIGW.0101) / When cancelled / Then an error, not "done"
    with pytest.raises(VendorRejected) as caught:
        make_adapter(Vendor({})).cancel_task("job-1")
    assert caught.value.code == "APIGW.0101"


def test_a_cancel_huawei_refuses_keeps_its_code() -> None:
    # Given Huawei refusing to delete a job in its state / When cancelled / Then its code and message
    refused = httpx.Response(
        400,
        json={"error_code": "MSS.00000007", "error_msg": "job is PROCESSING"},
        headers={"X-Request-Id": "r-1"},
    )
    with pytest.raises(VendorRejected) as caught:
        make_adapter(Vendor({"DELETE /user/jobs/job-1": refused})).cancel_task("job-1")
    assert (caught.value.code, caught.value.message) == ("MSS.00000007", "job is PROCESSING")
    assert caught.value.details["request_id"] == "r-1"


def test_a_cancel_during_an_outage_is_retryable() -> None:
    vendor = Vendor({"DELETE /user/jobs/job-1": httpx.Response(503, text="busy")})
    with pytest.raises(VendorUnavailable):
        make_adapter(vendor).cancel_task("job-1")


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the settings in the environment (no endpoint) / When built / Then Beijing-4 by default
    for field, value in {"project_id": PROJECT, "access_key": AK, "secret_key": SK}.items():
        monkeypatch.setenv(f"VOICECLONE_HUAWEI_{field.upper()}", value)
    monkeypatch.delenv("VOICECLONE_HUAWEI_ENDPOINT", raising=False)
    monkeypatch.delenv("VOICECLONE_HUAWEI_SECRET_ARN", raising=False)
    adapter = HuaweiAdapter.from_environment()
    assert (adapter.endpoint, adapter.project_id) == (DEFAULT_ENDPOINT, PROJECT)


def test_the_capabilities_fit_huawei() -> None:
    # Given the adapter / Then polling, uploads per sentence, the edition option and the letter
    caps = HuaweiAdapter.capabilities
    assert (caps.completion, caps.audio_transport, caps.sentence_count) == ("polling", "upload", 20)
    assert (caps.poll_initial_seconds, caps.poll_max_seconds) == (600, 3600)
    assert caps.options == ("edition",) and caps.documents == ("authorization_letter",)


def test_an_iam_token_replaces_the_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only a project id and an IAM user token in the environment
    for name in ("ACCESS_KEY", "SECRET_KEY", "SECRET_ARN"):
        monkeypatch.delenv(f"VOICECLONE_HUAWEI_{name}", raising=False)
    monkeypatch.setenv("VOICECLONE_HUAWEI_PROJECT_ID", "proj-1")
    monkeypatch.setenv("VOICECLONE_HUAWEI_IAM_TOKEN", "iam-token-value")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"job_id": "j1", "state": "PROCESSING"})

    adapter = HuaweiAdapter.from_environment()
    adapter._http = VendorHttp("huawei", adapter.endpoint, 10.0, httpx.MockTransport(answer))
    # When it asks for a job
    adapter.get_status("j1")
    # Then the token authenticates the request, and nothing is signed
    assert seen[0].headers["X-Auth-Token"] == "iam-token-value"
    assert "Authorization" not in seen[0].headers
    assert seen[0].url.path == "/v1/proj-1/voice-training-manage/user/jobs/j1"


def test_neither_keys_nor_token_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCESS_KEY", "SECRET_KEY", "SECRET_ARN", "IAM_TOKEN"):
        monkeypatch.delenv(f"VOICECLONE_HUAWEI_{name}", raising=False)
    monkeypatch.setenv("VOICECLONE_HUAWEI_PROJECT_ID", "proj-1")
    with pytest.raises(VendorAuthError, match="AK/SK or an IAM token"):
        HuaweiAdapter.from_environment()
