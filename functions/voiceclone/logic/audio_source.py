"""A job's checked recordings, read from S3 and shaped the way a vendor takes them."""

from __future__ import annotations

from functools import cached_property

from voiceclone.domain.models import Job, Sentence
from voiceclone.logic.services import Services

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
TRAINING_PREFIX = "training"


def assembled_key(tenant_id: str, job_id: str) -> str:
    """Where SubmitTraining stores a single-file vendor's assembled recording."""
    return f"{TRAINING_PREFIX}/{tenant_id}/{job_id}/voice.wav"


class S3AudioSource:
    """The vendor adapter's view of the audio (voiceclone.vendors.base.AudioSource)."""

    def __init__(self, svc: Services, job: Job, sentences: list[Sentence]) -> None:
        self._svc = svc
        self._job = job
        self._sentences = {s.text_id: s for s in sentences}
        self._cache: dict[str, bytes] = {}

    def sentence_audio(self, text_id: str) -> bytes:
        if text_id not in self._cache:
            obj = self._svc.s3.get_object(
                Bucket=self._svc.settings.bucket_name, Key=self._sentences[text_id].s3_key
            )
            self._cache[text_id] = obj["Body"].read()
        return self._cache[text_id]

    def document(self, name: str) -> bytes:
        from voiceclone.logic.intake import accepted_key

        # The copy intake kept of the upload it recorded, not the upload key a form may still overwrite.
        key = accepted_key(self._job.tenant_id, self._job.job_id, name, self._job.documents[name], "pdf")
        body: bytes = self._svc.s3.get_object(Bucket=self._svc.settings.bucket_name, Key=key)["Body"].read()
        return body

    @cached_property
    def _assembled(self) -> bytes:
        from voiceclone.domain.audio import assemble_wav  # only SubmitTraining of single-file vendors

        return assemble_wav([self.sentence_audio(t) for t in sorted(self._sentences)])

    def assembled_wav(self) -> bytes:
        return self._assembled

    @property
    def assembled_key(self) -> str:
        return assembled_key(self._job.tenant_id, self._job.job_id)

    def assembled_url(self) -> str:
        """Store the assembled WAV and presign a GET that lasts as long as training may (7 days at most)."""
        bucket = self._svc.settings.bucket_name
        self._svc.s3.put_object(
            Bucket=bucket, Key=self.assembled_key, Body=self._assembled, ContentType="audio/wav"
        )
        expires = min(self._svc.settings.training_deadline_seconds, MAX_PRESIGN_SECONDS)
        url: str = self._svc.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": self.assembled_key}, ExpiresIn=expires
        )
        return url
