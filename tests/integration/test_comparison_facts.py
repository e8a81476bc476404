"""measure() on the local stack: one cloned voice per kind of vendor, spoken through the real adapter and
sandbox: sync (Tencent VRS asked for whole answers), streaming (Volcengine's WebSocket), async (Huawei's
jobs, polled), none (Qiniu). Three probes each keep it short; the arithmetic is the unit tests'."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from voiceclone.domain.facts import VoiceFacts
from voiceclone.domain.models import Language, Voice
from voiceclone.domain.probes import PROBES, ProbeCategory
from voiceclone.logic.comparisons.facts import Pace, measure
from voiceclone.store import Store
from voiceclone.vendors.registry import get_adapter
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.integration.test_speech import clone

VENDORS = ("tencent_vrs", "volcengine", "huawei", "qiniu")
# A number, a polyphone and the English sentence: one probe of each kind of text.
FEW = tuple(p for p in PROBES if p.id in ("numbers-phone", "polyphone-xing", "english"))


@pytest.fixture(scope="module")
def voices(stack: LocalStack) -> dict[str, Voice]:
    """One voice per vendor, cloned through the API; as recorded in the table."""
    client = VoicecloneClient(stack.api_url, api_key=stack.issue_api_key(f"facts-{uuid.uuid4().hex[:8]}"))
    store = Store(stack.table_name, stack.client("dynamodb"))
    found: dict[str, Voice] = {}
    for vendor in VENDORS:
        voice = store.voices.get(clone(client, vendor)["voice_id"])
        assert voice is not None
        found[vendor] = voice
    return found


def facts_of(voices: dict[str, Voice], vendor: str, **options: Any) -> VoiceFacts:
    voice = voices[vendor]
    return measure(get_adapter(vendor), voice.vendor_voice, FEW, language=voice.language, **options)


def assert_measured(facts: VoiceFacts) -> None:
    """Every probe spoken, each with audio that has speech in it and figures that hold together."""
    assert [p.probe_id for p in facts.probes] == [p.id for p in FEW]
    assert facts.probes_spoken == len(FEW), [p.failure for p in facts.probes]
    for probe in facts.probes:
        assert probe.audio_seconds is not None and probe.audio_seconds > 0.5
        assert probe.synthesis_seconds is not None and probe.first_audio_seconds is not None
        assert 0 < probe.first_audio_seconds <= probe.synthesis_seconds
        rtf = probe.synthesis_seconds / probe.audio_seconds
        assert probe.real_time_factor == pytest.approx(rtf, rel=0.01, abs=1e-4)
        # the sandboxes speak slices of the speaker's recordings: speech, not silence, and not clipped
        assert probe.speech_dbfs is not None and -50 < probe.speech_dbfs < 0
        assert probe.clipped_fraction is not None and probe.clipped_fraction < 0.01
        assert probe.silence_seconds is not None and 0 <= probe.silence_seconds < probe.audio_seconds
    assert facts.summary.real_time_factor is not None and facts.summary.real_time_factor.count == len(FEW)
    assert facts.characters == sum(len(p.text) for p in FEW) and facts.vendor_calls == len(FEW)
    assert facts.language is Language.ZH_CN and facts.price_text() == "not configured"


def test_a_sync_vendor_is_measured_from_whole_answers(stack: LocalStack, voices: dict[str, Voice]) -> None:
    requests = stack.sandboxes["tencent_vrs"].tts_requests
    before = len(requests)
    facts = facts_of(voices, "tencent_vrs", stream=False)
    assert facts.speaks and facts.delivery == "whole" and facts.format == "wav" and facts.sample_rate == 16000
    assert_measured(facts)
    # a whole answer: its first audio is its last
    assert all(p.first_audio_seconds == p.synthesis_seconds for p in facts.probes)
    assert len(requests) - before == len(FEW)


def test_a_streaming_vendor_is_measured_from_its_stream(stack: LocalStack, voices: dict[str, Voice]) -> None:
    streams = stack.sandboxes["volcengine"].streams
    before = len(streams)
    facts = facts_of(voices, "volcengine")
    assert facts.delivery == "stream" and facts.format == "pcm" and facts.sample_rate == 16000
    assert_measured(facts)
    assert len(streams) - before == len(FEW)


def test_an_async_vendor_is_measured_from_its_jobs_polled(voices: dict[str, Voice]) -> None:
    facts = facts_of(voices, "huawei", pace=Pace(0.2, 0.5))
    assert facts.delivery == "whole"
    assert_measured(facts)


def test_a_vendor_whose_voices_do_not_speak_is_said_to_and_nothing_is_asked(
    stack: LocalStack, voices: dict[str, Voice]
) -> None:
    facts = facts_of(voices, "qiniu")
    assert not facts.speaks and facts.delivery == "none" and "agent" in facts.note
    assert facts.probes == [] and facts.vendor_calls == 0
    assert {p.category for p in FEW} == {
        ProbeCategory.NUMBERS,
        ProbeCategory.POLYPHONES,
        ProbeCategory.ENGLISH,
    }
