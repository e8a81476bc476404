"""The facts about one cloned voice, measured by speaking the probe set: per probe, and summed up per voice.

Measured, never copied from a vendor's claims (voiceclone.logic.comparisons.facts measures them;
docs/comparisons-facts.md says what each figure means and where it stops meaning anything). A
vendor whose voices do not speak through voiceclone gets facts that say so, with no figures, and
a price is only ever the one configured: absent, it is None ("not configured"), never a guess.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.domain.models import Language, utcnow
from voiceclone.domain.probes import ProbeCategory

# How the audio was delivered: "stream" (the first bytes came while the rest was made), "whole" (one
# answer: a sync call, or an async job's file), "none" (the vendor's voices do not speak here).
Delivery = Literal["stream", "whole", "none"]


class Spread(BaseModel):
    """A median and the range around it, over ``count`` values: what one figure does across the probes."""

    median: float
    low: float
    high: float
    count: int = Field(ge=1)

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Self | None:
        """The spread of the values given (None ones left out); None when there is none."""
        known = [v for v in values if v is not None]
        if not known:
            return None
        return cls(median=statistics.median(known), low=min(known), high=max(known), count=len(known))


class Price(BaseModel):
    """The price per thousand characters of speech, as the operator configured it for a vendor."""

    per_1k_chars: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class ProbeFailure(BaseModel):
    """Why one probe has no figures: the error's kind, the vendor's code (or ours) and its message."""

    error: str
    code: str
    message: str = ""


class ProbeFacts(BaseModel):
    """One probe spoken once: its timings, and the levels of the audio it gave (None where it failed)."""

    probe_id: str
    category: ProbeCategory
    characters: int
    failure: ProbeFailure | None = None
    # Seconds from the request to the first audio: a stream's first bytes, else the whole answer
    # (``delivery`` says which).
    first_audio_seconds: float | None = None
    # Seconds from the request to the last audio (the stream's end, the answer, the async file).
    synthesis_seconds: float | None = None
    audio_seconds: float | None = None
    # synthesis_seconds / audio_seconds: under 1, the voice is made faster than it plays.
    real_time_factor: float | None = None
    speech_dbfs: float | None = None
    peak_dbfs: float | None = None
    clipped_fraction: float | None = None
    leading_silence_seconds: float | None = None
    trailing_silence_seconds: float | None = None
    silence_seconds: float | None = None
    vendor_request_id: str = ""
    # Where the audio is kept (voiceclone.logic.core.keys.probe_audio_key) for blind listening; empty
    # where the probe failed or the measurement was not kept (a benchmark's run).
    audio_key: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


class FactsSummary(BaseModel):
    """Each per-probe figure's median and range over the probes that succeeded (None: no probe did)."""

    first_audio_seconds: Spread | None = None
    real_time_factor: Spread | None = None
    speech_dbfs: Spread | None = None
    clipped_fraction: Spread | None = None
    leading_silence_seconds: Spread | None = None
    trailing_silence_seconds: Spread | None = None
    silence_seconds: Spread | None = None

    @classmethod
    def of(cls, probes: Iterable[ProbeFacts]) -> Self:
        spoken = [p for p in probes if p.ok]
        return cls(**{name: Spread.of(getattr(p, name) for p in spoken) for name in cls.model_fields})


class VoiceFacts(BaseModel):
    """What one cloned voice did with the probe set: per probe, the summary, and the configured price.

    ``speaks`` False: the vendor offers no speech for its cloned voices through voiceclone
    (``note`` says how they are used there); there are then no probes and no figures.
    ``characters`` and ``vendor_calls`` are what the measurement cost at the vendor.
    """

    vendor: str
    vendor_voice_id: str
    language: Language
    probe_set_version: str
    speaks: bool
    delivery: Delivery
    note: str = ""
    format: str = ""
    sample_rate: int | None = None
    probes: list[ProbeFacts] = Field(default_factory=list)
    summary: FactsSummary = Field(default_factory=FactsSummary)
    probes_spoken: int = 0
    probes_failed: int = 0
    characters: int = 0
    vendor_calls: int = 0
    # None: no price is configured for the vendor (shown as "not configured").
    price: Price | None = None
    measured_at: datetime = Field(default_factory=utcnow)

    @property
    def streamed(self) -> bool:
        return self.delivery == "stream"

    def price_text(self) -> str:
        """The price per 1,000 characters as shown to a person: "0.3 CNY", or "not configured"."""
        if self.price is None:
            return "not configured"
        return f"{self.price.per_1k_chars:f} {self.price.currency}"
