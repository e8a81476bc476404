"""Consent end to end on the local stack: the statement recorded, kept with the voice, deleted with it.

The consent take is the statement read by the stand-in (eSpeak NG, voiceclone_cli.stand_in): the
phrase is new with every job, so no sample recording can hold it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from voiceclone.domain.consent import CONSENT_TEXT_ID, ConsentKind
from voiceclone.logic.account.settings import set_policy
from voiceclone.store import Store
from voiceclone_cli.client import ApiError, VoicecloneClient
from voiceclone_cli.main import main as cli_main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, consent_take, upload_consent, upload_recordings, wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")


def finished(client: VoicecloneClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get_job(job_id)
        return job if job["status"] in DONE else None

    return wait_for(done, timeout=timeout, what=f"job {job_id} to finish")


def store(stack: LocalStack) -> Store:
    return Store(stack.table_name, stack.client("dynamodb"))


def test_a_voice_keeps_its_speakers_consent_and_deleting_it_leaves_the_audit_entry(
    stack: LocalStack, client: VoicecloneClient, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    # Given a job whose speaker records the statement (the stand-in reads it) after the sentences
    job = client.create_job("tencent_vrs", "consenting", "female", SPEAKER)
    terms = job["consent"]
    assert (
        job["sentences"][0]["text_id"] == CONSENT_TEXT_ID
        and job["sentences"][0]["text"] == terms["statement"]
    )
    assert SPEAKER in terms["statement"] and terms["phrase"] in terms["statement"]
    take = consent_take(job)
    upload_recordings(client, job, SAMPLES, consent=False)
    upload_consent(client, job, take)
    final = finished(client, job["job_id"])
    assert final["status"] == "SUCCEEDED", final
    assert next(s for s in final["sentences"] if s["text_id"] == CONSENT_TEXT_ID)["check"]["measurements"]
    voice_id = final["voice_id"]
    # When the voice's consent is read
    record = client.get_consent(voice_id)
    # Then it holds the take's hash, the statement and phrase, who asked and what was (not) verified
    assert record["kind"] == "recording" and record["state"] == "KEPT"
    assert record["audio_sha256"] == hashlib.sha256(take).hexdigest()
    assert record["statement"] == terms["statement"] and record["phrase"] == terms["phrase"]
    assert record["speaker_name"] == SPEAKER and record["requested_by"]["tenant_id"] == "local-tenant"
    assert record["requested_by"]["api_key_id"].startswith("key_")
    assert record["checks"] == {
        "audio_checks": "passed",
        "phrase_heard": "not_verified",
        "same_speaker": "not_verified",
    }
    # ...with a fresh URL of the very take
    assert client.download(record["audio_url"]) == take
    # ...and the CLI shows it
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    assert cli_main(["voices", "consent", voice_id]) == 0
    shown = capsys.readouterr().out
    assert record["audio_sha256"] in shown and "not_verified" in shown
    # When the voice is deleted
    client.delete_voice(voice_id)
    # Then the take is gone from S3, and the record is an audit entry of hashes and times
    kept = store(stack).consent.get(voice_id)
    assert kept is not None and kept.state.value == "DELETED" and kept.audio_key == ""
    with pytest.raises(ClientError):
        stack.client("s3").head_object(Bucket=stack.bucket_name, Key=record_key(stack, voice_id, record))
    audit = client.get_consent(voice_id)
    assert audit["state"] == "DELETED" and audit["audio_sha256"] == record["audio_sha256"]
    assert audit["statement_sha256"] == record["statement_sha256"] and audit["deleted_at"]
    assert audit["statement"] == audit["phrase"] == audit["speaker_name"] == audit["audio_url"] == ""


def record_key(stack: LocalStack, voice_id: str, record: dict[str, Any]) -> str:
    """Where Finalize kept the take (consent/<tenant>/<voice>/<sha256>.wav)."""
    return f"consent/local-tenant/{voice_id}/{record['audio_sha256']}.wav"


# One vendor per way audio reaches it: in the request, by a URL it downloads, uploaded to its URLs.
KINDS = ["tencent_vrs", "qiniu", "huawei"]


@pytest.mark.parametrize("vendor", KINDS)
def test_a_job_without_consent_on_record_never_reaches_the_vendors_training(
    stack: LocalStack, client: VoicecloneClient, vendor: str
) -> None:
    # Given a job made before consent existed: no consent terms, no statement to record
    sandbox = stack.sandboxes[vendor]
    created_before = sandbox.tasks_created
    job = client.create_job(vendor, f"old-{vendor}", "female", SPEAKER)
    table, key = stack.client("dynamodb"), {"pk": {"S": f"JOB#{job['job_id']}"}}
    table.delete_item(TableName=stack.table_name, Key={**key, "sk": {"S": f"SENTENCE#{CONSENT_TEXT_ID}"}})
    store(stack).jobs.mutate(job["job_id"], lambda j: j.model_copy(update={"consent": None}))
    # When every sentence (and document) is uploaded, which starts the workflow
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, SAMPLES, consent=False)
    final = finished(client, job["job_id"])
    # Then the job fails at the gate, and the vendor saw no training request
    assert final["status"] == "FAILED", final
    assert final["error"]["error"] == "ConsentMissing"
    assert sandbox.tasks_created == created_before
    assert store(stack).consent.get(f"v-{job['job_id']}") is None


def test_a_silent_consent_take_is_rejected_and_recorded_again(
    stack: LocalStack, client: VoicecloneClient
) -> None:
    # Given the consent statement uploaded as silence
    job = client.create_job("tencent_vrs", "silent-consent", "female", SPEAKER)
    upload_recordings(client, job, SAMPLES, consent=False)
    upload_consent(client, job, wav_bytes(seconds=5.0, amplitude=0.0))
    rejected = finished(client, job["job_id"])
    # Then the job asks for the statement again, with the check's reason, and no task was made
    assert rejected["status"] == "CHECK_FAILED", rejected
    (redo,) = [s for s in rejected["sentences"] if s["status"] == "REJECTED"]
    assert redo["text_id"] == CONSENT_TEXT_ID and redo["check"]["code"] == "SILENT"
    assert rejected["vendor_task_id"] is None
    # When the statement is read again and uploaded to a fresh form
    upload_consent(client, {**rejected, "sentences": [{**redo, "upload": None}]})
    # Then the same job trains
    final = wait_for(
        lambda: (j := client.get_job(job["job_id"]))["status"] in ("SUCCEEDED", "FAILED") and j,
        timeout=120,
        what="the job to finish after the new consent take",
    )
    assert final["status"] == "SUCCEEDED", final


def test_organisation_and_document_consent_are_set_by_the_tenant_and_the_operator(
    stack: LocalStack, client: VoicecloneClient
) -> None:
    # Given a tenant onboarded without an organisation name
    tenant = "consent-policy"
    other = VoicecloneClient(stack.api_url, api_key=stack.issue_api_key(tenant, organisation_name=None))
    with pytest.raises(ApiError) as refused:
        other.create_job("tencent_vrs", "v", "female", SPEAKER)
    assert refused.value.status == 409 and refused.value.error == "OrganisationNameMissing"
    # When it sets its name with its key, its jobs' statements give it
    assert other.update_settings("Policy Test Ltd")["organisation_name"] == "Policy Test Ltd"
    assert (
        "Policy Test Ltd" in other.create_job("tencent_vrs", "v", "female", SPEAKER)["consent"]["statement"]
    )
    # ...but its key cannot allow itself document consent
    refused_body = other._http.patch(
        f"{stack.api_url}/v1/settings", json={"organisation_name": "x", "document_consent_allowed": True}
    )
    assert refused_body.status_code == 422
    with pytest.raises(ApiError) as not_allowed:
        other.create_job("tencent_vrs", "v", "female", SPEAKER, consent_document="Form 7")
    assert not_allowed.value.error == "DocumentConsentNotAllowed"
    # When the operator allows it (voiceclone admin tenant writes the same setting)
    set_policy(store(stack).tenants, tenant, document_consent_allowed=True)
    assert other.settings()["document_consent_allowed"] is True
    job = other.create_job("tencent_vrs", "by-form", "female", SPEAKER, consent_document="Form 7, 2026-01-03")
    # Then the job has no statement to record, trains, and its record says it is a document
    assert job["consent"]["kind"] == ConsentKind.DOCUMENT.value
    assert CONSENT_TEXT_ID not in {s["text_id"] for s in job["sentences"]}
    upload_recordings(other, job, SAMPLES, consent=False)
    final = finished(other, job["job_id"])
    assert final["status"] == "SUCCEEDED", final
    record = other.get_consent(final["voice_id"])
    assert record["kind"] == "document" and record["document_reference"] == "Form 7, 2026-01-03"
    assert record["audio_sha256"] == "" and record["checks"]["audio_checks"] == "not_applicable"
