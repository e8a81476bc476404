"""Blind listening's logic on moto's DynamoDB and S3: a pair names no vendor (not in the answer, not in a
URL, not in the copied object), a pair takes one vote, the ranking waits for 3 votes per pair, and
keeping a vendor deletes the other voices and only those."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from voiceclone.domain.api_models import VoteRequest
from voiceclone.domain.comparison import ComparisonStatus, VendorOutcome
from voiceclone.domain.errors import Conflict, NotFound
from voiceclone.domain.facts import FactsSummary, Price, ProbeFacts, Spread, VoiceFacts
from voiceclone.domain.models import Gender, Job, JobStatus, Language, VendorVoice, Voice, VoiceState, utcnow
from voiceclone.domain.probes import PROBES, ProbeCategory
from voiceclone.logic.comparisons import listening
from voiceclone.logic.core.keys import probe_audio_key
from voiceclone.provenance import implicit, riff
from voiceclone.settings import Settings
from voiceclone.store import Store
from voiceclone.store.comparisons import comparison_pk
from voiceclone.store.listening import pair_sk
from voiceclone.store.table import item_of

from tests.helpers import TABLE_SCHEMA, moto_client, wav_bytes
from tests.unit.test_comparison_store import comparison

BUCKET = "listening-unit"
VENDORS = ("qiniu", "huawei", "cosyvoice")
PROBE_IDS = ("numbers-phone", "english")


class DeletingAdapter:
    """A vendor that deletes voices, and keeps which it was asked to delete."""

    def __init__(self, asked: list[str]) -> None:
        self.asked = asked

    def delete_voice(self, voice: VendorVoice) -> None:
        self.asked.append(voice.voice_id)


PRODUCER = "voiceclone-test"


@pytest.fixture
def svc() -> Iterator[Any]:
    with moto_client("dynamodb", "us-east-1") as dynamodb, moto_client("s3", "us-east-1") as s3:
        name = f"listen-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(TableName=name, **TABLE_SCHEMA)
        s3.create_bucket(Bucket=BUCKET)
        asked: list[str] = []
        try:
            yield SimpleNamespace(
                store=Store(name, dynamodb),
                s3=s3,
                settings=Settings.model_validate(
                    {
                        "VOICECLONE_TABLE_NAME": name,
                        "VOICECLONE_BUCKET_NAME": BUCKET,
                        "VOICECLONE_AIGC_CONTENT_PRODUCER": PRODUCER,
                    }
                ),
                adapter_for=lambda vendor: DeletingAdapter(asked),
                deleted_at_vendor=asked,
            )
        finally:
            dynamodb.delete_table(TableName=name)
            listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            for obj in listed:
                s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
            s3.delete_bucket(Bucket=BUCKET)


def facts(vendor: str, tenant: str, cid: str, probes: tuple[str, ...] = PROBE_IDS) -> dict[str, Any]:
    spoken = [
        ProbeFacts(
            probe_id=p,
            category=ProbeCategory.NUMBERS,
            characters=10,
            first_audio_seconds=0.4,
            audio_key=probe_audio_key(tenant, cid, vendor, p),
        )
        for p in probes
    ]
    return VoiceFacts(
        vendor=vendor,
        vendor_voice_id=f"vv-{vendor}",
        language=Language.ZH_CN,
        probe_set_version="x",
        speaks=True,
        delivery="whole",
        probes=spoken,
        summary=FactsSummary(first_audio_seconds=Spread(median=0.4, low=0.3, high=0.5, count=2)),
        probes_spoken=len(spoken),
        price=Price(per_1k_chars="0.3", currency="CNY") if vendor == "qiniu" else None,
    ).model_dump(mode="json")


def ready_comparison(
    svc: Any, vendors: tuple[str, ...] = VENDORS, audio: tuple[str, ...] = VENDORS, tenant: str = "acme"
) -> str:
    """A comparison whose vendors are all ready (voice and job), ``audio`` of them with probe audio kept."""
    cid = f"cmp-{uuid.uuid4().hex}"
    made = comparison(cid, str(uuid.uuid4().int)[:8], tenant)
    started = utcnow()
    entries = []
    for vendor in vendors:
        job_id, voice_id = f"j-{vendor}-{cid[-6:]}", f"v-{vendor}-{cid[-6:]}"
        svc.store.jobs.create(
            Job(
                job_id=job_id,
                tenant_id=tenant,
                vendor=vendor,
                voice_name="v",
                language=Language.ZH_CN,
                gender=Gender.FEMALE,
                status=JobStatus.SUCCEEDED,
                voice_id=voice_id,
            ),
            [],
        )
        svc.store.voices.table.put_new(
            svc.store.voices.item(
                Voice(
                    voice_id=voice_id,
                    tenant_id=tenant,
                    job_id=job_id,
                    vendor=vendor,
                    name="v",
                    language=Language.ZH_CN,
                    gender=Gender.FEMALE,
                    vendor_voice=VendorVoice(vendor=vendor, voice_id=f"vv-{vendor}"),
                )
            )
        )
        for probe in PROBE_IDS if vendor in audio else ():
            svc.s3.put_object(
                Bucket=BUCKET,
                Key=probe_audio_key(tenant, cid, vendor, probe),
                Body=wav_bytes(seconds=0.2),
                Metadata={"vendor": vendor},
            )
        entries.append(
            {
                "vendor": vendor,
                "job_id": job_id,
                "outcome": VendorOutcome.READY,
                "voice_id": voice_id,
                "ready_at": started + timedelta(seconds=10 + len(entries)),
                "facts": facts(vendor, tenant, cid) if vendor in audio else None,
            }
        )
    made = made.model_copy(
        update={
            "vendors": [made.vendors[0].model_copy(update=e) for e in entries],
            "status": ComparisonStatus.SUCCEEDED,
            "takes_completed_at": started,
        }
    )
    svc.store.comparisons.create(made)
    return cid


def vendor_of(svc: Any, cid: str, pair_id: str, side: str) -> str:
    pair = svc.store.listening.get(cid, pair_id)
    return str(pair.first if side == "a" else pair.second)


def test_a_pair_names_no_vendor_in_its_answer_its_urls_or_the_audio_served(svc: Any) -> None:
    cid = ready_comparison(svc)
    pair = listening.next_pair(svc, "acme", cid, random.Random(7))
    shown = pair.model_dump_json()
    for vendor in VENDORS:
        assert vendor not in shown, vendor
        assert f"v-{vendor}" not in shown and f"vv-{vendor}" not in shown
    assert pair.text in {p.text for p in PROBES if p.id in PROBE_IDS}
    keys = [unquote(urlsplit(url).path) for url in (pair.a, pair.b)]
    assert keys[0] != keys[1]
    for key in keys:
        assert f"/listening/acme/{cid}/" in key and not any(v in key for v in VENDORS)
        copied = svc.s3.get_object(Bucket=BUCKET, Key=key.split(f"/{BUCKET}/", 1)[-1].lstrip("/"))
        assert copied["Metadata"] == {} and copied["ContentType"] == "audio/wav"
        # ...labelled as generated speech (GB 45438's metadata label, named for the copy alone), unsigned:
        # a C2PA manifest would name the vendor and the voice
        audio = copied["Body"].read()
        label = implicit.read_label(audio, "wav").label
        assert label is not None and label.content_producer == PRODUCER
        assert label.produce_id.startswith("probe-") and label.produce_id[6:] in key
        assert not any(c.chunk_id.upper() == b"C2PA" for c in riff.chunks(audio))
        assert not any(v.encode() in audio for v in VENDORS)
    # ...while the store knows who A and B are, and they are two different vendors
    a, b = vendor_of(svc, cid, pair.pair_id, "a"), vendor_of(svc, cid, pair.pair_id, "b")
    assert {a, b} <= set(VENDORS) and a != b
    assert pair.progress.votes_per_pair == [0, 0, 0] and not pair.progress.ranking_ready


def test_the_same_voice_gets_a_new_name_in_every_pair(svc: Any) -> None:
    cid = ready_comparison(svc, vendors=("qiniu", "huawei"), audio=("qiniu", "huawei"))
    paths = set()
    for seed in range(4):
        pair = listening.next_pair(svc, "acme", cid, random.Random(seed))
        paths |= {urlsplit(pair.a).path, urlsplit(pair.b).path}
    assert len(paths) == 8


def test_only_voices_with_probe_audio_take_part_and_fewer_than_two_is_a_conflict(svc: Any) -> None:
    cid = ready_comparison(svc, audio=("qiniu", "huawei"))
    for seed in range(6):
        pair = listening.next_pair(svc, "acme", cid, random.Random(seed))
        assert "cosyvoice" not in (
            vendor_of(svc, cid, pair.pair_id, "a"),
            vendor_of(svc, cid, pair.pair_id, "b"),
        )
    lonely = ready_comparison(svc, audio=("qiniu",))
    with pytest.raises(Conflict) as refused:
        listening.next_pair(svc, "acme", lonely)
    assert refused.value.code == "NotEnoughVoices" and "two or more" in refused.value.message
    with pytest.raises(NotFound):
        listening.next_pair(svc, "other-tenant", cid)


def test_a_pair_takes_one_vote_and_an_unknown_pair_none(svc: Any) -> None:
    cid = ready_comparison(svc)
    pair = listening.next_pair(svc, "acme", cid, random.Random(1))
    voted = listening.vote(svc, "acme", cid, VoteRequest(pair_id=pair.pair_id, choice="a"))
    assert voted.progress.votes_per_pair == [1, 0, 0]
    with pytest.raises(Conflict) as again:
        listening.vote(svc, "acme", cid, VoteRequest(pair_id=pair.pair_id, choice="b"))
    assert again.value.code == "AlreadyVoted"
    with pytest.raises(NotFound) as unknown:
        listening.vote(svc, "acme", cid, VoteRequest(pair_id=f"pair-{'0' * 32}", choice="a"))
    assert unknown.value.code == "PairNotFound"
    # A pair of another comparison is not one of this one's
    other = ready_comparison(svc)
    with pytest.raises(NotFound):
        listening.vote(svc, "acme", other, VoteRequest(pair_id=pair.pair_id, choice="a"))
    # The first vote stands, and it kept its pair past the TTL
    kept = svc.store.listening.get(cid, pair.pair_id)
    assert kept.choice == "a" and kept.expires_at is None


def test_an_expired_pair_takes_no_vote(svc: Any) -> None:
    cid = ready_comparison(svc)
    pair = listening.next_pair(svc, "acme", cid, random.Random(2))
    _rewrite(svc, svc.store.listening.get(cid, pair.pair_id).model_copy(update={"expires_at": 1}))
    with pytest.raises(NotFound) as expired:
        listening.vote(svc, "acme", cid, VoteRequest(pair_id=pair.pair_id, choice="a"))
    assert expired.value.code == "PairExpired"


def _rewrite(svc: Any, pair: Any) -> None:
    """The pair as stored, but for what the test changed (the TTL passed: DynamoDB has not removed it yet)."""
    table = svc.store.listening.table
    table.client.put_item(
        TableName=table.name,
        Item=item_of(
            pair, pk=comparison_pk(pair.comparison_id), sk=pair_sk(pair.pair_id), type="listening_pair"
        ),
    )


def vote_for(svc: Any, cid: str, favourite: str, rng: random.Random) -> None:
    """One pair asked for and voted on: the favourite wins where it plays, else the pair is `same`."""
    pair = listening.next_pair(svc, "acme", cid, rng)
    a, b = vendor_of(svc, cid, pair.pair_id, "a"), vendor_of(svc, cid, pair.pair_id, "b")
    choice = "a" if a == favourite else "b" if b == favourite else "same"
    listening.vote(svc, "acme", cid, VoteRequest(pair_id=pair.pair_id, choice=choice))


def test_the_ranking_waits_for_three_votes_per_pair_then_follows_them(svc: Any) -> None:
    cid = ready_comparison(svc)
    rng = random.Random(3)
    with pytest.raises(Conflict) as early:
        listening.ranking(svc, "acme", cid)
    assert early.value.code == "RankingNotReady" and early.value.details["votes_needed"] == [3, 3, 3]
    for _ in range(8):  # three pairs, three votes each: one short
        vote_for(svc, cid, "huawei", rng)
    with pytest.raises(Conflict) as short:
        listening.ranking(svc, "acme", cid)
    assert (
        short.value.details["votes_needed"] == [1] and "1 of 3 pairs still need 1 vote" in short.value.message
    )
    # (an unvoted pair counts for nothing)
    listening.next_pair(svc, "acme", cid, rng)
    vote_for(svc, cid, "huawei", rng)
    ranked = listening.ranking(svc, "acme", cid)
    assert ranked.method == "bradley-terry" and ranked.votes == 9
    assert ranked.vendors[0].vendor == "huawei" and ranked.vendors[0].rank == 1
    top = ranked.vendors[0]
    assert (top.wins, top.losses, top.same, top.win_rate) == (6, 0, 0, 1.0)
    assert {v.same for v in ranked.vendors[1:]} == {3}
    assert sum(v.strength for v in ranked.vendors) == pytest.approx(1.0, abs=1e-3)
    # ...with the facts beside each vendor
    qiniu = next(v for v in ranked.vendors if v.vendor == "qiniu")
    assert (
        qiniu.facts is not None and qiniu.facts.price == "0.3 CNY" and qiniu.facts.first_audio_seconds == 0.4
    )
    assert qiniu.seconds_to_ready is not None and qiniu.voice_id == f"v-qiniu-{cid[-6:]}"


def test_keep_deletes_the_other_voices_and_only_those(svc: Any) -> None:
    cid = ready_comparison(svc)
    other = ready_comparison(svc)  # the same tenant's other comparison: untouched
    kept = listening.keep(svc, "acme", cid, "huawei")
    assert kept.kept == "huawei" and kept.voice_id == f"v-huawei-{cid[-6:]}"
    assert sorted(d.vendor for d in kept.deleted) == ["cosyvoice", "qiniu"]
    states = {v: svc.store.voices.get(f"v-{v}-{cid[-6:]}").state for v in VENDORS}
    assert states == {
        "huawei": VoiceState.READY,
        "qiniu": VoiceState.DELETED,
        "cosyvoice": VoiceState.DELETED,
    }
    assert sorted(svc.deleted_at_vendor) == ["vv-cosyvoice", "vv-qiniu"]
    assert all(svc.store.voices.get(f"v-{v}-{other[-6:]}").state is VoiceState.READY for v in VENDORS)
    assert svc.store.comparisons.require(cid).kept == "huawei"
    # Again: nothing more is deleted at the vendor; another vendor now: refused
    assert listening.keep(svc, "acme", cid, "huawei").kept == "huawei"
    assert len(svc.deleted_at_vendor) == 2
    with pytest.raises(Conflict) as twice:
        listening.keep(svc, "acme", cid, "qiniu")
    assert twice.value.code == "AlreadyKept"
    with pytest.raises(NotFound):
        listening.keep(svc, "acme", other, "tencent_vrs")
    with pytest.raises(NotFound):
        listening.keep(svc, "other-tenant", other, "qiniu")
    # ...and the listening is over once a voice is kept
    with pytest.raises(Conflict) as over:
        listening.next_pair(svc, "acme", cid)
    assert over.value.code == "ComparisonKept"


def test_keep_waits_for_every_vendor_to_end(svc: Any) -> None:
    cid = ready_comparison(svc)
    svc.store.comparisons.mutate(cid, lambda c: c.model_copy(update={"status": ComparisonStatus.TRAINING}))
    with pytest.raises(Conflict) as training:
        listening.keep(svc, "acme", cid, "qiniu")
    assert training.value.code == "ComparisonTraining"
    assert svc.deleted_at_vendor == []
