"""The CheckSentence step: one recording checked locally (decoded first when it is no WAV at the
vendor's rate), then at the vendor when the vendor checks sentences.

A module of its own because it is the training workflow's one path to PyAV (through
voiceclone.domain.recording): the other steps (voiceclone.logic.training.steps) never decode, so
their functions' packages carry no FFmpeg (README, "Packages per function").
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.audio import (
    AudioMeasurements,
    AudioReport,
    Recording,
    RecordingLimits,
    limits_for,
    unlimited,
    within_limits,
)
from voiceclone.domain.audio_decode import extension_of
from voiceclone.domain.base import BaseModel
from voiceclone.domain.comparison import Comparison
from voiceclone.domain.consent import CONSENT_MAX_SECONDS, CONSENT_MIN_SECONDS, CONSENT_TEXT_ID
from voiceclone.domain.models import Sentence, SentenceCheck, SentenceStatus, utcnow
from voiceclone.domain.recording import inspect_recording
from voiceclone.logic.core.keys import converted_key, measured_key, measured_wav_key
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


class MeasuredTake(BaseModel):
    """What was measured of one upload's bytes at one rate, under no duration limit (kept in S3 as JSON).

    Every vendor's check of the same bytes (a comparison's vendors all train from one take) reads this
    instead of decoding again, and judges the duration under its own limits (audio.within_limits).
    """

    report: AudioReport
    measurements: AudioMeasurements | None = None
    # The trimmed 16-bit mono WAV at the rate is kept beside it (keys.measured_wav_key).
    has_wav: bool = False


def _cached(svc: Services, tenant_id: str, etag: str, rate: int) -> Recording | None:
    bucket = svc.settings.bucket_name
    try:
        body = svc.s3.get_object(Bucket=bucket, Key=measured_key(tenant_id, etag, rate))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    kept = MeasuredTake.model_validate_json(body)
    wav = None
    if kept.has_wav:
        wav = svc.s3.get_object(Bucket=bucket, Key=measured_wav_key(tenant_id, etag, rate))["Body"].read()
    return Recording(kept.report, kept.measurements, wav)


def measure(svc: Services, tenant_id: str, etag: str, s3_key: str, rate: int) -> Recording:
    """The upload's bytes decoded and measured at ``rate`` once: from what an earlier check kept of the
    same bytes (its ETag), else decoded now and kept for the next. No duration limit applies yet."""
    if etag:
        found = _cached(svc, tenant_id, etag, rate)
        if found is not None:
            return found
    obj = svc.s3.get_object(Bucket=svc.settings.bucket_name, Key=s3_key)
    # The key always ends in .wav; the Content-Type the client sent says what it meant to upload.
    recording = inspect_recording(
        obj["Body"].read(), unlimited(rate), ext=extension_of(str(obj.get("ContentType") or ""))
    )
    metrics.add_metric(name="RecordingDecoded", unit="Count", value=1)
    if etag:
        bucket = svc.settings.bucket_name
        if recording.wav is not None:
            svc.s3.put_object(
                Bucket=bucket,
                Key=measured_wav_key(tenant_id, etag, rate),
                Body=recording.wav,
                ContentType="audio/wav",
            )
        kept = MeasuredTake(
            report=recording.report, measurements=recording.measurements, has_wav=recording.wav is not None
        )
        svc.s3.put_object(
            Bucket=bucket,
            Key=measured_key(tenant_id, etag, rate),
            Body=kept.model_dump_json().encode(),
            ContentType="application/json",
        )
    return recording


def _local_check(
    svc: Services, sentence: Sentence, vendor: str
) -> tuple[SentenceCheck | None, Recording | None]:
    """Our own inspection of the audio: a clear reason without spending a vendor call.

    Returns (the rejection or None, the inspected Recording: measurements and the vendor-ready WAV).
    """
    max_bytes = svc.settings.max_upload_bytes
    size = sentence.upload_size
    if size is None:
        head = svc.s3.head_object(Bucket=svc.settings.bucket_name, Key=sentence.s3_key)
        size = int(head.get("ContentLength") or 0)
    if size > max_bytes:
        return SentenceCheck(
            passed=False,
            code="TOO_LARGE",
            message=f"the file is {size} bytes, more than {max_bytes}: record a shorter take",
            source="local",
        ), None
    limits = _limits(sentence, vendor)
    measured = measure(
        svc, sentence.tenant_id, sentence.upload_etag or "", sentence.s3_key, limits.sample_rate
    )
    recording = within_limits(measured, limits)
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
    verdict, recording = _local_check(svc, sentence, job.vendor)
    to_vendor = text_id != CONSENT_TEXT_ID
    if verdict is None and to_vendor and recording is not None and recording.wav is not None:
        svc.s3.put_object(
            Bucket=svc.settings.bucket_name,
            Key=converted_key(sentence.s3_key),
            Body=recording.wav,
            ContentType="audio/wav",
        )
    if verdict is None and to_vendor and capabilities(job.vendor).sentence_check == "vendor":
        assert recording is not None and recording.wav is not None  # it passed: it was read
        verdict = svc.adapter_for(job.vendor).check_sentence(text_id, recording.wav)
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


def measure_take(svc: Services, comparison_id: str, text_id: str) -> dict[str, Any]:
    """MeasureTakes: one of a comparison's takes decoded and measured once, at each rate its vendors
    take, before any vendor's check (which then reads the measurement instead of decoding again)."""
    comparison = svc.store.comparisons.require(comparison_id)
    take = next(t for t in comparison.takes if t.text_id == text_id)
    for rate in _rates(comparison, text_id):
        measure(svc, comparison.tenant_id, take.etag, take.s3_key, rate)
    return {"text_id": text_id}


def _rates(comparison: Comparison, text_id: str) -> list[int]:
    """The sample rates of the vendors that train from (or, the consent take, check) this take."""
    users = [v for v in comparison.vendors if text_id == CONSENT_TEXT_ID or text_id in v.text_ids]
    return sorted({capabilities(v.vendor).sample_rate for v in users})
