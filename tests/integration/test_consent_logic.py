"""Consent logic on moto: the one-time phrase, the tenant's settings, the gate before the vendor, the audit.

The store is a fresh table on the session's moto server and the vendor a recording fake (registered
at run time), so these pin the service's part whatever the sandboxes do: a phrase is never issued
twice, no vendor task is created without consent on record, and a deleted voice leaves hashes and
times only.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError
from voiceclone.domain.api_models import CreateJobRequest
from voiceclone.domain.consent import CONSENT_TEXT_ID, ConsentKind, ConsentState, Requester, Verification
from voiceclone.domain.errors import Conflict, ConsentMissing, InvalidRequest
from voiceclone.domain.models import Gender, JobStatus, SentenceCheck, SentenceStatus, TrainingText
from voiceclone.logic.account import settings as tenant_settings
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import consent, jobs, steps, voices
from voiceclone.settings import Settings
from voiceclone.store import Store
from voiceclone.vendors import registry
from voiceclone.vendors.base import Capabilities, TrainingState, TrainingStatus, VendorAdapter
from voiceclone_local.stack import LocalStack

from tests.helpers import TABLE_SCHEMA, wav_bytes

VENDOR = "fake_consent"
CALLER = Requester(tenant_id="acme", api_key_id="key_0123456789abcdef")


class RecordingVendor(VendorAdapter):
    """A polling vendor that records every create: the gate is judged by what reached it."""

    vendor_id = VENDOR
    display_names: ClassVar[Mapping[str, str]] = {"en": "Fake Voice Co", "zh": "假声音公司"}
    capabilities = Capabilities(audio_transport="inline", audio_files="per_sentence", sentence_count=3)
    default_endpoint = "http://127.0.0.1:1"
    credential_fields = ()

    def __init__(self) -> None:  # no HTTP: only create_task is called
        self.created: list[Any] = []

    def training_texts(self) -> list[TrainingText]:
        return [TrainingText(text_id=f"0000{i}", text=f"第{i}句话") for i in range(1, 4)]

    def create_task(self, request: Any, audio: Any) -> str:
        self.created.append(request)
        return f"task-{len(self.created)}"

    def get_status(self, task_id: str) -> TrainingStatus:
        return TrainingStatus(task_id=task_id, state=TrainingState.RUNNING)


@pytest.fixture
def vendor() -> Iterator[RecordingVendor]:
    adapter = RecordingVendor()
    registry.register(VENDOR, RecordingVendor)
    yield adapter
    registry.unregister(VENDOR)


@pytest.fixture
def svc(stack: LocalStack, vendor: RecordingVendor) -> Iterator[Services]:
    dynamodb, s3 = stack.client("dynamodb"), stack.client("s3")
    name = f"consent-test-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(TableName=name, **TABLE_SCHEMA)
    settings = Settings.model_validate(
        {"VOICECLONE_TABLE_NAME": name, "VOICECLONE_BUCKET_NAME": stack.bucket_name}
    )
    store = Store(name, dynamodb)
    tenant_settings.set_policy(store.tenants, "acme", organisation_name="Example Audio Ltd")
    yield Services(settings, adapter_for=lambda _: vendor, overrides={"store": store, "s3": s3})
    dynamodb.delete_table(TableName=name)


def request(**changes: Any) -> CreateJobRequest:
    body = {"vendor": VENDOR, "voice_name": "v", "gender": Gender.FEMALE, "speaker_name": "李华", **changes}
    return CreateJobRequest.model_validate(body)


def test_the_statement_names_the_speaker_the_organisation_and_the_vendor_with_the_jobs_phrase(
    svc: Services,
) -> None:
    # When a job is created for a vendor whose script is Chinese
    view = jobs.create_job(svc, CALLER, request())
    # Then its first sentence is the consent statement, in Chinese, with a phrase of its own
    terms = view.consent
    assert terms is not None and terms.kind is ConsentKind.RECORDING and terms.language == "zh"
    first = view.sentences[0]
    assert first.text_id == CONSENT_TEXT_ID and first.text == terms.statement and first.upload is not None
    assert (
        "李华" in terms.statement
        and "Example Audio Ltd" in terms.statement
        and "假声音公司" in terms.statement
    )
    assert terms.phrase and terms.phrase in terms.statement
    # ...and the job records who asked for it
    job = svc.store.jobs.require(view.job_id)
    assert job.consent is not None and job.consent.requested_by == CALLER
    assert len(view.sentences) == 4 and view.checks_total == 4


def test_two_jobs_never_get_the_same_phrase_even_when_the_same_digits_are_drawn(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a draw that repeats itself before it moves on
    draws = iter(["12345678", "12345678", "87654321"])
    monkeypatch.setattr(consent, "draw_phrase_digits", lambda: next(draws))
    # When two jobs are created
    first = jobs.create_job(svc, CALLER, request())
    second = jobs.create_job(svc, CALLER, request())
    # Then the second was given the next draw, not the first job's phrase
    assert first.consent is not None and second.consent is not None
    assert first.consent.phrase != second.consent.phrase
    assert svc.store.jobs.require(second.job_id).consent.phrase_digits == "87654321"  # type: ignore[union-attr]


def test_a_phrase_is_claimed_for_good_and_no_draw_reuses_it(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every draw repeats a phrase a job already had
    monkeypatch.setattr(consent, "draw_phrase_digits", lambda: "55555555")
    jobs.create_job(svc, CALLER, request())
    # Then the next job is refused rather than given it again, and nothing of it is written
    with pytest.raises(Conflict) as refused:
        jobs.create_job(svc, CALLER, request())
    assert refused.value.code == "PhraseTaken"
    assert len(svc.store.jobs.list("acme", 10, None)[0]) == 1


def test_a_tenant_without_an_organisation_name_gets_no_job_until_it_sets_one(svc: Services) -> None:
    other = Requester(tenant_id="newco", api_key_id="key_1")
    with pytest.raises(Conflict) as refused:
        jobs.create_job(svc, other, request())
    assert refused.value.code == "OrganisationNameMissing" and "PATCH /v1/settings" in refused.value.message
    tenant_settings.set_organisation(svc.store.tenants, "newco", "New Co")
    assert "New Co" in (jobs.create_job(svc, other, request()).consent.statement)  # type: ignore[union-attr]


def test_a_consent_document_needs_the_operators_policy_and_then_replaces_the_take(svc: Services) -> None:
    # Given a tenant the operator has not allowed document consent
    with pytest.raises(InvalidRequest) as refused:
        jobs.create_job(svc, CALLER, request(consent_document="Form 42, signed 2026-01-03"))
    assert refused.value.code == "DocumentConsentNotAllowed"
    # When the operator allows it
    tenant_settings.set_policy(svc.store.tenants, "acme", document_consent_allowed=True)
    view = jobs.create_job(svc, CALLER, request(consent_document="Form 42, signed 2026-01-03"))
    # Then the job reads no statement and its consent is the document
    assert view.consent is not None and view.consent.kind is ConsentKind.DOCUMENT
    assert [s.text_id for s in view.sentences] == ["00001", "00002", "00003"]
    # ...and the gate records it as a document, with nothing verified that was not
    job, sentences = svc.store.jobs.with_sentences(view.job_id)
    record = consent.record_consent(svc, job, sentences)
    assert record.kind is ConsentKind.DOCUMENT and record.document_reference == "Form 42, signed 2026-01-03"
    assert record.checks.audio_checks is Verification.NOT_APPLICABLE and not record.audio_key


def _passed(svc: Services, job_id: str, text_id: str, audio: bytes) -> None:
    """A sentence whose upload was kept and passed its check (what intake and CheckSentence leave)."""
    sentence = svc.store.jobs.sentence(job_id, text_id)
    key = f"training/acme/{job_id}/recordings/{text_id}/etag.wav"
    svc.s3.put_object(Bucket=svc.settings.bucket_name, Key=key, Body=audio, ContentType="audio/wav")
    done = sentence.model_copy(
        update={
            "status": SentenceStatus.PASSED,
            "s3_key": key,
            "check": SentenceCheck(passed=True, code="0", message="passed", source="local"),
        }
    )
    svc.store.jobs.save_sentence(done, expected_version=sentence.version)


def _ready_for_training(svc: Services, with_consent: bool) -> tuple[str, bytes]:
    view = jobs.create_job(svc, CALLER, request())
    for text_id in ("00001", "00002", "00003"):
        _passed(svc, view.job_id, text_id, wav_bytes(seconds=2.0))
    take = wav_bytes(seconds=6.0, freq=330.0)
    if with_consent:
        _passed(svc, view.job_id, CONSENT_TEXT_ID, take)
    svc.store.jobs.transition(view.job_id, JobStatus.CHECKING)
    return view.job_id, take


def test_without_its_consent_take_no_vendor_task_is_created(svc: Services, vendor: RecordingVendor) -> None:
    # Given a job whose sentences passed but whose consent statement was never recorded
    job_id, _ = _ready_for_training(svc, with_consent=False)
    # When SubmitTraining runs
    with pytest.raises(ConsentMissing):
        steps.submit_training(svc, job_id)
    # Then nothing reached the vendor and nothing is on record
    assert vendor.created == []
    assert svc.store.consent.get(f"v-{job_id}") is None


def test_a_job_from_before_consent_gets_no_vendor_task(svc: Services, vendor: RecordingVendor) -> None:
    job_id, _ = _ready_for_training(svc, with_consent=True)
    svc.store.jobs.mutate(job_id, lambda job: job.model_copy(update={"consent": None}))
    with pytest.raises(ConsentMissing, match="created before"):
        steps.submit_training(svc, job_id)
    assert vendor.created == []


def test_the_consent_is_on_record_before_the_vendor_task_and_never_sent_to_it(
    svc: Services, vendor: RecordingVendor
) -> None:
    # Given a job whose consent take passed its check
    job_id, take = _ready_for_training(svc, with_consent=True)
    # When SubmitTraining runs (twice: a retry changes nothing)
    steps.submit_training(svc, job_id)
    first = svc.store.consent.get(f"v-{job_id}")
    steps.submit_training(svc, job_id)
    # Then the record holds the take's hash, the statement and phrase, and who asked
    record = svc.store.consent.get(f"v-{job_id}")
    assert record is not None and record == first
    job = svc.store.jobs.require(job_id)
    assert job.consent is not None
    assert record.audio_sha256 == hashlib.sha256(take).hexdigest() and record.audio_bytes == len(take)
    assert record.statement == job.consent.statement and record.phrase == job.consent.phrase
    assert record.requested_by == CALLER and record.checks.audio_checks is Verification.PASSED
    assert record.checks.phrase_heard is Verification.NOT_VERIFIED
    assert record.checks.same_speaker is Verification.NOT_VERIFIED
    # ...and the vendor got the three training sentences, not the consent take
    (sent,) = vendor.created
    assert [s.text_id for s in sent.sentences] == ["00001", "00002", "00003"]


def test_deleting_the_voice_deletes_the_consent_take_and_leaves_hashes_and_times(
    svc: Services, vendor: RecordingVendor
) -> None:
    # Given a voice whose consent was kept with it at Finalize
    job_id, take = _ready_for_training(svc, with_consent=True)
    steps.submit_training(svc, job_id)
    svc.store.jobs.mutate(
        job_id,
        lambda job: job.model_copy(
            update={"vendor_status": "SUCCEEDED", "vendor_voice": RecordingVendor().voice("fake-1")}
        ),
    )
    steps.finalize(svc, job_id)
    kept = svc.store.consent.get(f"v-{job_id}")
    assert kept is not None and kept.audio_key.startswith(f"consent/acme/v-{job_id}/")
    stored = svc.s3.get_object(Bucket=svc.settings.bucket_name, Key=kept.audio_key)["Body"].read()
    assert stored == take
    # When the voice is deleted
    voices.delete_voice(svc, "acme", f"v-{job_id}")
    # Then the take is gone, and the record keeps hashes and times, no personal data
    with pytest.raises(ClientError):
        svc.s3.head_object(Bucket=svc.settings.bucket_name, Key=kept.audio_key)
    audit = consent.consent_view(svc, "acme", f"v-{job_id}")
    assert audit.state is ConsentState.DELETED and audit.deleted_at is not None
    assert audit.audio_sha256 == kept.audio_sha256 and audit.statement_sha256 == kept.statement_sha256
    assert audit.recorded_at == kept.recorded_at and audit.requested_at == kept.requested_at
    assert not (audit.statement or audit.phrase or audit.speaker_name or audit.organisation_name)
    assert audit.audio_url == ""
