"""Measure one cloned voice: speak the probe set through its vendor's adapter, time it, measure the audio.

:func:`measure` is pure of AWS (an adapter, a voice, the probes: the facts), so the tests and the
benchmark call it without a comparison; :func:`measure_voice` is what the comparison workflow calls
for each ready voice (its facts step): it loads the job's voice, measures it, keeps each spoken
probe's audio in S3 for the blind listening, and records the facts on the comparison. ``measure``
hands each probe's audio to a keeper it is given (``keep``), so it stays free of S3 while the step
stores the very audio the figures were measured on.

Each probe is spoken once, one after another, the way a client would ask: a vendor that streams
(Capabilities.speech_stream) through ``stream_synthesis`` in raw PCM, where the first audio is the
first chunk; a sync vendor through ``synthesize``; an async one by starting a job and polling it
here at the vendor's declared pace until the file is ready. Whole answers are flagged as such
(``delivery``), so nobody reads a whole file's wait as a stream's first audio. Probes run one at
a time, so no probe's figures include another's queueing, and nothing is retried: a throttled or
failing probe is that probe's failure, with the vendor's code, and the other probes go on. The
whole measurement is bounded by one deadline; probes it leaves no time for are failures too.

Probes are not counted in the tenant's usage (GET /v1/usage): usage counts the speech the tenant
asked for, each with a speech record and its audio, and the soak checks usage against exactly that.
Probes are the service's own work for a comparison, billed by the vendor all the same, so the
facts carry what they cost instead (``characters``, ``vendor_calls``), where the tenant sees them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from voiceclone.domain.audio import pcm_of, speech_levels, wav_file
from voiceclone.domain.deadlines import MEASURE_VOICE_SECONDS
from voiceclone.domain.errors import Conflict, VendorRejected, VoicecloneError
from voiceclone.domain.facts import FactsSummary, Price, ProbeFacts, ProbeFailure, VoiceFacts
from voiceclone.domain.models import JobStatus, Language, VendorVoice
from voiceclone.domain.probes import PROBE_SET_VERSION, Probe, probes_for
from voiceclone.logic.core.keys import probe_audio_key
from voiceclone.observability import logger, metrics
from voiceclone.vendors import config
from voiceclone.vendors.registry import capabilities
from voiceclone.vendors.speech import SpeechFormat, SynthesisRequest, SynthesisResult, SynthesisState

if TYPE_CHECKING:
    from voiceclone.logic.core.services import Services
    from voiceclone.vendors.base import Capabilities, VendorAdapter

# The whole measurement of one voice (every probe, async jobs polled included). The facts step's
# Lambda timeout is made from the same figure (voiceclone.handlers.table), with room around it for
# loading the voice, keeping the audio and recording the facts.
DEADLINE_SECONDS = float(MEASURE_VOICE_SECONDS)
# Probes are asked for at this rate where the vendor makes it (every vendor here does), so the
# voices' figures are of the same audio.
SAMPLE_RATE = 16000
# The code of a probe the deadline left no time for (the vendor was not asked).
NOT_ASKED = "DeadlineReached"


@dataclass(frozen=True)
class Clock:
    """The measurement's clock and its waits (tests pass a fake one: hours of polling in no time)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Pace:
    """How an async vendor's job is polled: the first wait, growing by ``backoff`` up to ``max_seconds``."""

    first_seconds: float
    max_seconds: float
    backoff: float = 1.5

    @classmethod
    def of(cls, caps: Capabilities) -> Pace:
        """The vendor's declared pace of speech polling."""
        return cls(float(caps.speech_poll_seconds), float(caps.speech_poll_max_seconds))


# Keeps one spoken probe's audio (a 16-bit mono WAV) and says where: the key recorded on its facts.
Keeper = Callable[[Probe, bytes], str]


class ProbeTimedOut(VoicecloneError):
    """The measurement's deadline came before the vendor's job for a probe ended."""


class FactsNotMeasured(VoicecloneError):
    """Not one probe could be spoken (the vendor down, refusing every text): there are no figures.

    The code is the first probe's failure code (the vendor's own where it gave one); the workflow
    records the error on the vendor's entry instead of facts, and the voice stays ready.
    """


class _Spoken(NamedTuple):
    pcm: bytes
    sample_rate: int
    first_audio_seconds: float
    synthesis_seconds: float
    request_id: str


def measure_voice(svc: Services, comparison_id: str, job_id: str) -> dict[str, Any]:
    """Measure the voice job ``job_id`` made and record its facts on comparison ``comparison_id``.

    The voice must be ready (its job SUCCEEDED): Conflict "VoiceNotReady" otherwise. Each spoken
    probe's audio is kept at ``probe_audio_key`` (its key on the probe's facts). A voice that could
    speak no probe at all gets no facts: FactsNotMeasured, which the workflow records on the vendor's
    entry as the reason. Returns the facts as recorded (JSON-ready).
    """
    job = svc.store.jobs.get(job_id)
    voice = svc.store.voices.get(job.voice_id) if job is not None and job.voice_id else None
    if job is None or job.status is not JobStatus.SUCCEEDED or voice is None:
        status = job.status.value if job is not None else "gone"
        raise Conflict("VoiceNotReady", f"job {job_id} has no voice to measure: it is {status}")
    caps = capabilities(voice.vendor)
    settings = svc.settings
    pace = Pace(
        float(settings.poll_initial_seconds or caps.speech_poll_seconds),
        float(settings.poll_max_seconds or caps.speech_poll_max_seconds),
        settings.poll_backoff,
    )
    price = config.price(voice.vendor)
    if caps.speech == "none":
        facts = not_spoken(voice.vendor, voice.vendor_voice, voice.language, caps, price)
    else:
        facts = measure(
            svc.adapter_for(voice.vendor),
            voice.vendor_voice,
            probes_for(voice.language),
            language=voice.language,
            price=price,
            pace=pace,
            tag=comparison_id,
            keep=_keeper(svc, job.tenant_id, comparison_id, voice.vendor),
        )
        if facts.probes and facts.probes_spoken == 0:
            raise _nothing_spoken(facts)
    document = facts.model_dump(mode="json")
    svc.store.comparisons.record_facts(comparison_id, voice.vendor, document)
    metrics.add_metric(name="ComparisonVoiceMeasured", unit="Count", value=1)
    logger.info(
        "voice measured",
        extra={
            "comparison_id": comparison_id,
            "job_id": job_id,
            "vendor": voice.vendor,
            "probes_spoken": facts.probes_spoken,
            "probes_failed": facts.probes_failed,
        },
    )
    return document


def _keeper(svc: Services, tenant_id: str, comparison_id: str, vendor: str) -> Keeper:
    """Store each probe's WAV under the comparison's probe audio prefix (what the listening plays)."""

    def keep(probe: Probe, wav: bytes) -> str:
        key = probe_audio_key(tenant_id, comparison_id, vendor, probe.id)
        svc.s3.put_object(Bucket=svc.settings.bucket_name, Key=key, Body=wav, ContentType="audio/wav")
        return key

    return keep


def _nothing_spoken(facts: VoiceFacts) -> FactsNotMeasured:
    """Why a voice has no facts: how many probes failed, and the first failure with its code."""
    first = next(p.failure for p in facts.probes if p.failure is not None)
    return FactsNotMeasured(
        first.code or first.error,
        f"no probe could be spoken: {facts.probes_failed} of {len(facts.probes)} failed; "
        f"the first: {first.error} {first.code}: {first.message}"[:1000],
        vendor=facts.vendor,
    )


def measure(
    adapter: VendorAdapter,
    voice: VendorVoice,
    probes: Sequence[Probe],
    *,
    language: Language,
    price: Price | None = None,
    stream: bool | None = None,
    pace: Pace | None = None,
    clock: Clock | None = None,
    deadline_seconds: float = DEADLINE_SECONDS,
    tag: str = "",
    keep: Keeper | None = None,
) -> VoiceFacts:
    """Speak each probe with ``voice`` through ``adapter`` and measure it; the voice's facts.

    ``stream``: None streams where the vendor can (and only there); False asks for whole answers
    from a vendor that could stream. ``pace``: an async vendor's polling (its declared pace by
    default). ``tag``: ours, naming the async vendor jobs (a fresh one by default). ``keep``: given
    each spoken probe's audio as a 16-bit mono WAV, keeps it and returns where (the probe's
    ``audio_key``); None keeps nothing (a benchmark's run).
    """
    caps = adapter.capabilities
    if caps.speech == "none":
        return not_spoken(adapter.vendor_id, voice, language, caps, price)
    clock = clock or Clock()
    streamed = caps.speech_stream if stream is None else stream and caps.speech_stream
    fmt, rate = _format(caps, streamed)
    way = _Way(adapter, voice, clock, pace or Pace.of(caps), tag or uuid.uuid4().hex[:12])
    deadline = clock.now() + deadline_seconds
    facts: list[ProbeFacts] = []
    asked: list[Probe] = []
    for probe in probes:
        if clock.now() >= deadline:
            late = ProbeFailure(error="ProbeTimedOut", code=NOT_ASKED, message="no time was left to speak it")
            facts.append(_failed(probe, late))
            continue
        asked.append(probe)
        request = SynthesisRequest(text=probe.text, format=fmt, sample_rate=rate)
        spoken = way.speak(probe, request, streamed, deadline)
        if isinstance(spoken, ProbeFailure):
            facts.append(_failed(probe, spoken))
            continue
        key = keep(probe, wav_file(spoken.sample_rate, spoken.pcm)) if keep is not None else ""
        facts.append(_measured(probe, spoken, key))
    return VoiceFacts(
        vendor=adapter.vendor_id,
        vendor_voice_id=voice.voice_id,
        language=language,
        probe_set_version=PROBE_SET_VERSION,
        speaks=True,
        delivery="stream" if streamed else "whole",
        format=fmt,
        sample_rate=rate,
        probes=facts,
        summary=FactsSummary.of(facts),
        probes_spoken=sum(p.ok for p in facts),
        probes_failed=sum(not p.ok for p in facts),
        characters=sum(len(p.text) for p in asked),
        vendor_calls=len(asked),
        price=price,
    )


def not_spoken(
    vendor: str, voice: VendorVoice, language: Language, caps: Capabilities, price: Price | None
) -> VoiceFacts:
    """The facts of a voice that cannot speak through voiceclone: said plainly, with no figures."""
    return VoiceFacts(
        vendor=vendor,
        vendor_voice_id=voice.voice_id,
        language=language,
        probe_set_version=PROBE_SET_VERSION,
        speaks=False,
        delivery="none",
        note=caps.speech_note or f"{vendor} offers no speech synthesis through voiceclone",
        price=price,
    )


def _format(caps: Capabilities, streamed: bool) -> tuple[SpeechFormat, int]:
    """Raw PCM from a stream, WAV as a whole file: both measured without a decoder; 16 kHz where made."""
    rates = caps.speech_stream_sample_rates if streamed else caps.speech_sample_rates
    return ("pcm" if streamed else "wav"), (SAMPLE_RATE if SAMPLE_RATE in rates else rates[0])


class _Way:
    """How one vendor is asked for a probe's audio: its stream, its one call, or its job polled."""

    def __init__(
        self, adapter: VendorAdapter, voice: VendorVoice, clock: Clock, pace: Pace, tag: str
    ) -> None:
        self.adapter, self.voice, self.clock, self.pace, self.tag = adapter, voice, clock, pace, tag

    def speak(
        self, probe: Probe, request: SynthesisRequest, streamed: bool, deadline: float
    ) -> _Spoken | ProbeFailure:
        """The probe's audio and timings, or why there are none (the vendor's error, with its code)."""
        try:
            if streamed:
                return self._stream(request)
            if self.adapter.capabilities.speech == "sync":
                return self._sync(request)
            return self._job(probe, request, deadline)
        except VoicecloneError as exc:
            return ProbeFailure(error=type(exc).__name__, code=exc.code, message=exc.message[:500])
        except ValueError as exc:  # audio other than what was asked for (a WAV that is not 16-bit mono)
            return ProbeFailure(
                error="VendorRejected",
                code="InvalidAudio",
                message=f"{self.adapter.vendor_id} sent audio that cannot be read: {exc}"[:500],
            )

    def _stream(self, request: SynthesisRequest) -> _Spoken:
        started = self.clock.now()
        with self.adapter.stream_synthesis(self.voice, request) as audio:
            first = self.clock.now() - started  # the call returns once the first audio has arrived
            pcm = b"".join(audio)
            request_id = audio.request_id
        return _Spoken(pcm, request.sample_rate, first, self.clock.now() - started, request_id)

    def _sync(self, request: SynthesisRequest) -> _Spoken:
        started = self.clock.now()
        result = self.adapter.synthesize(self.voice, request)
        return _whole(result, self.clock.now() - started)

    def _job(self, probe: Probe, request: SynthesisRequest, deadline: float) -> _Spoken:
        """Start the vendor's job, poll it at its pace until it ends or the deadline comes, fetch the file."""
        started = self.clock.now()
        job = self.adapter.start_synthesis(self.voice, request, tag=f"{self.tag}-{probe.id}")
        wait = self.pace.first_seconds
        while job.state is SynthesisState.RUNNING:
            if self.clock.now() + wait > deadline:
                raise ProbeTimedOut(
                    "ProbeTimedOut",
                    f"{self.adapter.vendor_id} had not finished job {job.job_id} "
                    f"({job.vendor_state or 'running'}) when the measurement's deadline came",
                )
            self.clock.sleep(wait)
            wait = min(wait * self.pace.backoff, self.pace.max_seconds)
            job = self.adapter.get_synthesis(job.job_id)
        if job.state is SynthesisState.FAILED:
            raise VendorRejected(
                self.adapter.vendor_id,
                job.error_code or "SynthesisFailed",
                job.error_message or f"the vendor's job {job.job_id} failed",
            )
        result = self.adapter.synthesis_audio(job, request)
        return _whole(result, self.clock.now() - started)


def _whole(result: SynthesisResult, seconds: float) -> _Spoken:
    """A whole answer: its first audio is its last (a WAV read for its PCM; raw PCM as it is)."""
    if result.format == "wav":
        rate, pcm = pcm_of(result.audio)
    elif result.format == "pcm":
        rate, pcm = result.sample_rate, result.audio
    else:
        raise ValueError(f"{result.format} is not measured here (no decoder): WAV or PCM is asked for")
    return _Spoken(pcm, rate, seconds, seconds, result.request_id)


def _measured(probe: Probe, spoken: _Spoken, audio_key: str) -> ProbeFacts:
    levels = speech_levels(spoken.pcm, spoken.sample_rate)
    audio = levels.duration_seconds
    return ProbeFacts(
        probe_id=probe.id,
        category=probe.category,
        characters=len(probe.text),
        first_audio_seconds=round(spoken.first_audio_seconds, 4),
        synthesis_seconds=round(spoken.synthesis_seconds, 4),
        audio_seconds=audio,
        real_time_factor=round(spoken.synthesis_seconds / audio, 6) if audio > 0 else None,
        speech_dbfs=levels.speech_dbfs,
        peak_dbfs=levels.peak_dbfs,
        clipped_fraction=levels.clipped_fraction,
        leading_silence_seconds=levels.leading_silence_seconds,
        trailing_silence_seconds=levels.trailing_silence_seconds,
        silence_seconds=levels.silence_seconds,
        vendor_request_id=spoken.request_id[:200],
        audio_key=audio_key,
    )


def _failed(probe: Probe, failure: ProbeFailure) -> ProbeFacts:
    return ProbeFacts(probe_id=probe.id, category=probe.category, characters=len(probe.text), failure=failure)
