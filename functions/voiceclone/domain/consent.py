"""The speaker's consent: the statement read before any training, its one-time phrase, and what is kept of it.

A job's consent is gathered one of two ways. ``recording``: the speaker reads a statement naming
themself, the tenant's organisation and the vendor, with a phrase made for this job alone, and
uploads it like a sentence (text id :data:`CONSENT_TEXT_ID`); it is checked like one but never
sent to the vendor. ``document``: where the operator allows it for the tenant, the job names a
document kept elsewhere (a signed paper form) instead. No vendor task is created before one of
the two is on record (voiceclone.logic.training.consent). docs/consent.md says what is and is
not verified.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from voiceclone.domain.audio import AudioMeasurements
from voiceclone.domain.base import BaseModel

# The text id of the consent take among a job's sentences (no vendor's text id is a word).
CONSENT_TEXT_ID = "consent"
# How many digits the one-time phrase has: 10**8 phrases, each claimed once (store.consent).
PHRASE_DIGITS = 8
# The longest and shortest consent take accepted: a statement is longer than a training sentence.
CONSENT_MIN_SECONDS = 3.0
CONSENT_MAX_SECONDS = 40.0

StatementLanguage = Literal["zh", "en"]


def _now() -> datetime:
    return datetime.now(tz=UTC)


# CJK Unified Ideographs and Extension A: a script holding them is read in Chinese.
_CHINESE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_DIGITS_ZH = "零一二三四五六七八九"
_DIGITS_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class ConsentKind(StrEnum):
    RECORDING = "recording"  # the speaker read the statement; the take is kept
    DOCUMENT = "document"  # a document kept outside voiceclone (a signed form), named by reference


class Verification(StrEnum):
    PASSED = "passed"
    # No verifier ran: the record says so rather than implying a check that did not happen.
    NOT_VERIFIED = "not_verified"
    # Not applicable to this kind of consent (a document has no audio to check).
    NOT_APPLICABLE = "not_applicable"


class Requester(BaseModel):
    """Who asked for the job: the tenant and which of its API keys (an id derived from the key's hash)."""

    tenant_id: str
    api_key_id: str


def script_language(texts: Iterable[str]) -> StatementLanguage:
    """The language the speaker reads in: Chinese when the vendor's script is, English otherwise."""
    return "zh" if any(_CHINESE.search(text) for text in texts) else "en"


def spoken_phrase(digits: str, language: StatementLanguage) -> str:
    """The digits as the speaker reads them, in two groups of four (easier to read and to hear)."""
    if language == "zh":
        words = [_DIGITS_ZH[int(d)] for d in digits]
        return "".join(words[:4]) + "，" + "".join(words[4:])
    spoken = [_DIGITS_EN[int(d)] for d in digits]
    return " ".join(spoken[:4]) + ", " + " ".join(spoken[4:])


def vendor_list(names: Sequence[str], language: StatementLanguage) -> str:
    """Vendors' names as a statement lists them: "A、B和C" in Chinese, "A, B and C" in English."""
    if len(names) <= 1:
        return "".join(names)
    if language == "zh":
        return "、".join(names[:-1]) + "和" + names[-1]
    return ", ".join(names[:-1]) + " and " + names[-1]


def statement(
    language: StatementLanguage, speaker: str, organisation: str, vendor: str | Sequence[str], phrase: str
) -> str:
    """The consent statement: who agrees, to whom, for what, through which vendor(s), and the phrase.

    A comparison's speaker agrees once for every vendor it clones at: the statement names them all.
    """
    if not isinstance(vendor, str):
        vendor = vendor_list(list(vendor), language)
    if language == "zh":
        return (
            f"我，{speaker}，同意{organisation}录制我的声音，并通过{vendor}用它制作合成声音。"
            f"本次同意的确认码是：{phrase}。"
        )
    return (
        f"I, {speaker}, agree that {organisation} records my voice to create a synthetic voice with it "
        f"through {vendor}. The one-time code of this consent is {phrase}."
    )


class ConsentTerms(BaseModel):
    """What a job's consent is to be, fixed when the job is created (kept on the job)."""

    kind: ConsentKind
    speaker_name: str
    organisation_name: str
    vendor_name: str
    language: StatementLanguage
    # The statement the speaker reads and its phrase ("" for a document), and the phrase's digits,
    # which the store claims once for all jobs.
    statement: str = ""
    phrase: str = ""
    phrase_digits: str = ""
    document_reference: str = ""
    requested_by: Requester
    requested_at: datetime = Field(default_factory=_now)


class ConsentChecks(BaseModel):
    """What was verified of the consent, each field a Verification value."""

    audio_checks: Verification = Field(
        description="The take passed the audio checks every recording gets (not_applicable for a document)"
    )
    phrase_heard: Verification = Field(
        default=Verification.NOT_VERIFIED,
        description="Whether the one-time phrase is heard in the take: no speech recogniser runs here",
    )
    same_speaker: Verification = Field(
        default=Verification.NOT_VERIFIED,
        description="Whether the consent speaker is the training speaker: no speaker verifier runs here",
    )


class ConsentState(StrEnum):
    KEPT = "KEPT"
    # The voice was deleted: the audio is gone, and the record keeps hashes and times only.
    DELETED = "DELETED"


class ConsentRecord(BaseModel):
    """The consent of one voice (``VOICE#<voice_id>``/``CONSENT``), written before its vendor task.

    Kept while the voice exists. When the voice is deleted the consent audio is deleted and the
    record becomes an audit entry: the personal fields (speaker, statement, phrase, organisation,
    document reference, audio key) are emptied, their hashes and the times stay.
    """

    voice_id: str
    job_id: str
    tenant_id: str
    vendor: str
    kind: ConsentKind
    state: ConsentState = ConsentState.KEPT
    speaker_name: str = ""
    organisation_name: str = ""
    language: StatementLanguage = "zh"
    statement: str = ""
    phrase: str = ""
    document_reference: str = ""
    # The take as the speaker uploaded it: where it is kept, its SHA-256 and size, its media type,
    # and the figures its audio check measured.
    audio_key: str = ""
    audio_sha256: str = ""
    audio_bytes: int = 0
    audio_content_type: str = ""
    measurements: AudioMeasurements | None = None
    # SHA-256 of the statement (or the document reference) as it was agreed: kept after deletion.
    statement_sha256: str = ""
    checks: ConsentChecks
    requested_by: Requester
    requested_at: datetime
    recorded_at: datetime = Field(default_factory=_now)
    deleted_at: datetime | None = None
    # Where the Consent Recorded event is POSTed (the job's notify_url).
    notify_url: str | None = None
    version: int = 0

    def forgotten(self, deleted_at: datetime) -> ConsentRecord:
        """The audit entry left when the voice is deleted: hashes and times, no personal data."""
        return self.model_copy(
            update={
                "state": ConsentState.DELETED,
                "speaker_name": "",
                "organisation_name": "",
                "statement": "",
                "phrase": "",
                "document_reference": "",
                "audio_key": "",
                "measurements": None,
                "notify_url": None,
                "deleted_at": deleted_at,
            }
        )


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
