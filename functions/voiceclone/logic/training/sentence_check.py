"""The CheckSentence step: one recording checked locally (decoded first when it is no WAV at the
vendor's rate), then at the vendor when the vendor checks sentences.

A module of its own because it is the training workflow's one path to PyAV (through
voiceclone.domain.recording): the other steps (voiceclone.logic.training.steps) never decode, so
their functions' packages carry no FFmpeg (README, "Packages per function").
"""

from __future__ import annotations

from typing import Any

from voiceclone.domain.audio import RecordingLimits, limits_for
from voiceclone.domain.audio_decode import extension_of
from voiceclone.domain.consent import CONSENT_MAX_SECONDS, CONSENT_MIN_SECONDS, CONSENT_TEXT_ID
from voiceclone.domain.models import Sentence, SentenceCheck, SentenceStatus, utcnow
from voiceclone.domain.recording import inspect_recording
from voiceclone.logic.core.keys import converted_key
from voiceclone.logic.core.services import Services
from voiceclone.observability import metrics
from voiceclone.vendors.registry import capabilities


def _limits(sentence: Sentence, vendor: str) -> RecordingLimits:
    """A training sentence's limits are the vendor's; the consent statement, longer, has its own."""
    caps = capabilities(vendor)
    if sentence.text_id == CONSENT_TEXT_ID:
        return RecordingLimits(caps.sample_rate, CONSENT_MIN_SECONDS, CONSENT_MAX_SECONDS)
    return limits_for(
        caps.sample_rate, caps.min_sentence_seconds, caps.max_sentence_seconds, caps.joined_seconds
    )


def _local_check(
    sentence: Sentence, audio: bytes, vendor: str, max_bytes: int, content_type: str = ""
) -> tuple[SentenceCheck | None, Any]:
    """Our own inspection of the audio: a clear reason without spending a vendor call.

    Returns (the rejection or None, the inspected Recording: measurements and the vendor-ready WAV).
    """
    if len(audio) > max_bytes:
        return SentenceCheck(
            passed=False,
            code="TOO_LARGE",
            message=f"the file is {len(audio)} bytes, more than {max_bytes}: record a shorter take",
            source="local",
        ), None
    # The key always ends in .wav; the Content-Type the client sent says what it meant to upload.
    recording = inspect_recording(audio, _limits(sentence, vendor), ext=extension_of(content_type))
    report = recording.report
    if report.ok:
        return None, recording
    first = report.findings[0]
    return SentenceCheck(
        passed=False,
        code=str(first.problem),
        message=first.message,
        tips=[f.message for f in report.findings[1:]],
        source="local",
        measurements=recording.measurements,
    ), recording


def check_sentence(svc: Services, job_id: str, text_id: str) -> dict[str, Any]:
    """Check one recording, locally and then at the vendor, and keep the verdict on the sentence.

    The upload is converted to what the vendor takes (rate, mono, 16-bit, silence trimmed) and the
    converted WAV is kept beside it (audio_source.converted_key): the vendor's check, the assembly
    and training all use that one, while the original stays as uploaded. The consent take gets the
    same local checks and never reaches the vendor: no vendor check, no converted copy.
    """
    sentence = svc.store.jobs.sentence(job_id, text_id)
    if sentence.status in (SentenceStatus.PASSED, SentenceStatus.REJECTED) and sentence.check is not None:
        return {"text_id": text_id, "passed": sentence.check.passed}
    job = svc.store.jobs.require(job_id)
    obj = svc.s3.get_object(Bucket=svc.settings.bucket_name, Key=sentence.s3_key)
    audio = obj["Body"].read()
    verdict, recording = _local_check(
        sentence, audio, job.vendor, svc.settings.max_upload_bytes, str(obj.get("ContentType") or "")
    )
    to_vendor = text_id != CONSENT_TEXT_ID
    if verdict is None and to_vendor and recording is not None and recording.wav is not None:
        svc.s3.put_object(
            Bucket=svc.settings.bucket_name,
            Key=converted_key(sentence.s3_key),
            Body=recording.wav,
            ContentType="audio/wav",
        )
        audio = recording.wav
    if verdict is None and to_vendor and capabilities(job.vendor).sentence_check == "vendor":
        verdict = svc.adapter_for(job.vendor).check_sentence(text_id, audio)
    if verdict is None:
        verdict = SentenceCheck(passed=True, code="0", message="passed", source="local")
    if verdict.measurements is None and recording is not None:
        verdict = verdict.model_copy(update={"measurements": recording.measurements})
    updated = sentence.model_copy(
        update={
            "status": SentenceStatus.PASSED if verdict.passed else SentenceStatus.REJECTED,
            "check": verdict,
            "checked_at": utcnow(),
            "check_count": sentence.check_count + 1,
        }
    )
    svc.store.jobs.save_sentence(updated, expected_version=sentence.version)
    metrics.add_metric(name="SentencePassed" if verdict.passed else "SentenceRejected", unit="Count", value=1)
    return {"text_id": text_id, "passed": verdict.passed}
