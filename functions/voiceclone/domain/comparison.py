"""A comparison: one speaker reads once, and a voice is cloned at each chosen vendor from those takes.

:func:`plan_takes` is the rule of the fewest takes: a vendor with fixed texts gets its own sentences
(one take per distinct text, shared with any other vendor whose script holds the same text), and a
vendor that reads any text (``Capabilities.reads_any_text``) reuses takes made for the others,
adding from its own script only what it still lacks. The records (:class:`Comparison`) keep the
takes as they arrive and, per vendor, its job and how it ended; the jobs themselves are ordinary
jobs, each naming its comparison.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.domain.consent import ConsentTerms
from voiceclone.domain.models import Gender, JobError, Language, TrainingText, utcnow


class VendorScript(BaseModel):
    """What one vendor needs read: its texts, and whether takes of any other text serve it as well."""

    vendor: str
    texts: list[TrainingText]
    reads_any_text: bool = False


class Take(BaseModel):
    """One text the speaker reads once; ``text_id`` is the comparison's own (unique among its takes)."""

    text_id: str
    text: str


class VendorTakes(BaseModel):
    """Which takes a vendor's job trains from: the take's id, and the text id the vendor knows it by."""

    vendor: str
    # take id -> the vendor's text id (the same but where two scripts give one id to different texts).
    text_ids: dict[str, str]


class TakePlan(BaseModel):
    takes: list[Take]
    vendors: list[VendorTakes]

    def needs(self, vendor: str) -> VendorTakes:
        return next(v for v in self.vendors if v.vendor == vendor)


def _unique_id(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def plan_takes(scripts: list[VendorScript]) -> TakePlan:
    """The fewest takes that serve every vendor, and which of them each vendor's job gets.

    Fixed-text vendors first: each distinct text is one take, whichever vendors' scripts hold it. Then
    each vendor that reads any text takes as many takes as its script has sentences, the existing ones
    first, and adds its own script's sentences (those not read yet) only while it has too few. So the
    count is the fixed vendors' distinct texts, or the largest free vendor's sentence count if that
    is more; no take can go without leaving some vendor short.
    """
    takes: list[Take] = []
    by_text: dict[str, str] = {}
    ids: set[str] = set()

    def take_of(text: TrainingText) -> str:
        found = by_text.get(text.text)
        if found is not None:
            return found
        take_id = _unique_id(text.text_id, ids)
        ids.add(take_id)
        by_text[text.text] = take_id
        takes.append(Take(text_id=take_id, text=text.text))
        return take_id

    assigned: dict[str, dict[str, str]] = {}
    for script in scripts:
        if not script.reads_any_text:
            assigned[script.vendor] = {take_of(t): t.text_id for t in script.texts}
    # The free vendors needing most first: what they add, the others reuse.
    for script in sorted((s for s in scripts if s.reads_any_text), key=lambda s: -len(s.texts)):
        wanted = len(script.texts)
        own = iter(script.texts)
        while len(takes) < wanted:
            text = next(own)
            if text.text not in by_text:
                take_of(text)
        assigned[script.vendor] = {t.text_id: t.text_id for t in takes[:wanted]}
    return TakePlan(
        takes=takes, vendors=[VendorTakes(vendor=s.vendor, text_ids=assigned[s.vendor]) for s in scripts]
    )


class ComparisonStatus(StrEnum):
    AWAITING_AUDIO = "AWAITING_AUDIO"  # the takes (and documents) are being uploaded
    TRAINING = "TRAINING"  # every take is in: each vendor's job is checked and trained
    SUCCEEDED = "SUCCEEDED"  # every vendor's voice is ready
    PARTLY_SUCCEEDED = "PARTLY_SUCCEEDED"  # some voices are ready, some vendors failed
    FAILED = "FAILED"  # no vendor made a voice
    EXPIRED = "EXPIRED"  # the takes did not all arrive before the deadline: nothing was trained

    @property
    def terminal(self) -> bool:
        return self in (
            ComparisonStatus.SUCCEEDED,
            ComparisonStatus.PARTLY_SUCCEEDED,
            ComparisonStatus.FAILED,
            ComparisonStatus.EXPIRED,
        )


class VendorOutcome(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


def outcome_of(outcomes: list[VendorOutcome]) -> ComparisonStatus:
    """How a comparison ended, from its vendors' outcomes (all ready, some, none)."""
    ready = sum(1 for o in outcomes if o is VendorOutcome.READY)
    if ready == len(outcomes):
        return ComparisonStatus.SUCCEEDED
    return ComparisonStatus.PARTLY_SUCCEEDED if ready else ComparisonStatus.FAILED


class TakeRecord(BaseModel):
    """One take of the comparison: its text, and the upload intake kept (empty until it arrives)."""

    text_id: str
    text: str
    etag: str = ""
    size: int = 0
    s3_key: str = ""
    uploaded_at: datetime | None = None


class ComparisonVendor(BaseModel):
    """One vendor of a comparison: its job, the takes it trains from, and how it ended."""

    vendor: str
    job_id: str
    options: dict[str, str] = Field(default_factory=dict)
    # take id -> the vendor's text id (its job's sentence); the consent take is every vendor's.
    text_ids: dict[str, str] = Field(default_factory=dict)
    outcome: VendorOutcome = VendorOutcome.PENDING
    voice_id: str | None = None
    error: JobError | None = None
    ready_at: datetime | None = None
    ended_at: datetime | None = None
    # What the comparison's facts step measured of the voice (null until measured).
    facts: dict[str, Any] | None = None
    # Why the facts step measured nothing (the vendor down while probing, the step's timeout): the
    # voice stays ready, its facts stay null.
    facts_error: JobError | None = None


class Comparison(BaseModel):
    """``CMP#<comparison_id>``/``COMPARISON``: the takes, the consent, and one entry per vendor."""

    comparison_id: str
    tenant_id: str
    voice_name: str
    speaker_name: str
    language: Language
    gender: Gender
    consent: ConsentTerms
    status: ComparisonStatus = ComparisonStatus.AWAITING_AUDIO
    takes: list[TakeRecord]
    # Documents the vendors require (their union): name -> ETag of the upload, "" until uploaded.
    documents: dict[str, str] = Field(default_factory=dict)
    vendors: list[ComparisonVendor]
    notify_url: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # When the comparison ends EXPIRED if its takes are not all in (voiceclone.logic.comparisons.expiry);
    # its vendors' jobs have the same deadline.
    deadline_at: datetime | None = None
    # Why it ended without training: EXPIRED, naming the takes and documents that never arrived.
    error: JobError | None = None
    # When the last take (or document) came in: the clock of each vendor's "seconds to ready".
    takes_completed_at: datetime | None = None
    execution_name: str | None = None
    ended_at: datetime | None = None
    # The vendor whose voice was kept (POST .../keep), the other vendors' voices deleted.
    kept: str | None = None
    kept_at: datetime | None = None
    version: int = 0

    def vendor(self, vendor: str) -> ComparisonVendor:
        return next(v for v in self.vendors if v.vendor == vendor)

    @property
    def complete(self) -> bool:
        """Every take and document is in."""
        return not self.missing_takes and not self.missing_documents

    @property
    def missing_takes(self) -> list[str]:
        return [t.text_id for t in self.takes if not t.etag]

    @property
    def missing_documents(self) -> list[str]:
        return [name for name, etag in self.documents.items() if not etag]
