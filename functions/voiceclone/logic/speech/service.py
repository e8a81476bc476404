"""Speech with a cloned voice: check the voice and request, split the text, synthesize, store, count.

The vendor side is one call per piece of text
(VendorAdapter.synthesize, within the vendor's Capabilities.speech_text_limit); this module splits
longer text, calls the vendor piece by piece (up to speech_concurrency at once, results kept in
order), retries throttling with backoff and joins the pieces into one file, which is labelled once
(voiceclone.logic.speech.labelling: the audible rhythm, the GB 45438 metadata, the C2PA manifest)
before it is stored or handed out.

Asynchronous vendors (Capabilities.speech == "async") are checked the same way; the speech is
recorded RUNNING and the speech workflow (infra/speech_workflow.py, voiceclone.logic.speech.steps)
makes it: one vendor job per piece, polled, joined, labelled and stored, ending SUCCEEDED or FAILED.
The label policy is read, and a format that cannot carry the labels refused, before any vendor call.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from voiceclone.domain.api_models import (
    SpeechPage,
    SpeechRequest,
    SpeechView,
)
from voiceclone.domain.errors import (
    TIMEOUT_CODE,
    Conflict,
    InvalidField,
    VendorThrottled,
    VendorUnavailable,
    VoicecloneError,
)
from voiceclone.domain.models import (
    SPEECH_CONTENT_TYPES,
    JobError,
    JobStatus,
    Speech,
    SpeechStatus,
    Voice,
    VoiceState,
)
from voiceclone.domain.steps import SpeechInput
from voiceclone.domain.text import readable
from voiceclone.logic.core.ids import new_speech_id
from voiceclone.logic.core.keys import speech_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import labelling
from voiceclone.logic.speech.steps import fail_speech
from voiceclone.observability import logger
from voiceclone.provenance import LabelledSpeech, SpeechContext
from voiceclone.vendors.registry import capabilities
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult, join_audio, split_text

if TYPE_CHECKING:
    from voiceclone.vendors.base import Capabilities, VendorAdapter

# How long an audio_url stays valid.
AUDIO_URL_SECONDS = 900
# Vendor throttling: tries of one piece, and the first backoff (doubled each time, with jitter).
THROTTLE_ATTEMPTS = 4
THROTTLE_BACKOFF_SECONDS = 0.25
# A vendor's passing outage (its 500 or 503, a dropped connection): tries of one piece. A synthesis
# has no effect at the vendor but the audio it answers, so trying again costs nothing but time; a
# timeout is not tried again, since the client has already waited the vendor's whole timeout.
OUTAGE_ATTEMPTS = 2
# A response of raw audio (Accept: audio/...) is for short text: longer, ask for the JSON and its URL.
MAX_DIRECT_CHARS = 1000
sleep: Callable[[float], None] = time.sleep  # tests replace it
Result = TypeVar("Result")


class AudioNotReady(VoicecloneError):
    """Audio in the response was asked of a vendor that makes it later (the API's 406)."""


def speak(
    svc: Services,
    tenant_id: str,
    voice_id: str,
    request: SpeechRequest,
    *,
    audio_response: bool = False,
) -> tuple[SpeechView, bytes]:
    """Speak `request.text` with the tenant's voice; the stored speech (with its URL) and its audio.

    An asynchronous vendor's speech comes back RUNNING with no audio (b""): the speech workflow
    finishes it. ``audio_response``: the caller wants the bytes now, which only a sync vendor gives.
    """
    voice = svc.store.voices.require(voice_id, tenant_id)
    caps, sample_rate = check_request(svc, voice, request)
    labeller = labelling.labeller(svc, tenant_id)
    labelling.refuse_unlabelled(labeller.policy, request.format, caps.speech_formats)
    pieces = readable_pieces(request.text, caps.speech_text_limit, caps)
    if caps.speech == "async":
        if audio_response:
            raise AudioNotReady(
                "AudioNotReady",
                f"{voice.vendor} makes speech asynchronously: ask for application/json, then poll "
                "GET /v1/speech/{speech_id} until it is SUCCEEDED and download its audio_url",
                vendor=voice.vendor,
            )
        return _start_async(svc, voice, request, pieces, sample_rate, labeller.policy.explicit), b""
    calls = [
        SynthesisRequest(text=p, format=request.format, sample_rate=sample_rate, speed=request.speed)
        for p in pieces
    ]
    adapter = svc.adapter_for(voice.vendor)
    started = time.monotonic()
    results = _synthesize_all(adapter, voice, calls, max(1, caps.speech_concurrency))
    joined = results[0] if len(results) == 1 else join_audio(results)
    vendor_seconds = time.monotonic() - started
    speech_id = new_speech_id()
    context = SpeechContext(speech_id=speech_id, voice_id=voice_id, vendor=voice.vendor, tenant_id=tenant_id)
    labelled = labeller.label(context, joined, request.format)
    label_seconds = time.monotonic() - started - vendor_seconds
    speech = record_speech(
        svc, voice, request, joined, calls=len(results), speech_id=speech_id, labelled=labelled
    )
    logger.info(
        "speech made",
        extra={
            "speech_id": speech.speech_id,
            "vendor": voice.vendor,
            "characters": speech.characters,
            "vendor_calls": speech.vendor_calls,
            "vendor_seconds": round(vendor_seconds, 3),
            "label_seconds": round(label_seconds, 3),
        },
    )
    return view(svc, speech), labelled.audio


def check_request(
    svc: Services, voice: Voice, request: SpeechRequest, *, stream: bool = False
) -> tuple[Capabilities, int]:
    """The vendor's capabilities and the sample rate to ask for, once every rule of speech passed: the
    voice can speak (409 otherwise), the vendor makes the format, rate and speed (422 naming what it
    takes). ``stream``: checked against what the vendor's stream makes."""
    _check_can_speak(svc, voice)
    caps = capabilities(voice.vendor)
    if stream:
        rates, speeds = caps.speech_stream_sample_rates, caps.speech_stream_speeds
        return caps, _check_format(voice.vendor, caps, request, stream_formats(caps), rates, speeds)
    return caps, _check_format(voice.vendor, caps, request)


def stream_formats(caps: Capabilities) -> tuple[str, ...]:
    """The formats a vendor's stream is served in: a streamed WAV is its PCM behind one header of ours."""
    streamed = caps.speech_stream_formats
    return (*streamed, "wav") if "pcm" in streamed else tuple(streamed)


def readable_pieces(text: str, limit: int, caps: Capabilities) -> list[str]:
    """The text split at the vendor's limit (sentence ends first); pieces with nothing to read (white
    space or punctuation alone, at a cut) are not sent."""
    limit = limit or len(text.encode("utf-8"))
    return [p for p in split_text(text, limit, caps.speech_text_unit) if readable(p)]


def record_speech(
    svc: Services,
    voice: Voice,
    request: SpeechRequest,
    audio: SynthesisResult,
    *,
    calls: int,
    speech_id: str = "",
    labelled: LabelledSpeech | None = None,
) -> Speech:
    """Store the audio and record the speech SUCCEEDED, counted in the tenant's usage in the same write.

    ``speech_id``: one the caller already named (a stream names it before its audio exists).
    ``labelled``: the audio as labelled (labelling.Labeller), stored instead of ``audio`` with the
    labels it was given; its duration counts the audible label.
    """
    speech_id = speech_id or new_speech_id()
    key = speech_key(voice.tenant_id, voice.voice_id, speech_id, audio.format)
    if labelled is None:
        svc.s3.put_object(
            Bucket=svc.settings.bucket_name,
            Key=key,
            Body=audio.audio,
            ContentType=SPEECH_CONTENT_TYPES[audio.format],
        )
        labels = None
    else:
        labelling.store(svc, key, labelled)
        audio = labelling.result_of(labelled, audio.sample_rate, audio.request_id)
        labels = labelling.labels_of(labelled)
    speech = Speech(
        speech_id=speech_id,
        tenant_id=voice.tenant_id,
        voice_id=voice.voice_id,
        vendor=voice.vendor,
        characters=len(request.text),
        format=audio.format,
        sample_rate=audio.sample_rate,
        speed=request.speed,
        duration_seconds=round(audio.duration_seconds(), 3),
        s3_key=key,
        vendor_calls=calls,
        vendor_request_id=audio.request_id[:1024],
        notify_url=request.notify_url,
        labels=labels,
    )
    svc.store.speech.put(speech)
    return speech


def _start_async(
    svc: Services, voice: Voice, request: SpeechRequest, pieces: list[str], sample_rate: int, explicit: bool
) -> SpeechView:
    """Record the speech RUNNING and start its workflow; a start that fails ends it FAILED at once."""
    speech = Speech(
        speech_id=new_speech_id(),
        tenant_id=voice.tenant_id,
        voice_id=voice.voice_id,
        vendor=voice.vendor,
        characters=len(request.text),
        format=request.format,
        sample_rate=sample_rate,
        speed=request.speed,
        vendor_calls=len(pieces),
        status=SpeechStatus.RUNNING,
        notify_url=request.notify_url,
        vendor_jobs=[""] * len(pieces),
    )
    svc.store.speech.put(speech)
    workflow_input = SpeechInput(
        speech_id=speech.speech_id,
        tenant_id=speech.tenant_id,
        vendor=speech.vendor,
        pieces=pieces,
        format=request.format,
        sample_rate=sample_rate,
        speed=request.speed,
        explicit_label=explicit,
    )
    try:
        svc.sfn.start_execution(
            stateMachineArn=svc.settings.speech_state_machine_arn,
            name=speech.speech_id,
            input=json.dumps({"speech": workflow_input.model_dump(mode="json")}),
        )
    except Exception as exc:
        failure = JobError(error="WorkflowNotStarted", code="WorkflowNotStarted", message=str(exc)[:500])
        fail_speech(svc, speech.speech_id, speech.tenant_id, failure)
        raise
    logger.info(
        "speech started",
        extra={"speech_id": speech.speech_id, "vendor": speech.vendor, "pieces": len(pieces)},
    )
    return view(svc, speech)


def _check_can_speak(svc: Services, voice: Voice) -> None:
    """409 for a voice that cannot speak: deleted, its job not SUCCEEDED, or its vendor without speech."""
    if voice.state is VoiceState.DELETED:
        raise Conflict(
            "VoiceDeleted",
            f"voice {voice.voice_id} was deleted: it cannot speak",
            deleted_at=str(voice.deleted_at),
        )
    job = svc.store.jobs.get(voice.job_id)
    if job is None or job.status is not JobStatus.SUCCEEDED:
        status = job.status.value if job else "gone"
        raise Conflict(
            "VoiceNotReady",
            f"voice {voice.voice_id} cannot speak: its job {voice.job_id} is {status}, not SUCCEEDED",
            job_status=status,
        )
    caps = capabilities(voice.vendor)
    if caps.speech == "none":
        note = caps.speech_note or f"{voice.vendor} offers no speech synthesis through voiceclone"
        raise Conflict("SpeechNotOffered", note, vendor=voice.vendor, speech=caps.speech)


def _check_format(
    vendor: str,
    caps: Capabilities,
    request: SpeechRequest,
    formats: tuple[str, ...] | None = None,
    rates: tuple[int, ...] | None = None,
    speeds: tuple[float, float] | None = None,
) -> int:
    """The sample rate to ask for; InvalidField (422) naming what the vendor takes otherwise.

    ``formats``, ``rates`` and ``speeds``: what the vendor makes this way (a stream's), its whole
    files' by default.
    """
    formats = caps.speech_formats if formats is None else formats
    if request.format not in formats:
        raise InvalidField(
            ("body", "format"),
            "UnsupportedFormat",
            f"{vendor} speaks {', '.join(formats)}, not {request.format}",
            formats=list(formats),
        )
    speeds = speeds or caps.speech_speeds
    if speeds is not None and not speeds[0] <= request.speed <= speeds[1]:
        low, high = speeds
        allowed = f"only at {low:g}" if low == high else f"at {low:g} to {high:g}"
        raise InvalidField(
            ("body", "speed"),
            "UnsupportedSpeed",
            f"{vendor} speaks {allowed} times the natural pace, not {request.speed:g}",
            speeds=list(speeds),
        )
    rates = caps.speech_sample_rates if rates is None else rates
    rate = request.sample_rate or (16000 if 16000 in rates else rates[0])
    if rate not in rates:
        raise InvalidField(
            ("body", "sample_rate"),
            "UnsupportedSampleRate",
            f"{vendor} speaks at {', '.join(str(r) for r in rates)} Hz, not {rate}",
            sample_rates=list(rates),
        )
    return rate


def _synthesize_all(
    adapter: VendorAdapter, voice: Voice, calls: list[SynthesisRequest], concurrency: int
) -> list[SynthesisResult]:
    """Each piece through the vendor, in order (up to `concurrency` at once)."""
    if len(calls) == 1 or concurrency == 1:
        return [_synthesize(adapter, voice, c) for c in calls]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(calls))) as pool:
        return list(pool.map(lambda c: _synthesize(adapter, voice, c), calls))


def _synthesize(adapter: VendorAdapter, voice: Voice, call: SynthesisRequest) -> SynthesisResult:
    """One vendor call, retried as retry_passing says."""
    return retry_passing(lambda: adapter.synthesize(voice.vendor_voice, call))


def retry_passing(call: Callable[[], Result]) -> Result:
    """``call()``; throttling and passing outages retried with growing, jittered waits, then raised
    (the API's 503 with the vendor's code). A timeout is raised at once (OUTAGE_ATTEMPTS)."""
    throttled = outages = 0
    while True:
        try:
            return call()
        except VendorThrottled as exc:
            throttled += 1
            if throttled >= THROTTLE_ATTEMPTS:
                raise
            _back_off("vendor throttled speech", exc, throttled)
        except VendorUnavailable as exc:
            outages += 1
            if exc.code == TIMEOUT_CODE or outages >= OUTAGE_ATTEMPTS:
                raise
            _back_off("vendor outage during speech", exc, outages)


def _back_off(what: str, exc: VendorThrottled | VendorUnavailable, attempt: int) -> None:
    wait = THROTTLE_BACKOFF_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())
    logger.info(what, extra={"code": exc.code, "attempt": attempt, "wait": wait})
    sleep(wait)


def view(svc: Services, speech: Speech) -> SpeechView:
    """The speech as the API shows it, with a fresh presigned GET of its audio."""
    url = ""
    if speech.s3_key and speech.status is SpeechStatus.SUCCEEDED:
        url = svc.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": svc.settings.bucket_name,
                "Key": speech.s3_key,
                "ResponseContentType": SPEECH_CONTENT_TYPES.get(speech.format, "application/octet-stream"),
            },
            ExpiresIn=AUDIO_URL_SECONDS,
        )
    return SpeechView.of(speech, url, AUDIO_URL_SECONDS if url else 0)


def get_speech(svc: Services, tenant_id: str, speech_id: str) -> SpeechView:
    return view(svc, svc.store.speech.get(speech_id, tenant_id))


def list_speech(svc: Services, tenant_id: str, voice_id: str, limit: int, cursor: str | None) -> SpeechPage:
    svc.store.voices.require(voice_id, tenant_id)  # another tenant's voice: 404, as a missing one
    found, next_cursor = svc.store.speech.list(tenant_id, voice_id, limit, cursor)
    return SpeechPage(items=[view(svc, s) for s in found], next_cursor=next_cursor)
