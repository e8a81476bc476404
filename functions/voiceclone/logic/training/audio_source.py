"""A job's checked recordings, read from S3 and shaped the way a vendor takes them."""

from __future__ import annotations

from functools import cached_property

from botocore.exceptions import ClientError

from voiceclone.domain.audio import WindowMiss, assemble_wav, choose_for_window, wav_seconds
from voiceclone.domain.errors import VendorRejected
from voiceclone.domain.models import Job, Sentence
from voiceclone.logic.core.keys import accepted_key, assembled_key, converted_key
from voiceclone.logic.core.services import Services
from voiceclone.vendors.registry import capabilities

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# Silence between joined sentences.
PAUSE_SECONDS = 0.5


class S3AudioSource:
    """The vendor adapter's view of the audio (voiceclone.vendors.base.AudioSource)."""

    def __init__(self, svc: Services, job: Job, sentences: list[Sentence]) -> None:
        self._svc = svc
        self._job = job
        self._sentences = {s.text_id: s for s in sentences}
        self._cache: dict[str, bytes] = {}

    def sentence_audio(self, text_id: str) -> bytes:
        """The checked sentence as the vendor takes it: the WAV CheckSentence converted and trimmed."""
        if text_id not in self._cache:
            bucket, kept = self._svc.settings.bucket_name, self._sentences[text_id].s3_key
            try:
                obj = self._svc.s3.get_object(Bucket=bucket, Key=converted_key(kept))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                    raise
                obj = self._svc.s3.get_object(Bucket=bucket, Key=kept)  # checked before conversions
            self._cache[text_id] = obj["Body"].read()
        return self._cache[text_id]

    def document(self, name: str) -> bytes:
        # The copy intake kept of the upload it recorded, not the upload key a form may still overwrite.
        key = accepted_key(self._job.tenant_id, self._job.job_id, name, self._job.documents[name], "pdf")
        body: bytes = self._svc.s3.get_object(Bucket=self._svc.settings.bucket_name, Key=key)["Body"].read()
        return body

    @cached_property
    def _assembled(self) -> bytes:
        """The checked sentences joined; where the vendor has a duration window, as many as fit it."""
        chosen = sorted(self._sentences)
        window = capabilities(self._job.vendor).joined_seconds
        if window is not None:
            durations = {t: wav_seconds(self.sentence_audio(t)) for t in chosen}
            try:
                chosen = choose_for_window(durations, *window, pause_seconds=PAUSE_SECONDS)
            except WindowMiss as miss:
                raise VendorRejected(self._job.vendor, "RecordingsDoNotFit", str(miss)) from miss
        return assemble_wav([self.sentence_audio(t) for t in chosen], pause_seconds=PAUSE_SECONDS)

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
