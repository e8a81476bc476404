"""Blind listening for the REST API: the next pair, a vote, the ranking the votes make, and keeping the best.

The vendor behind A and B stays in the table (voiceclone.store.listening); the listener gets the
probe text and two presigned URLs of copies of the probe audio under random names
(keys.listening_key), fresh for every pair, so neither a URL, a key nor a repeated name says which
vendor spoke. Each copy is labelled as any speech handed out is (GB 45438's metadata label, its
ProduceID the copy's random name, and the audible label where the tenant's policy has it), but not
signed: a C2PA manifest names the vendor and the voice, which is what the listener must not learn.
The arithmetic (which pair next, readiness, Bradley–Terry) is voiceclone.domain.ranking's.
Keeping a vendor deletes the others' voices through the voices' own deletion (at the vendor where
its API allows, the recordings and the consent take with them).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from voiceclone.domain import ranking as ranking_rules
from voiceclone.domain.api_models import (
    DeletedVoiceView,
    FactsBrief,
    KeepView,
    PairView,
    RankedVendorView,
    RankingView,
    VoteRequest,
    VotesSoFar,
    VoteView,
    seconds_to_ready,
)
from voiceclone.domain.comparison import Comparison, VendorOutcome
from voiceclone.domain.errors import Conflict, NotFound
from voiceclone.domain.facts import VoiceFacts
from voiceclone.domain.listening import (
    AUDIO_URL_SECONDS,
    PAIR_TTL_SECONDS,
    ListeningPair,
    probe_audio,
    shared_probes,
    voice_facts,
)
from voiceclone.domain.models import VoiceState, utcnow
from voiceclone.domain.probes import PROBES
from voiceclone.domain.ranking import MIN_VOTES_PER_PAIR, Vote, rank, ranking_ready, votes_per_pair
from voiceclone.logic.core.keys import listening_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import labelling
from voiceclone.logic.training import voices
from voiceclone.observability import logger
from voiceclone.provenance.models import SpeechContext
from voiceclone.provenance.speech import label_speech

PROBE_TEXTS = {p.id: p.text for p in PROBES}
# What label_speech is told the audio's rate is: a WAV's own header says it (the argument is raw PCM's).
PROBE_SAMPLE_RATE = 16000


def _taking_part(comparison: Comparison) -> dict[str, dict[str, str]]:
    """The vendors heard (ready, with probe audio) and their audio; Conflict when fewer than two."""
    audio = probe_audio(comparison)
    if len(audio) < 2:
        heard = ", ".join(sorted(audio)) or "none"
        raise Conflict(
            "NotEnoughVoices",
            f"blind listening needs two or more voices ready with probe audio; this comparison has "
            f"{len(audio)} ({heard}): wait until the vendors' voices are ready and measured",
            ready_with_audio=len(audio),
        )
    return audio


def _votes(svc: Services, comparison_id: str) -> list[Vote]:
    return [v for v in (p.vote() for p in svc.store.listening.pairs(comparison_id)) if v is not None]


def progress(vendors: list[str], votes: list[Vote]) -> VotesSoFar:
    """Counts only, most first: no pair is named, so the answer tells nothing of who is A or B."""
    counts = sorted(votes_per_pair(vendors, votes).values(), reverse=True)
    return VotesSoFar(
        votes_per_pair=counts, needed_per_pair=MIN_VOTES_PER_PAIR, ranking_ready=ranking_ready(vendors, votes)
    )


def next_pair(
    svc: Services, tenant_id: str, comparison_id: str, rng: random.Random | None = None
) -> PairView:
    """A new blind pair: the pair with the fewest votes, a probe both spoke, A and B in a random order."""
    rng = rng or random.SystemRandom()
    comparison = svc.store.comparisons.require(comparison_id, tenant_id)
    if comparison.kept:
        raise Conflict("ComparisonKept", f"the listening ended: {comparison.kept}'s voice was kept")
    audio = _taking_part(comparison)
    probes = shared_probes(audio)
    if not probes:
        raise Conflict("NoSharedProbe", "the voices ready with audio spoke no probe sentence in common")
    vendors = sorted(audio)
    votes = _votes(svc, comparison_id)
    first, second, probe_id = ranking_rules.next_pair(vendors, probes, votes, rng)
    now = utcnow()
    pair = ListeningPair(
        pair_id=f"pair-{uuid.uuid4().hex}",
        comparison_id=comparison_id,
        tenant_id=tenant_id,
        first=first,
        second=second,
        probe_id=probe_id,
        created_at=now,
        expires_at=int(now.timestamp()) + PAIR_TTL_SECONDS,
    )
    a = _copy(svc, comparison, first, audio[first][probe_id])
    b = _copy(svc, comparison, second, audio[second][probe_id])
    svc.store.listening.create(pair)
    logger.info("listening pair", extra={"comparison_id": comparison_id, "pair_id": pair.pair_id})
    return PairView(
        pair_id=pair.pair_id,
        comparison_id=comparison_id,
        text=PROBE_TEXTS.get(probe_id, ""),
        a=a,
        b=b,
        expires_at=now + timedelta(seconds=PAIR_TTL_SECONDS),
        progress=progress(vendors, votes),
    )


def _copy(svc: Services, comparison: Comparison, vendor: str, source_key: str) -> str:
    """The probe audio labelled under a random name (unsigned, see above); its presigned GET."""
    bucket = svc.settings.bucket_name
    name = uuid.uuid4().hex
    key = listening_key(comparison.tenant_id, comparison.comparison_id, name)
    audio = svc.s3.get_object(Bucket=bucket, Key=source_key)["Body"].read()
    policy = labelling.tenant_policy(svc, comparison.tenant_id).model_copy(update={"sign": False})
    context = SpeechContext(
        speech_id=f"probe-{name}",
        voice_id=comparison.vendor(vendor).voice_id or vendor,
        vendor=vendor,
        tenant_id=comparison.tenant_id,
    )
    labelled = label_speech(audio, "wav", PROBE_SAMPLE_RATE, context, None, policy)
    labelling.store(svc, key, labelled)
    url: str = svc.s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentType": "audio/wav"},
        ExpiresIn=AUDIO_URL_SECONDS,
    )
    return url


def vote(svc: Services, tenant_id: str, comparison_id: str, request: VoteRequest) -> VoteView:
    """Record the pair's one vote (Conflict for a second one, NotFound for a pair not handed out here)."""
    comparison = svc.store.comparisons.require(comparison_id, tenant_id)
    svc.store.listening.vote(comparison_id, request.pair_id, request.choice)
    vendors = sorted(probe_audio(comparison))
    return VoteView(
        pair_id=request.pair_id, choice=request.choice, progress=progress(vendors, _votes(svc, comparison_id))
    )


def ranking(svc: Services, tenant_id: str, comparison_id: str) -> RankingView:
    """The vendors ranked by the votes, with their facts beside; Conflict until every pair has its votes."""
    comparison = svc.store.comparisons.require(comparison_id, tenant_id)
    vendors = sorted(_taking_part(comparison))
    votes = _votes(svc, comparison_id)
    if not ranking_ready(vendors, votes):
        counts = votes_per_pair(vendors, votes).values()
        needed = sorted((MIN_VOTES_PER_PAIR - n for n in counts if n < MIN_VOTES_PER_PAIR), reverse=True)
        raise Conflict(
            "RankingNotReady",
            f"every pair of voices needs {MIN_VOTES_PER_PAIR} votes before the ranking is shown: "
            f"{len(needed)} of {len(counts)} pairs still need {', '.join(str(n) for n in needed)} "
            f"vote{'s' if needed != [1] else ''}",
            votes_needed=needed,
            needed_per_pair=MIN_VOTES_PER_PAIR,
            pairs=len(counts),
        )
    ranked = []
    for place in rank(vendors, votes):
        entry = comparison.vendor(place.vendor)
        ranked.append(
            RankedVendorView(
                **place.model_dump(),
                voice_id=entry.voice_id,
                seconds_to_ready=seconds_to_ready(comparison, entry),
                facts=_brief(voice_facts(entry.facts)),
            )
        )
    return RankingView(
        comparison_id=comparison_id,
        method="bradley-terry",
        votes=len(votes),
        needed_per_pair=MIN_VOTES_PER_PAIR,
        vendors=ranked,
        kept=comparison.kept,
    )


def _brief(facts: VoiceFacts | None) -> FactsBrief | None:
    if facts is None:
        return None
    summary = facts.summary
    return FactsBrief(
        delivery=facts.delivery,
        first_audio_seconds=summary.first_audio_seconds.median if summary.first_audio_seconds else None,
        real_time_factor=summary.real_time_factor.median if summary.real_time_factor else None,
        speech_dbfs=summary.speech_dbfs.median if summary.speech_dbfs else None,
        price=facts.price_text(),
        probes_spoken=facts.probes_spoken,
    )


def keep(svc: Services, tenant_id: str, comparison_id: str, vendor: str) -> KeepView:
    """Keep ``vendor``'s voice and delete every other voice the comparison made.

    Refused while a vendor still trains (its voice would come after the others were deleted), for a
    vendor whose voice is not ready, and after another vendor was kept. Each deletion is the voice's
    own (DELETE /v1/voices/{id}), which deleting twice leaves as it was: a call cut short by a
    vendor's outage is simply made again.
    """
    comparison = svc.store.comparisons.require(comparison_id, tenant_id)
    entry = next((v for v in comparison.vendors if v.vendor == vendor), None)
    if entry is None:
        raise NotFound(
            "VendorNotInComparison", f"{vendor} is not one of comparison {comparison_id}'s vendors"
        )
    if not comparison.status.terminal:
        raise Conflict(
            "ComparisonTraining",
            f"comparison {comparison_id} is {comparison.status.value}: keep a voice once every vendor ended "
            "(or cancel the jobs still training)",
        )
    if comparison.kept and comparison.kept != vendor:
        raise Conflict("AlreadyKept", f"{comparison.kept}'s voice was kept and the others deleted")
    if entry.outcome is not VendorOutcome.READY or entry.voice_id is None:
        raise Conflict("VoiceNotReady", f"{vendor} made no voice in this comparison: keep one that did")
    kept = svc.store.voices.require(entry.voice_id, tenant_id)
    if kept.state is VoiceState.DELETED:
        raise Conflict("VoiceDeleted", f"{vendor}'s voice {kept.voice_id} was deleted: keep another")
    deleted = []
    for other in comparison.vendors:
        if other.vendor == vendor or other.voice_id is None:
            continue
        view = voices.delete_voice(svc, tenant_id, other.voice_id)
        deleted.append(DeletedVoiceView(vendor=other.vendor, voice_id=other.voice_id, note=view.note))

    def mark(current: Comparison) -> Comparison | None:
        if current.kept == vendor:
            return None
        return current.model_copy(update={"kept": vendor, "kept_at": utcnow()})

    svc.store.comparisons.mutate(comparison_id, mark)
    logger.info("comparison voice kept", extra={"comparison_id": comparison_id, "deleted": len(deleted)})
    return KeepView(comparison_id=comparison_id, kept=vendor, voice_id=entry.voice_id, deleted=deleted)
