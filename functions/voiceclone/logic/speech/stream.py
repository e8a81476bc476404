"""Streaming speech: speech's own checks, then the vendor's audio handed on chunk by chunk as it arrives.

Everything before the first byte is speech's (voiceclone.logic.speech.service): the voice must be
able to speak, the text readable, the format, rate and speed the vendor's, the text split where
sentences end at the vendor's stream limit, the labels settled as speech settles them
(voiceclone.logic.speech.labelling: a deployment that cannot label, or raw PCM it refuses, costs
no vendor call). :func:`prepare` does all of that, and makes what goes out ahead of the speech:
the container's one header with the implicit label, and the explicit label, the rhythm, as the
stream's first audio (voiceclone.provenance.streaming).

With the rhythm on, the answer starts with it at once and the vendor is called while it plays:
the listener hears the notice first, and the vendor's time to its first audio is hidden behind the
label's 1.5 s instead of added to it. A vendor error then comes after the first audio (the stream
ends unclean, the speech FAILED with the vendor's code). With the rhythm off there is no audio to
send first: :meth:`PreparedStream.open` waits for the vendor's first audio, so that a vendor error
before it is still an ordinary error answer. :meth:`SpeechStream.play` writes the audio as it
comes: the pieces in order (an MP3's pieces as whole frames, its tags left out), the next piece's
stream opened while the current one plays, so that no piece waits for its vendor's first chunk
after the one before has ended (one call ahead, never more).

A vendor with no stream for cloned voices still answers, whole (``Delivery.WHOLE``): a sync vendor
makes the file and it is sent at once; an async one (the Tencent gateway, Huawei) is waited for
through the speech record its workflow ends. Qiniu's voices do not speak here (speech's 409).

The speech is recorded when the stream ends: SUCCEEDED with its audio stored and its characters
counted (as a whole speech is), or FAILED with the vendor's code (nothing counted), before the
answer ends, so a client that sees a cut stream finds the reason at GET /v1/speech/{id}. The
stored copy is the audio the stream sent, rhythm included, labelled whole as speech labels a
file: the implicit label bound to its audio and the C2PA manifest, which no stream can carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from voiceclone.domain.audio import wav_file
from voiceclone.domain.errors import VendorRejected, VendorUnavailable, VoicecloneError
from voiceclone.domain.models import JobError, Speech, SpeechStatus, Voice
from voiceclone.logic.core.ids import new_speech_id
from voiceclone.logic.speech import labelling, service
from voiceclone.observability import logger, observe
from voiceclone.provenance import AIGC_HEADER, SpeechContext
from voiceclone.vendors.registry import capabilities
from voiceclone.vendors.speech import Mp3StreamFrames, SpeechFormat, SynthesisRequest, SynthesisResult

if TYPE_CHECKING:
    from voiceclone.domain.api_models import SpeechRequest
    from voiceclone.logic.core.services import Services
    from voiceclone.logic.speech.labelling import Labeller
    from voiceclone.provenance import StreamLabels
    from voiceclone.vendors.base import VendorAdapter
    from voiceclone.vendors.streaming.base import AudioStream

# What each format is served as. PCM is 16-bit signed little-endian mono at the rate the header says.
MEDIA_TYPES = {"pcm": "audio/pcm", "mp3": "audio/mpeg", "wav": "audio/wav"}
# Response headers: the speech's id, how the audio is delivered, its sample rate.
SPEECH_ID_HEADER = "Voiceclone-Speech-Id"
DELIVERY_HEADER = "Voiceclone-Stream"
SAMPLE_RATE_HEADER = "Voiceclone-Sample-Rate"
# A whole answer goes out in writes of this size.
WHOLE_CHUNK_BYTES = 64 * 1024
# An async vendor's speech: how often its record is read while the answer waits for it.
WAIT_POLL_SECONDS = 0.5


class Delivery(StrEnum):
    """``live``: the audio as the vendor makes it; ``whole``: the vendor has no stream, the file when made."""

    LIVE = "live"
    WHOLE = "whole"


@dataclass
class Timings:
    """A stream's clock (monotonic seconds): its start, the vendor's first audio, ours, the end."""

    started: float
    vendor_first_byte: float = 0.0  # the vendor's: from its call to its first audio
    first_byte: float = 0.0  # ours: from the request's start to its first audio written (the label's)
    first_speech: float = 0.0  # ours: from the request's start to the vendor's first audio written
    total: float = 0.0

    def metrics(self) -> dict[str, float]:
        """In milliseconds, as logged and sent per vendor (infra/monitoring.py charts their p50/p95)."""
        return {
            "SpeechStreamVendorFirstByte": round(self.vendor_first_byte * 1000, 1),
            "SpeechStreamFirstByte": round(self.first_byte * 1000, 1),
            "SpeechStreamFirstSpeech": round(self.first_speech * 1000, 1),
            "SpeechStreamTotal": round(self.total * 1000, 1),
        }


@dataclass(frozen=True)
class StreamHead:
    """What goes out before the audio: the answer's headers and the bytes ahead of the first chunk."""

    headers: dict[str, str]
    prefix: bytes = b""


@dataclass
class SpeechStream:
    """One speech on its way to the client: checked, its first audio in hand (or its whole file)."""

    svc: Services
    voice: Voice
    request: SpeechRequest
    sample_rate: int
    delivery: Delivery
    timings: Timings
    speech_id: str
    # The audio to hand on, the first chunk already received; raises the vendor's error mid-stream.
    source: Iterator[bytes]
    # Called when the stream ends, however it ends (closes the vendor connections still open).
    close: Callable[[], None] = lambda: None
    # Live: how many vendor calls the text takes, and their request ids.
    calls: int = 1
    request_ids: list[str] = field(default_factory=list)
    # Live: how the speech is labelled, what the stream carries of it, and whether its prefix (the
    # rhythm) goes out before the vendor's first audio. None for a whole answer: speech labelled it.
    labeller: Labeller | None = None
    labels: StreamLabels | None = None
    label_first: bool = False

    @property
    def vendor(self) -> str:
        return self.voice.vendor

    def head(self) -> StreamHead:
        """The answer's headers and what precedes the audio: the one place a stream's opening is made.

        A live stream's prefix is its labels (voiceclone.provenance.streaming): a WAV's one header
        with the ``AIGC`` chunk, an MP3's ID3 tag with the ``TXXX:AIGC`` frame, then the rhythm. Raw
        PCM (where the deployment allows it) carries the AIGC value in a response header instead.
        """
        fmt = self.request.format
        media_type = MEDIA_TYPES[fmt]
        if fmt == "pcm":
            media_type += f";rate={self.sample_rate};channels=1"
        headers = {
            "Content-Type": media_type,
            "Cache-Control": "no-store",
            SPEECH_ID_HEADER: self.speech_id,
            DELIVERY_HEADER: self.delivery.value,
            SAMPLE_RATE_HEADER: str(self.sample_rate),
        }
        if self.labels is None:
            return StreamHead(headers)
        if not self.labels.label_in_file:
            headers[AIGC_HEADER] = self.labels.aigc_value
        return StreamHead(headers, self.labels.prefix)

    def play(self, write: Callable[[bytes], None]) -> Speech | None:
        """Write the head's prefix and the audio as it comes; the speech recorded as it ended.

        The prefix goes out at once when the label goes first (the vendor is called while it
        plays), else with the vendor's first audio. A failure on the way (the vendor's error, the
        client gone, a label that cannot be made) is recorded, counted and logged with the vendor's
        code, then raised: the caller ends the answer as failed.
        """
        audio: list[bytes] = []
        prefix = self.head().prefix
        try:
            if self.label_first:
                write(prefix)
                self.timings.first_byte = time.monotonic() - self.timings.started
                prefix = b""
            for chunk in self.source:
                if not chunk:
                    continue
                if not audio:
                    if self.labels is not None:
                        self.labels.check_speech(chunk)
                    write(prefix + chunk)
                    self.timings.first_speech = time.monotonic() - self.timings.started
                    self.timings.first_byte = self.timings.first_byte or self.timings.first_speech
                else:
                    write(chunk)
                audio.append(chunk)
            return self._succeeded(b"".join(audio))
        except Exception as exc:
            self._failed(exc, sum(map(len, audio)))
            raise
        finally:
            self.close()
            self.timings.total = time.monotonic() - self.timings.started

    def _succeeded(self, audio: bytes) -> Speech | None:
        self.timings.total = time.monotonic() - self.timings.started
        self._observe("SpeechStreamed")
        if self.delivery is Delivery.WHOLE:
            return None  # speech recorded and counted it as it made it
        assert self.labeller is not None  # a live stream is always labelled (prepare)
        fmt = self.request.format
        stored = wav_file(self.sample_rate, audio) if fmt == "wav" else audio
        result = SynthesisResult(
            audio=stored, format=fmt, sample_rate=self.sample_rate, request_id=",".join(self.request_ids)
        )
        labelling_started = time.monotonic()
        # The stored copy: the same audio, labelled whole with the same policy (the same rhythm in
        # front: the one the stream sent), its implicit label bound to the audio, its C2PA manifest.
        labelled = self.labeller.label(self.context, result, fmt)
        label_seconds = time.monotonic() - labelling_started
        speech = service.record_speech(
            self.svc,
            self.voice,
            self.request,
            result,
            calls=self.calls,
            speech_id=self.speech_id,
            labelled=labelled,
        )
        logger.info(
            "speech streamed",
            extra={
                "speech_id": self.speech_id,
                "vendor": self.vendor,
                "characters": speech.characters,
                "vendor_calls": self.calls,
                "bytes": len(audio),
                "label_seconds": round(label_seconds, 3),
                **self.timings.metrics(),
            },
        )
        return speech

    @property
    def context(self) -> SpeechContext:
        """The speech as its labels name it."""
        return SpeechContext(
            speech_id=self.speech_id,
            voice_id=self.voice.voice_id,
            vendor=self.vendor,
            tenant_id=self.voice.tenant_id,
        )

    def _failed(self, exc: Exception, sent: int) -> None:
        self.timings.total = time.monotonic() - self.timings.started
        # The vendor's code, or ours (a label that could not be made: LabelError's SigningFailed...)
        code = exc.code if isinstance(exc, VoicecloneError) else type(exc).__name__
        message = exc.message if isinstance(exc, VoicecloneError) else str(exc)
        error = JobError(error=type(exc).__name__, code=code, message=message[:500], vendor=self.vendor)
        logger.warning(
            "speech stream failed after its first audio",
            extra={
                "speech_id": self.speech_id,
                "vendor": self.vendor,
                "code": code,
                "error": error.error,
                "bytes_sent": sent,
                **self.timings.metrics(),
            },
        )
        self._observe("SpeechStreamFailed")
        if self.delivery is Delivery.WHOLE:
            return  # the speech is recorded already (the client went away while it was sent)
        self.svc.store.speech.put(
            Speech(
                speech_id=self.speech_id,
                tenant_id=self.voice.tenant_id,
                voice_id=self.voice.voice_id,
                vendor=self.vendor,
                characters=len(self.request.text),
                format=self.request.format,
                sample_rate=self.sample_rate,
                speed=self.request.speed,
                vendor_calls=self.calls,
                vendor_request_id=",".join(self.request_ids)[:1024],
                status=SpeechStatus.FAILED,
                error=error,
                notify_url=self.request.notify_url,
            )
        )

    def _observe(self, outcome: str) -> None:
        observe(self.vendor, {outcome: (1, "Count")} | {k: (v, "Milliseconds") for k, v in self._timed()})

    def _timed(self) -> list[tuple[str, float]]:
        # A stream that failed before its first audio went out has no first byte to report.
        return [(k, v) for k, v in self.timings.metrics().items() if v or k == "SpeechStreamTotal"]


@dataclass(frozen=True)
class PreparedStream:
    """A request that passed every check of speech: what is left is to call the vendor (:meth:`open`)."""

    svc: Services
    voice: Voice
    request: SpeechRequest
    sample_rate: int
    # Live: one vendor call per piece, in order; empty for a vendor without a stream (whole).
    calls: tuple[SynthesisRequest, ...]
    # Live: the speech's id (its labels name it), how it is labelled, what the stream carries of it.
    speech_id: str = ""
    labeller: Labeller | None = None
    labels: StreamLabels | None = None

    @property
    def delivery(self) -> Delivery:
        return Delivery.LIVE if self.calls else Delivery.WHOLE

    @property
    def label_first(self) -> bool:
        """Whether the answer starts before the vendor is called: a live stream whose labels have audio
        (the rhythm) to play while the vendor makes its first."""
        return self.labels is not None and bool(self.labels.rhythm)

    def open(self, *, started: float, deadline: float) -> SpeechStream:
        """The stream, its audio to come: the vendor called and its first audio awaited (or, without a
        stream, its whole file), unless the label goes first (:attr:`label_first`): then the vendor is
        called in a thread while the answer's head and :meth:`SpeechStream.play`'s label go out.

        ``started``: the request's start (monotonic); ``deadline``: when waiting for an async vendor's
        file gives up (monotonic). Raises the vendor's error when it fails before its first audio
        (with the label first, ``play`` raises it).
        """
        if self.delivery is Delivery.WHOLE:
            return _whole(self, started=started, deadline=deadline)
        timings = Timings(started)
        pieces = _Pieces(self.svc.adapter_for(self.voice.vendor), self.voice, list(self.calls), timings)
        if self.label_first:
            pieces.call_first()  # while the head and the label go out
        else:
            pieces.open_first()
        return SpeechStream(
            self.svc,
            self.voice,
            self.request,
            self.sample_rate,
            Delivery.LIVE,
            timings,
            self.speech_id,
            pieces.audio(),
            close=pieces.close,
            calls=len(self.calls),
            request_ids=pieces.request_ids,
            labeller=self.labeller,
            labels=self.labels,
            label_first=self.label_first,
        )


def prepare(svc: Services, tenant_id: str, voice_id: str, request: SpeechRequest) -> PreparedStream:
    """Check the request as speech does (404, 409, 422), against the vendor's stream where it has one;
    the labels settled (500 NotConfigured, 422 PcmNotLabelled); the text split where sentences end at
    the stream's limit."""
    voice = svc.store.voices.require(voice_id, tenant_id)
    if not capabilities(voice.vendor).speech_stream:
        _, sample_rate = service.check_request(svc, voice, request)
        return PreparedStream(svc, voice, request, sample_rate, ())  # speech labels the whole file
    caps, sample_rate = service.check_request(svc, voice, request, stream=True)
    labeller = labelling.labeller(svc, tenant_id)
    labelling.refuse_unlabelled(labeller.policy, request.format, service.stream_formats(caps))
    speech_id = new_speech_id()
    context = SpeechContext(speech_id=speech_id, voice_id=voice_id, vendor=voice.vendor, tenant_id=tenant_id)
    labels = labeller.stream_labels(context, request.format, sample_rate)
    fmt: SpeechFormat = "pcm" if request.format == "wav" else request.format
    calls = tuple(
        SynthesisRequest(text=p, format=fmt, sample_rate=sample_rate, speed=request.speed)
        for p in service.readable_pieces(request.text, caps.speech_stream_text_limit, caps)
    )
    return PreparedStream(svc, voice, request, sample_rate, calls, speech_id, labeller, labels)


def _open(adapter: VendorAdapter, voice: Voice, call: SynthesisRequest) -> AudioStream:
    """One piece's vendor stream, its first audio received; throttling retried as speech retries it."""
    return service.retry_passing(lambda: adapter.stream_synthesis(voice.vendor_voice, call))


class _Pieces:
    """The pieces' streams in order, the next one opened (in a thread) as the current one starts playing.

    The first is opened either at once, its first audio awaited (:meth:`open_first`), or in the
    thread, while the label goes out (:meth:`call_first`). An MP3's pieces are handed on as whole
    frames, each piece's tags and Info frame left out (voiceclone.vendors.speech.Mp3StreamFrames),
    so that they play as one stream after the label.
    """

    def __init__(
        self, adapter: VendorAdapter, voice: Voice, calls: list[SynthesisRequest], timings: Timings
    ) -> None:
        self._adapter = adapter
        self._voice = voice
        self._calls = calls
        self._timings = timings
        self._current: AudioStream | None = None
        self._next: Future[AudioStream] | None = None
        # One call ahead, never more (a thread is started at the first call submitted).
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech-stream")
        self.request_ids: list[str] = []

    def open_first(self) -> None:
        """Call the vendor for the first piece and wait for its first audio (the vendor's error raised,
        everything closed)."""
        try:
            self._current = self._open_first()
        except Exception:
            self.close()
            raise

    def call_first(self) -> None:
        """Call the vendor for the first piece in the thread: :meth:`audio` waits for its first audio."""
        self._next = self._pool.submit(self._open_first)

    def _open_first(self) -> AudioStream:
        calling = time.monotonic()
        opened = _open(self._adapter, self._voice, self._calls[0])
        self._timings.vendor_first_byte = time.monotonic() - calling
        return opened

    def audio(self) -> Iterator[bytes]:
        if self._current is None and self._next is None:
            self.call_first()
        for index in range(len(self._calls)):
            if self._next is not None:
                self._current, self._next = self._next.result(), None
            current = self._current
            assert current is not None
            if index + 1 < len(self._calls):
                self._next = self._pool.submit(_open, self._adapter, self._voice, self._calls[index + 1])
            if self._calls[index].format == "mp3":
                frames = Mp3StreamFrames()
                yield from (frames.feed(chunk) for chunk in current)
            else:
                yield from current
            if current.request_id:
                self.request_ids.append(current.request_id)
            current.close()

    def close(self) -> None:
        """Close what is still open: the current stream, and the next one once it has opened."""
        if self._current is not None:
            self._current.close()
        if self._next is not None:
            self._next.add_done_callback(_close_opened)
        self._pool.shutdown(wait=False)


def _close_opened(opening: Future[AudioStream]) -> None:
    if opening.exception() is None:
        opening.result().close()


def _whole(prepared: PreparedStream, *, started: float, deadline: float) -> SpeechStream:
    """A vendor without a stream: speech makes the file (an async vendor's waited for), sent whole."""
    svc, voice, request = prepared.svc, prepared.voice, prepared.request
    timings = Timings(started)
    sync = capabilities(voice.vendor).speech == "sync"
    view, audio = service.speak(svc, voice.tenant_id, voice.voice_id, request, audio_response=sync)
    if view.status is not SpeechStatus.SUCCEEDED:
        audio = _wait_for_audio(svc, voice.tenant_id, view.speech_id, deadline)
    timings.vendor_first_byte = time.monotonic() - started
    chunks = (audio[i : i + WHOLE_CHUNK_BYTES] for i in range(0, len(audio), WHOLE_CHUNK_BYTES))
    return SpeechStream(
        svc, voice, request, view.sample_rate, Delivery.WHOLE, timings, view.speech_id, iter(list(chunks))
    )


def _wait_for_audio(svc: Services, tenant_id: str, speech_id: str, deadline: float) -> bytes:
    """The audio of an async vendor's speech once its workflow ended it; its error if it FAILED."""
    while True:
        speech = svc.store.speech.get(speech_id, tenant_id)
        if speech.status is SpeechStatus.SUCCEEDED:
            found = svc.s3.get_object(Bucket=svc.settings.bucket_name, Key=speech.s3_key)
            body: bytes = found["Body"].read()
            return body
        if speech.status is SpeechStatus.FAILED:
            error = speech.error or JobError(error="Failed")
            raise VendorRejected(
                error.vendor or speech.vendor,
                error.code or error.error,
                error.message or f"speech {speech_id} failed at {speech.vendor}",
                speech_id=speech_id,
            )
        if time.monotonic() + WAIT_POLL_SECONDS > deadline:
            raise VendorUnavailable(
                speech.vendor,
                "StillRunning",
                f"{speech.vendor} is still making speech {speech_id}: poll GET /v1/speech/{speech_id} "
                "until it is SUCCEEDED and download its audio_url",
                speech_id=speech_id,
            )
        service.sleep(WAIT_POLL_SECONDS)
