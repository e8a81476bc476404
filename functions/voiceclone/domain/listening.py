"""Blind listening's records and rules: who takes part, on which probes, and the pair kept server-side.

A vendor takes part once its voice is ready and its facts hold the audio of probes it spoke; the
pairs are played on the probes every taking-part voice spoke, so each vendor is judged on the same
sentences. The pair (which vendor was A) never leaves the service: the listener gets an opaque
``pair_id`` and two audio URLs under opaque names, and answers with ``a``, ``b`` or ``same``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from voiceclone.domain.base import BaseModel
from voiceclone.domain.comparison import Comparison, VendorOutcome
from voiceclone.domain.facts import VoiceFacts
from voiceclone.domain.models import utcnow
from voiceclone.domain.ranking import Choice, Vote

# How long a pair waits for its vote (the table's TTL removes it after); a vote keeps it for good.
PAIR_TTL_SECONDS = 24 * 3600
# How long the audio URLs of a pair may be played.
AUDIO_URL_SECONDS = 3600


class ListeningPair(BaseModel):
    """``CMP#<comparison_id>``/``PAIR#<pair_id>``: one pair handed to a listener, and its vote once given.

    ``expires_at`` (epoch seconds, the table's TTL attribute) is set while the pair waits for its vote
    and removed with the vote, so votes stay as long as the comparison.
    """

    pair_id: str
    comparison_id: str
    tenant_id: str
    first: str  # the vendor played as A
    second: str  # the vendor played as B
    probe_id: str
    created_at: datetime
    expires_at: int | None = None
    choice: Choice | None = None
    voted_at: datetime | None = None

    def vote(self) -> Vote | None:
        return None if self.choice is None else Vote(first=self.first, second=self.second, choice=self.choice)

    def waiting(self, now: datetime | None = None) -> bool:
        """Unvoted and not expired (the TTL removes an expired item only eventually)."""
        moment = (now or utcnow()).timestamp()
        return self.choice is None and self.expires_at is not None and self.expires_at > moment


def voice_facts(facts: dict[str, Any] | None) -> VoiceFacts | None:
    """A vendor entry's facts as measured, or None when there are none (or of a shape no longer read)."""
    if not facts:
        return None
    try:
        return VoiceFacts.model_validate(facts)
    except ValidationError:
        return None


def probe_audio(comparison: Comparison) -> dict[str, dict[str, str]]:
    """Per vendor taking part: probe id -> the key of its audio. Ready vendors with kept audio only."""
    found: dict[str, dict[str, str]] = {}
    for entry in comparison.vendors:
        facts = voice_facts(entry.facts) if entry.outcome is VendorOutcome.READY else None
        audio = {p.probe_id: p.audio_key for p in facts.probes if p.ok and p.audio_key} if facts else {}
        if audio:
            found[entry.vendor] = audio
    return found


def shared_probes(audio: dict[str, dict[str, str]]) -> list[str]:
    """The probes every vendor taking part spoke (sorted): the only ones its pairs are played on."""
    if not audio:
        return []
    common = set.intersection(*(set(a) for a in audio.values()))
    return sorted(common)
