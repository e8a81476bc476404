"""Voices as resources: list, read, rename and delete, at the vendor where its API allows it."""

from __future__ import annotations

from typing import Any

from voiceclone.domain.api_models import VoicePage, VoiceView
from voiceclone.domain.errors import Conflict, InvalidField, StorageError, VendorRejected
from voiceclone.domain.models import Voice, VoiceState, utcnow
from voiceclone.logic.audio_source import TRAINING_PREFIX, assembled_key
from voiceclone.logic.services import Services
from voiceclone.observability import logger
from voiceclone.vendors.registry import capabilities


def list_voices(
    svc: Services,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    vendor: str | None = None,
    state: VoiceState | None = None,
) -> VoicePage:
    def matches(voice: Voice) -> bool:
        return (vendor is None or voice.vendor == vendor) and (state is None or voice.state is state)

    voices, next_cursor = svc.repo.list_voices(tenant_id, limit, cursor, matches)
    return VoicePage(items=[VoiceView.of(v) for v in voices], next_cursor=next_cursor)


def get_voice(svc: Services, tenant_id: str, voice_id: str) -> VoiceView:
    return VoiceView.of(svc.repo.require_voice(voice_id, tenant_id))


def check_voice_name(vendor: str, name: str, loc: tuple[str, ...]) -> None:
    """Refuse a name longer than the vendor takes (InvalidField, a 422) before the vendor is asked."""
    limit = capabilities(vendor).voice_name_max_chars
    if limit is not None and len(name) > limit:
        raise InvalidField(
            loc,
            "NameTooLong",
            f"{vendor} takes voice names of at most {limit} characters; this one has {len(name)}",
            max_chars=limit,
        )


def _ready(voice: Voice) -> None:
    if voice.state is VoiceState.DELETED:
        raise Conflict(
            "VoiceDeleted", f"voice {voice.voice_id} was deleted", deleted_at=str(voice.deleted_at)
        )


def rename_voice(svc: Services, tenant_id: str, voice_id: str, name: str) -> VoiceView:
    """Rename at the vendor first where it can (a refusal leaves the voice as it was), then here."""
    voice = svc.repo.require_voice(voice_id, tenant_id)
    _ready(voice)
    if name == voice.name:
        return VoiceView.of(voice)
    check_voice_name(voice.vendor, name, ("body", "name"))
    if capabilities(voice.vendor).rename_voice:
        svc.adapter_for(voice.vendor).rename_voice(voice.vendor_voice, name)
        note = None
    else:
        note = f"{voice.vendor} cannot rename a voice: the new name is kept by voiceclone only"
    saved = svc.repo.save_voice(voice.model_copy(update={"name": name, "note": note}), voice.version)
    return VoiceView.of(saved)


def delete_voice(svc: Services, tenant_id: str, voice_id: str) -> VoiceView:
    """Delete at the vendor where it can, delete the recordings in S3, and mark the voice DELETED.

    A vendor that cannot delete (no API, or a paid slot) leaves the voice usable there: the
    note says so. A vendor outage fails the call instead (503), so the client can retry it.
    """
    voice = svc.repo.require_voice(voice_id, tenant_id)
    if voice.state is VoiceState.DELETED:
        return VoiceView.of(voice)  # deleting twice is not an error
    note: str | None = None
    if capabilities(voice.vendor).delete_voice:
        try:
            svc.adapter_for(voice.vendor).delete_voice(voice.vendor_voice)
        except VendorRejected as exc:  # a final no (e.g. a paid slot); an outage propagates as 503
            note = (
                f"{voice.vendor} refused the delete ({exc.code}: {exc.message}); the voice may remain there"
            )
    else:
        note = f"{voice.vendor} has no API to delete a voice: it remains usable at {voice.vendor}"
    deleted = delete_recordings(svc, voice)
    logger.info("voice deleted", extra={"voice_id": voice_id, "objects_deleted": deleted, "note": note})
    now = utcnow()
    saved = svc.repo.save_voice(
        voice.model_copy(update={"state": VoiceState.DELETED, "deleted_at": now, "note": note}), voice.version
    )
    return VoiceView.of(saved)


def delete_recordings(svc: Services, voice: Voice) -> int:
    """Delete the recordings the voice was trained from; how many keys went."""
    return delete_job_recordings(svc, voice.job_id)


def delete_job_recordings(svc: Services, job_id: str) -> int:
    """Delete the job's recordings, documents and the assembled training audio; how many keys went.

    Both copies of each: what the client's form posted (the upload key) and what intake kept,
    and whatever else lies under the job's two prefixes (earlier takes of re-recorded sentences,
    audio converted for the vendor). Used when a voice is deleted and when a job expires
    (voiceclone.logic.expiry).
    """
    from voiceclone.logic.intake import accepted_key
    from voiceclone.logic.jobs import UPLOAD_PREFIX, document_key, upload_key

    job, sentences = svc.repo.get_job_with_sentences(job_id)

    keys = [s.s3_key for s in sentences]
    keys += [upload_key(job.tenant_id, job.job_id, s.text_id) for s in sentences]
    keys += [document_key(job.tenant_id, job.job_id, name) for name in job.documents]
    keys += [
        accepted_key(job.tenant_id, job.job_id, name, etag, "pdf")
        for name, etag in job.documents.items()
        if etag
    ]
    keys.append(assembled_key(job.tenant_id, job.job_id))
    keys += _listed_keys(svc, f"{UPLOAD_PREFIX}/{job.tenant_id}/{job.job_id}/")
    keys += _listed_keys(svc, f"{TRAINING_PREFIX}/{job.tenant_id}/{job.job_id}/")
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        resp = svc.s3.delete_objects(
            Bucket=svc.settings.bucket_name,
            Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
        )
        errors = resp.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                str(first.get("Code", "DeleteFailed")),
                f"could not delete the recording {first.get('Key')}: {first.get('Message')}; try again",
            )
    return len(keys)


def _listed_keys(svc: Services, prefix: str) -> list[str]:
    """Every key under `prefix` (one job's), page by page."""
    kwargs: dict[str, Any] = {"Bucket": svc.settings.bucket_name, "Prefix": prefix}
    keys: list[str] = []
    while True:
        page = svc.s3.list_objects_v2(**kwargs)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return keys
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
