"""The audio bucket's key layout, in one place: what a client uploads, what the service keeps, what it speaks.

::

    uploads/<tenant>/<job>/<text_id>.wav          a sentence's presigned form writes here (any audio format)
    uploads/<tenant>/<job>/<document>.pdf         a document the vendor requires (Huawei's letter)
    uploads/<tenant>/<cmp-id>/<text_id>.wav       a comparison's take (read once, fitted to each vendor's job)
    uploads/<tenant>/<cmp-id>/<document>.pdf      a document one of the comparison's vendors requires
    training/<tenant>/<job>/recordings/<name>/<etag>.<wav|pdf>
                                                  intake's copy of an upload it recorded (no form writes
                                                  here); a comparison's under its id, copied to each job's
    training/<tenant>/measured/<etag>-<rate>.json what was measured of one upload's bytes at a rate (and
                                                  .wav, the audio measured): every check of them reuses it
    training/<tenant>/<job>/recordings/<name>/<etag>.vendor.wav
                                                  that recording converted for the vendor (CheckSentence)
    training/<tenant>/<job>/voice.wav             the sentences joined for a vendor that takes one file
    speech/<tenant>/<voice>/<speech>.<wav|mp3|pcm> speech made with a cloned voice
    consent/<tenant>/<voice>/<sha256>.wav         the speaker's consent take, kept while the voice exists
    speech/<tenant>/comparisons/<cmp-id>/<vendor>/<probe_id>.wav
                                                  a probe spoken by one vendor's voice of a comparison
    listening/<tenant>/<cmp-id>/<token>.wav       a copy of one, under a random name, for one blind pair
                                                  (expired by a lifecycle rule after a day)

The tenant prefix scopes every presigned URL; infra (the bucket's notifications and lifecycle
rules) reads the prefixes from here too. No lifecycle rule expires ``consent/``: a consent take
goes when its voice is deleted (voiceclone.logic.training.consent).
"""

from __future__ import annotations

UPLOADS = "uploads"
TRAINING = "training"
SPEECH = "speech"
CONSENT = "consent"
LISTENING = "listening"
# What intake takes: recordings (whatever their format, the key says .wav) and documents (PDF).
UPLOAD_KINDS = ("wav", "pdf")


def upload_key(tenant_id: str, job_id: str, text_id: str) -> str:
    """Where a sentence's recording is uploaded."""
    return f"{UPLOADS}/{tenant_id}/{job_id}/{text_id}.wav"


def document_key(tenant_id: str, job_id: str, name: str) -> str:
    """Where a document the vendor requires is uploaded (e.g. a signed authorization letter, PDF)."""
    return f"{UPLOADS}/{tenant_id}/{job_id}/{name}.pdf"


def parse_upload_key(key: str) -> tuple[str, str, str, str] | None:
    """(tenant_id, job_id, name, kind) of an upload key, kind "wav" or "pdf"; None for anything else."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != UPLOADS:
        return None
    name, _, kind = parts[3].rpartition(".")
    if kind not in UPLOAD_KINDS or not name:
        return None
    return parts[1], parts[2], name, kind


def accepted_key(tenant_id: str, job_id: str, name: str, etag: str, kind: str) -> str:
    """Where intake keeps an upload it recorded: named by its ETag, written by intake alone."""
    return f"{TRAINING}/{tenant_id}/{job_id}/recordings/{name}/{etag}.{kind}"


def converted_key(kept_key: str) -> str:
    """Where CheckSentence keeps the vendor-ready WAV of a kept upload (beside it, same lifecycle)."""
    return f"{kept_key.rpartition('.')[0]}.vendor.wav"


def assembled_key(tenant_id: str, job_id: str) -> str:
    """Where SubmitTraining stores a single-file vendor's assembled recording."""
    return f"{TRAINING}/{tenant_id}/{job_id}/voice.wav"


def job_prefixes(tenant_id: str, job_id: str) -> tuple[str, str]:
    """Everything of one job lies under these two prefixes (its uploads, and what the service kept)."""
    return f"{UPLOADS}/{tenant_id}/{job_id}/", f"{TRAINING}/{tenant_id}/{job_id}/"


def speech_key(tenant_id: str, voice_id: str, speech_id: str, fmt: str) -> str:
    """Where a speech's audio is kept."""
    return f"{SPEECH}/{tenant_id}/{voice_id}/{speech_id}.{fmt}"


def consent_key(tenant_id: str, voice_id: str, sha256: str) -> str:
    """Where a voice's consent take is kept (named by its hash: a copy of the same bytes lands on itself)."""
    return f"{CONSENT}/{tenant_id}/{voice_id}/{sha256}.wav"


def comparison_upload_key(tenant_id: str, comparison_id: str, text_id: str) -> str:
    """Where a comparison's take is uploaded: the jobs' layout, under the comparison's id."""
    return upload_key(tenant_id, comparison_id, text_id)


def probe_audio_key(tenant_id: str, comparison_id: str, vendor: str, probe_id: str) -> str:
    """Where one probe spoken by one vendor's voice of a comparison is kept (a WAV): the audio the blind
    listening plays, beside the facts measured of it."""
    return f"{SPEECH}/{tenant_id}/comparisons/{comparison_id}/{vendor}/{probe_id}.wav"


def measured_key(tenant_id: str, etag: str, sample_rate: int) -> str:
    """Where CheckSentence keeps what it measured of one upload's bytes (named by their ETag) at a rate."""
    return f"{TRAINING}/{tenant_id}/measured/{etag}-{sample_rate}.json"


def measured_wav_key(tenant_id: str, etag: str, sample_rate: int) -> str:
    """The trimmed 16-bit mono WAV at that rate that the measurement was taken of, beside it."""
    return f"{TRAINING}/{tenant_id}/measured/{etag}-{sample_rate}.wav"


def listening_key(tenant_id: str, comparison_id: str, token: str) -> str:
    """Where one side of a blind pair is copied: a random name, so neither the URL nor the key says
    which vendor's voice it is (a probe's own key names its vendor)."""
    return f"{LISTENING}/{tenant_id}/{comparison_id}/{token}.wav"
