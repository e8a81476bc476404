"""What a job leaves when it ends early or its voice is deleted: recordings in S3, a task at the vendor.

Used when a client cancels a job, when a job expires (voiceclone.logic.training.expiry) and when
a voice is deleted (voiceclone.logic.training.voices); a comparison that expires deletes its kept
takes with the same :func:`delete_keys` (voiceclone.logic.comparisons.expiry).
"""

from __future__ import annotations

from typing import Any

from voiceclone.domain.errors import StorageError, VendorError
from voiceclone.domain.models import Job
from voiceclone.logic.core.keys import accepted_key, assembled_key, document_key, job_prefixes, upload_key
from voiceclone.logic.core.services import Services
from voiceclone.observability import logger
from voiceclone.vendors.registry import capabilities


def delete_job_recordings(svc: Services, job_id: str) -> int:
    """Delete the job's recordings, documents and the assembled training audio; how many keys went.

    Both copies of each: what the client's form posted (the upload key) and what intake kept,
    and whatever else lies under the job's two prefixes (earlier takes of re-recorded sentences,
    audio converted for the vendor).
    """
    job, sentences = svc.store.jobs.with_sentences(job_id)
    keys = [s.s3_key for s in sentences]
    keys += [upload_key(job.tenant_id, job.job_id, s.text_id) for s in sentences]
    keys += [document_key(job.tenant_id, job.job_id, name) for name in job.documents]
    keys += [
        accepted_key(job.tenant_id, job.job_id, name, etag, "pdf")
        for name, etag in job.documents.items()
        if etag
    ]
    keys.append(assembled_key(job.tenant_id, job.job_id))
    return delete_keys(svc, keys, job_prefixes(job.tenant_id, job.job_id))


def delete_keys(svc: Services, keys: list[str], prefixes: tuple[str, ...] = ()) -> int:
    """Delete ``keys`` and everything under ``prefixes``; how many keys went (a job's, a comparison's).

    StorageError names the first key S3 could not delete: the caller's run is tried again.
    """
    keys = list(keys)
    for prefix in prefixes:
        keys += _listed_keys(svc, prefix)
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


def cancel_vendor_task(svc: Services, job: Job) -> str | None:
    """Stop the vendor's task; the note to keep on the job when that is not possible."""
    if not job.vendor_task_id:
        return None
    if not capabilities(job.vendor).cancel_task:
        return f"{job.vendor} has no API to cancel training: its task {job.vendor_task_id} may still finish"
    try:
        svc.adapter_for(job.vendor).cancel_task(job.vendor_task_id)
    except VendorError as exc:
        logger.warning("vendor cancel failed", extra={"job_id": job.job_id, "code": exc.code})
        return f"{job.vendor} did not cancel task {job.vendor_task_id} ({exc.code}: {exc.message})"
    return None


def keep_note(svc: Services, job_id: str, note: str | None) -> None:
    """Keep what could not be cleaned up (a vendor that could not cancel) as the job's note."""
    if note:
        svc.store.jobs.mutate(
            job_id, lambda j: None if j.note == note else j.model_copy(update={"note": note})
        )
