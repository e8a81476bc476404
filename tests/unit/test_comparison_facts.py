"""The facts per cloned voice: the probe set, the audio arithmetic, the price setting, and measure() with
fake vendors (a failing probe, a stream, an async job polled on a fake clock)."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
from voiceclone.domain.audio import speech_levels, wav_file
from voiceclone.domain.errors import Conflict, VendorRejected, VendorThrottled
from voiceclone.domain.facts import FactsSummary, ProbeFacts, ProbeFailure, Spread
from voiceclone.domain.models import Gender, Job, JobStatus, Language, VendorVoice, Voice
from voiceclone.domain.probes import PROBE_SET_VERSION, PROBES, ProbeCategory, probes_for
from voiceclone.domain.text import readable
from voiceclone.logic.comparisons import facts as measuring
from voiceclone.logic.comparisons.facts import (
    NOT_ASKED,
    Clock,
    FactsNotMeasured,
    Pace,
    measure,
    measure_voice,
)
from voiceclone.logic.core.keys import probe_audio_key
from voiceclone.logic.core.services import Services
from voiceclone.settings import Settings
from voiceclone.vendors import config
from voiceclone.vendors.base import Capabilities, VendorAdapter
from voiceclone.vendors.registry import capabilities, vendor_ids
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisResult, SynthesisState
from voiceclone.vendors.speech import measure as count

RATE = 16000
VOICE = VendorVoice(vendor="fake", voice_id="v-1")


# ----- audio made here, its levels known -------------------------------------------------------------


def tone(seconds: float, amplitude: float, freq: float = 200.0) -> bytes:
    """A sine of ``amplitude`` (of full scale) as 16-bit PCM; 200 Hz: whole periods in every 20 ms frame."""
    n = int(seconds * RATE)
    value = amplitude * 32767
    return struct.pack(f"<{n}h", *(round(value * math.sin(2 * math.pi * freq * i / RATE)) for i in range(n)))


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(seconds * RATE)


def speech_like() -> bytes:
    """0.5 s silence, 1 s tone, 0.3 s pause, 0.5 s tone, 0.7 s silence: 3 s, 1.5 s of it silent."""
    return silence(0.5) + tone(1.0, 0.1) + silence(0.3) + tone(0.5, 0.1) + silence(0.7)


def test_levels_of_known_audio_give_its_silences_and_its_speech_level() -> None:
    # Given speech-like audio whose parts are known / When measured
    levels = speech_levels(speech_like(), RATE)
    # Then the silences are where they were put, and the level is the tone's RMS, pauses left out
    assert levels.duration_seconds == 3.0
    assert levels.leading_silence_seconds == pytest.approx(0.5, abs=0.02)
    assert levels.trailing_silence_seconds == pytest.approx(0.7, abs=0.02)
    assert levels.silence_seconds == pytest.approx(1.5, abs=0.04)
    expected = 20 * math.log10(0.1 * 32767 / math.sqrt(2) / 32768)  # a sine's RMS is its peak / sqrt(2)
    assert levels.speech_dbfs == pytest.approx(expected, abs=0.1)
    assert levels.peak_dbfs == pytest.approx(-20.0, abs=0.05)
    assert levels.clipped_fraction == 0.0


def test_clipped_samples_are_counted_as_a_fraction_of_all() -> None:
    # Given 1 s of tone then 0.25 s held at full scale (every sample clipped)
    pcm = tone(1.0, 0.3) + struct.pack("<h", 32767) * int(0.25 * RATE)
    # When measured / Then a fifth of the samples are clipped
    assert speech_levels(pcm, RATE).clipped_fraction == pytest.approx(0.2, abs=0.001)


def test_audio_without_speech_is_silence_from_end_to_end() -> None:
    levels = speech_levels(silence(1.2), RATE)
    assert levels.speech_dbfs is None
    assert levels.leading_silence_seconds == levels.trailing_silence_seconds == levels.silence_seconds == 1.2
    assert speech_levels(b"", RATE).duration_seconds == 0.0


def test_a_spread_is_the_median_and_range_of_the_known_values() -> None:
    assert Spread.of([3.0, None, 1.0, 2.0, 10.0]) == Spread(median=2.5, low=1.0, high=10.0, count=4)
    assert Spread.of([None]) is None
    # A summary counts only the probes that succeeded
    ok = ProbeFacts(probe_id="a", category=ProbeCategory.NAMES, characters=3, real_time_factor=0.5)
    failed = ProbeFacts(
        probe_id="b", category=ProbeCategory.NAMES, characters=3, real_time_factor=9.0,
        failure=ProbeFailure(error="VendorRejected", code="InvalidText"),
    )  # fmt: skip
    assert FactsSummary.of([ok, failed]).real_time_factor == Spread(median=0.5, low=0.5, high=0.5, count=1)


# ----- the probe set -----------------------------------------------------------------------------------


def test_the_probe_set_has_unique_ids_every_category_and_a_language_for_each() -> None:
    ids = [p.id for p in PROBES]
    assert len(ids) == len(set(ids))
    assert {p.category for p in PROBES} == set(ProbeCategory)
    assert PROBE_SET_VERSION
    for probe in PROBES:
        assert probe.voices and probe.note and readable(probe.text)
        assert set(probe.text_languages) <= {"zh", "en"} and probe.text_languages
        has_han = any("\u4e00" <= ch <= "\u9fff" for ch in probe.text)
        has_latin = any("a" <= ch.lower() <= "z" for ch in probe.text)
        assert ("zh" in probe.text_languages) == has_han, probe.id
        assert ("en" in probe.text_languages) == has_latin, probe.id
    assert {
        c for p in PROBES if "en" in p.text_languages and "zh" in p.text_languages for c in [p.category]
    } == {ProbeCategory.MIXED}


def test_a_voices_language_picks_its_probes() -> None:
    # A zh-CN voice (the one language voiceclone clones today) gets every probe, in order
    assert probes_for(Language.ZH_CN) == PROBES
    # and a probe written for other voices only is left out
    only_other = PROBES[0].model_copy(update={"voices": ()})
    assert Language.ZH_CN not in only_other.voices


@pytest.mark.parametrize("vendor", vendor_ids())
def test_every_probe_fits_one_call_of_every_vendor_that_speaks(vendor: str) -> None:
    caps = capabilities(vendor)
    if caps.speech == "none":
        return
    size = count(caps.speech_text_unit)
    for probe in PROBES:
        assert size(probe.text) <= caps.speech_text_limit, (vendor, probe.id)
        if caps.speech_stream:
            assert size(probe.text) <= caps.speech_stream_text_limit, (vendor, probe.id)


# ----- the price setting -------------------------------------------------------------------------------


def test_a_configured_price_is_read_and_an_absent_one_is_none() -> None:
    env = {"VOICECLONE_VOLCENGINE_PRICE_PER_1K_CHARS": "0.30", "VOICECLONE_VOLCENGINE_PRICE_CURRENCY": "cny"}
    price = config.price("volcengine", env)
    assert price is not None and price.per_1k_chars == Decimal("0.30") and price.currency == "CNY"
    assert config.price("volcengine", {}) is None
    assert config.price("tencent_vrs", env) is None  # another vendor's price is not this one's


@pytest.mark.parametrize(
    ("amount", "currency", "named"),
    [
        ("0.3", "", "VOICECLONE_HUAWEI_PRICE_CURRENCY"),
        ("", "CNY", "VOICECLONE_HUAWEI_PRICE_PER_1K_CHARS"),
        ("free", "CNY", "VOICECLONE_HUAWEI_PRICE_PER_1K_CHARS"),
        ("-1", "CNY", "VOICECLONE_HUAWEI_PRICE_PER_1K_CHARS"),
        ("NaN", "CNY", "VOICECLONE_HUAWEI_PRICE_PER_1K_CHARS"),
        ("0.3", "yuan", "VOICECLONE_HUAWEI_PRICE_CURRENCY"),
    ],
)
def test_a_half_or_wrongly_configured_price_is_an_error_naming_the_variable(
    amount: str, currency: str, named: str
) -> None:
    env = {"VOICECLONE_HUAWEI_PRICE_PER_1K_CHARS": amount, "VOICECLONE_HUAWEI_PRICE_CURRENCY": currency}
    with pytest.raises(ValueError, match=named):
        config.price("huawei", env)


# ----- measure() with fake vendors ---------------------------------------------------------------------


class FakeClock:
    """Time passes only when the code waits or a fake vendor works."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    @property
    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


SPEAKS = {"speech_formats": ("wav",), "speech_sample_rates": (24000, 16000), "speech_speeds": (1.0, 1.0)}


class FakeVendor:
    """A vendor of each kind, its audio known (``speech_like``), each call taking ``work`` seconds."""

    vendor_id = "fake"

    def __init__(
        self, clock: FakeClock, kind: str, work: float = 1.5, fail: dict[str, Exception] | None = None
    ):
        extra: dict[str, Any] = {}
        if kind == "stream":
            extra = {
                "speech_stream": True,
                "speech_stream_formats": ("pcm",),
                "speech_stream_sample_rates": (16000,),
            }
        speech = "none" if kind == "none" else ("async" if kind == "async" else "sync")
        fields = {} if kind == "none" else SPEAKS
        self.capabilities = Capabilities(
            audio_transport="inline",
            speech=speech,
            speech_note="use it in the vendor's agents",
            **fields,
            **extra,
        )
        self.clock, self.work, self.fail = clock, work, fail or {}
        self.requests: list[SynthesisRequest] = []
        self.polls = 0
        self.polls_to_finish: int | None = 2

    def _called(self, request: SynthesisRequest) -> None:
        self.requests.append(request)
        self.clock.t += self.work
        error = self.fail.get(request.text)
        if error is not None:
            raise error

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        self._called(request)
        return SynthesisResult(
            audio=wav_file(RATE, speech_like()), format="wav", sample_rate=RATE, request_id="r"
        )

    def stream_synthesis(self, voice: VendorVoice, request: SynthesisRequest) -> FakeStream:
        self._called(request)  # the first audio has arrived when the call returns
        return FakeStream(self.clock, speech_like())

    def start_synthesis(self, voice: VendorVoice, request: SynthesisRequest, *, tag: str) -> SynthesisJob:
        self._called(request)
        self.polls = 0
        return SynthesisJob(job_id=tag, vendor_state="QUEUED")

    def get_synthesis(self, job_id: str) -> SynthesisJob:
        self.polls += 1
        if self.polls_to_finish is not None and self.polls >= self.polls_to_finish:
            return SynthesisJob(
                job_id=job_id, state=SynthesisState.SUCCEEDED, audio_url="http://vendor/a.wav"
            )
        return SynthesisJob(job_id=job_id, vendor_state="PROCESSING")

    def synthesis_audio(self, job: SynthesisJob, request: SynthesisRequest) -> SynthesisResult:
        return SynthesisResult(audio=wav_file(RATE, speech_like()), format="wav", sample_rate=RATE)


class FakeStream:
    request_id = "stream-1"

    def __init__(self, clock: FakeClock, pcm: bytes) -> None:
        self.clock, self.pcm = clock, pcm

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.pcm), 6400):
            self.clock.t += 0.1  # the rest arrives as it is made
            yield self.pcm[start : start + 6400]


def run(vendor: FakeVendor, clock: FakeClock, **kwargs: Any) -> Any:
    return measure(
        cast(VendorAdapter, vendor), VOICE, PROBES, language=Language.ZH_CN, clock=clock.clock, **kwargs
    )


def test_a_sync_vendor_is_measured_whole_with_every_figure_of_each_probe() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "sync", work=1.5)
    facts = run(vendor, clock)
    # Every probe asked for once, as 16 kHz WAV (the vendor's default is 24 kHz: 16 kHz is asked for)
    assert [r.text for r in vendor.requests] == [p.text for p in PROBES]
    assert {(r.format, r.sample_rate) for r in vendor.requests} == {("wav", 16000)}
    assert facts.speaks and facts.delivery == "whole" and not facts.streamed
    assert facts.probes_spoken == len(PROBES) and facts.probes_failed == 0
    assert facts.vendor_calls == len(PROBES) and facts.characters == sum(len(p.text) for p in PROBES)
    first = facts.probes[0]
    # a whole answer: its first audio is the whole answer's 1.5 s; 1.5 s for 3 s of audio is RTF 0.5
    assert first.first_audio_seconds == first.synthesis_seconds == 1.5
    assert first.audio_seconds == 3.0 and first.real_time_factor == 0.5
    assert first.leading_silence_seconds == pytest.approx(0.5, abs=0.02)
    assert facts.summary.real_time_factor == Spread(median=0.5, low=0.5, high=0.5, count=len(PROBES))
    assert facts.price is None and facts.price_text() == "not configured"


def test_a_probe_the_vendor_refuses_is_that_probes_failure_and_the_others_are_measured() -> None:
    clock = FakeClock()
    refused, throttled = PROBES[2], PROBES[5]
    fail: dict[str, Exception] = {
        refused.text: VendorRejected("fake", "InvalidText", "the text has characters it cannot read"),
        throttled.text: VendorThrottled("fake", "RequestLimitExceeded", "slow down"),
    }
    facts = run(FakeVendor(clock, "sync", fail=fail), clock)
    by_id = {p.probe_id: p for p in facts.probes}
    assert by_id[refused.id].failure is not None and by_id[refused.id].failure.code == "InvalidText"
    assert by_id[throttled.id].failure is not None
    assert by_id[throttled.id].failure.error == "VendorThrottled"
    assert by_id[throttled.id].failure.code == "RequestLimitExceeded"
    assert by_id[refused.id].real_time_factor is None
    assert facts.probes_failed == 2 and facts.probes_spoken == len(PROBES) - 2
    assert facts.summary.first_audio_seconds is not None
    assert facts.summary.first_audio_seconds.count == len(PROBES) - 2


def test_a_streaming_vendor_is_timed_to_its_first_audio_and_its_last() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "stream", work=0.2)
    facts = run(vendor, clock)
    assert facts.delivery == "stream" and facts.streamed and facts.format == "pcm"
    assert {(r.format, r.sample_rate) for r in vendor.requests} == {("pcm", 16000)}
    first = facts.probes[0]
    chunks = math.ceil(len(speech_like()) / 6400)
    assert first.first_audio_seconds == 0.2
    assert first.synthesis_seconds == pytest.approx(0.2 + 0.1 * chunks)
    assert first.vendor_request_id == "stream-1"
    # Asked not to stream, the same vendor answers whole
    whole = run(FakeVendor(clock, "stream"), clock, stream=False)
    assert whole.delivery == "whole" and whole.format == "wav"


def test_an_async_vendors_job_is_polled_at_its_pace_until_its_file_is_ready() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "async", work=0.5)
    vendor.polls_to_finish = 3
    facts = run(vendor, clock, pace=Pace(2.0, 5.0, 2.0))
    probe = facts.probes[0]
    # Three polls after waits of 2, 4 and 5 s (grown by 2, capped at 5): 11.5 s to the file
    assert clock.slept[:3] == [2.0, 4.0, 5.0]
    assert probe.first_audio_seconds == probe.synthesis_seconds == 11.5
    assert facts.delivery == "whole" and facts.probes_spoken == len(PROBES)


def test_an_async_vendor_that_never_finishes_is_bounded_by_the_deadline_on_the_fake_clock() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "async", work=0.5)
    vendor.polls_to_finish = None  # the vendor's jobs never end
    started = clock.t
    facts = run(vendor, clock, pace=Pace(3.0, 30.0), deadline_seconds=100.0)
    # The first probe waits at the vendor's pace (growing by 1.5, capped at 30 s) until the next wait
    # would pass the deadline, then fails with our code; no wait ever crosses the deadline
    first = facts.probes[0]
    assert first.failure is not None and first.failure.code == "ProbeTimedOut"
    assert clock.slept[:7] == [3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0]
    assert max(clock.slept) <= 30.0 and sum(clock.slept) <= 100.0
    assert clock.t - started <= 100.0 + vendor.work * len(vendor.requests)
    # The probes asked in the time left fail the same way; once it is gone the vendor is not asked
    asked = len(vendor.requests)
    assert 1 <= asked < len(PROBES) and facts.vendor_calls == asked
    assert {p.failure.code for p in facts.probes[:asked] if p.failure} == {"ProbeTimedOut"}
    assert {p.failure.code for p in facts.probes[asked:] if p.failure} == {NOT_ASKED}
    assert facts.probes_failed == len(PROBES) and facts.probes_spoken == 0
    assert facts.characters == sum(len(p.text) for p in PROBES[:asked])


def test_a_failed_async_job_is_that_probes_failure_with_the_vendors_code() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "async")

    def failed(job_id: str) -> SynthesisJob:
        return SynthesisJob(
            job_id=job_id, state=SynthesisState.FAILED, error_code="TTS.0042", error_message="no"
        )

    vendor.get_synthesis = failed  # type: ignore[method-assign]
    facts = run(vendor, clock, pace=Pace(1.0, 1.0))
    assert {p.failure.code for p in facts.probes if p.failure} == {"TTS.0042"}


def test_a_vendor_without_speech_gets_facts_that_say_so_and_no_call() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "none")
    facts = run(vendor, clock)
    assert not facts.speaks and facts.delivery == "none" and facts.note == "use it in the vendor's agents"
    assert facts.probes == [] and facts.summary == FactsSummary() and vendor.requests == []


# ----- measure_voice(): the comparison's step, with a fake store ----------------------------------------


class FakeComparisons:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, dict[str, Any]]] = []

    def record_facts(self, comparison_id: str, vendor: str, facts: dict[str, Any]) -> None:
        self.recorded.append((comparison_id, vendor, facts))


class FakeBucket:
    """What measure_voice puts in S3: key -> (bucket, body, content type)."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, bytes, str]] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[Key] = (Bucket, Body, ContentType)


def services_with(vendor: str, status: JobStatus, adapter: Any) -> tuple[Services, FakeComparisons]:
    job = Job(
        job_id="job-1", tenant_id="t", vendor=vendor, voice_name="v", language=Language.ZH_CN,
        gender=Gender.FEMALE, status=status, voice_id="voice-1" if status is JobStatus.SUCCEEDED else None,
    )  # fmt: skip
    voice = Voice(
        voice_id="voice-1", tenant_id="t", job_id="job-1", vendor=vendor, name="v", language=Language.ZH_CN,
        gender=Gender.FEMALE, vendor_voice=VendorVoice(vendor=vendor, voice_id="vendor-voice"),
    )  # fmt: skip
    comparisons = FakeComparisons()
    settings = Settings.model_validate(
        {
            "VOICECLONE_TABLE_NAME": "memory",
            "VOICECLONE_BUCKET_NAME": "bucket",
            "VOICECLONE_POLL_INITIAL_SECONDS": 1,
        }
    )
    svc = Services(
        settings=settings, adapter_for=lambda _: cast(VendorAdapter, adapter), overrides={"s3": FakeBucket()}
    )
    svc.store = SimpleNamespace(  # type: ignore[assignment]
        jobs=SimpleNamespace(get=lambda job_id: job if job_id == "job-1" else None),
        voices=SimpleNamespace(get=lambda voice_id: voice if voice_id == "voice-1" else None),
        comparisons=comparisons,
    )
    return svc, comparisons


def test_measure_voice_records_the_facts_on_the_comparison_under_the_vendor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "sync", work=0.3)
    monkeypatch.setattr(measuring, "capabilities", lambda _: vendor.capabilities)
    monkeypatch.setenv("VOICECLONE_FAKE_PRICE_PER_1K_CHARS", "2")
    monkeypatch.setenv("VOICECLONE_FAKE_PRICE_CURRENCY", "CNY")
    svc, comparisons = services_with("fake", JobStatus.SUCCEEDED, vendor)
    recorded = measure_voice(svc, "cmp-1", "job-1")
    assert [(c, v) for c, v, _ in comparisons.recorded] == [("cmp-1", "fake")]
    assert comparisons.recorded[0][2] == recorded
    assert recorded["vendor_voice_id"] == "vendor-voice" and recorded["probes_spoken"] == len(PROBES)
    assert recorded["price"] == {"per_1k_chars": "2", "currency": "CNY"}
    assert recorded["probe_set_version"] == PROBE_SET_VERSION
    # Each probe's audio is kept, as the 16-bit mono WAV it was measured on, at its key on its facts
    objects = svc.s3.objects  # type: ignore[attr-defined]
    for probe in recorded["probes"]:
        key = probe_audio_key("t", "cmp-1", "fake", probe["probe_id"])
        assert probe["audio_key"] == key
        bucket, body, content_type = objects[key]
        assert (bucket, content_type) == ("bucket", "audio/wav") and body == wav_file(RATE, speech_like())
    assert len(objects) == len(PROBES)


def test_measure_voice_of_a_voice_that_speaks_no_probe_records_nothing_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a vendor that is down for every probe
    clock = FakeClock()
    down = VendorRejected("fake", "ResourceUnavailable", "the service is down")
    vendor = FakeVendor(clock, "sync", work=0.1, fail={p.text: down for p in PROBES})
    monkeypatch.setattr(measuring, "capabilities", lambda _: vendor.capabilities)
    svc, comparisons = services_with("fake", JobStatus.SUCCEEDED, vendor)
    # When measured / Then nothing is recorded nor kept, and the error carries the vendor's code
    with pytest.raises(FactsNotMeasured) as raised:
        measure_voice(svc, "cmp-1", "job-1")
    assert raised.value.code == "ResourceUnavailable"
    assert f"{len(PROBES)} of {len(PROBES)} failed" in raised.value.message
    assert comparisons.recorded == [] and svc.s3.objects == {}  # type: ignore[attr-defined]


def test_a_kept_probe_has_its_key_and_a_failed_one_none() -> None:
    clock = FakeClock()
    refused = PROBES[3]
    vendor = FakeVendor(clock, "stream", fail={refused.text: VendorRejected("fake", "InvalidText", "no")})
    kept: dict[str, bytes] = {}

    def keep(probe: Any, wav: bytes) -> str:
        kept[probe.id] = wav
        return f"k/{probe.id}"

    facts = run(vendor, clock, keep=keep)
    assert [p.audio_key for p in facts.probes] == ["" if p is refused else f"k/{p.id}" for p in PROBES]
    # a stream's raw PCM is kept as a WAV at the rate asked for
    assert kept[PROBES[0].id] == wav_file(16000, speech_like()) and refused.id not in kept
    # without a keeper (a benchmark's run) nothing is kept
    assert {p.audio_key for p in run(FakeVendor(clock, "sync"), clock).probes} == {""}


def test_measure_voice_of_a_vendor_without_speech_records_that_it_does_not_speak() -> None:
    svc, comparisons = services_with("qiniu", JobStatus.SUCCEEDED, adapter=None)  # no adapter is built
    recorded = measure_voice(svc, "cmp-1", "job-1")
    assert recorded["speaks"] is False and recorded["delivery"] == "none" and "agent" in recorded["note"]
    assert comparisons.recorded[0][1] == "qiniu"


def test_measure_voice_of_a_job_without_a_voice_is_a_conflict_and_records_nothing() -> None:
    svc, comparisons = services_with("fake", JobStatus.TRAINING, adapter=None)
    with pytest.raises(Conflict, match="TRAINING"):
        measure_voice(svc, "cmp-1", "job-1")
    assert comparisons.recorded == []


def test_an_unreadable_answer_is_that_probes_failure() -> None:
    clock = FakeClock()
    vendor = FakeVendor(clock, "sync")
    vendor.synthesize = lambda voice, request: SynthesisResult(  # type: ignore[method-assign]
        audio=b"not a wav", format="wav", sample_rate=RATE
    )
    facts = run(vendor, clock)
    assert {p.failure.code for p in facts.probes if p.failure} == {"InvalidAudio"}
