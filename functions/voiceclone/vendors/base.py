"""The vendor interface: what every adapter offers, and the capabilities that pick the workflow path."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self, TypedDict, Unpack
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from voiceclone.domain.base import BaseModel
from voiceclone.domain.errors import VendorRejected
from voiceclone.domain.models import Gender, Language, SentenceCheck, TrainingText, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.lazy import lazy_module
from voiceclone.vendors import config
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisResult, measure, wav_rate

if TYPE_CHECKING:
    import httpx

    from voiceclone.vendors import http
    from voiceclone.vendors.http import Envelope, VendorHttp
    from voiceclone.vendors.streaming.base import AudioStream
else:  # the HTTP stack (httpx) loads when an adapter is built, not for whoever reads capabilities
    http = lazy_module("voiceclone.vendors.http")

DEFAULT_TIMEOUT_SECONDS = 10.0
# Fetching a finished synthesis job's audio file (it may be long).
DOWNLOAD_TIMEOUT_SECONDS = 60.0


class Connection(TypedDict, total=False):
    """How an adapter reaches its vendor: the timeout of one call, and a transport (tests record)."""

    timeout_seconds: float
    transport: httpx.BaseTransport | None


class Capabilities(BaseModel):
    """What the workflow needs to know about a vendor, without knowing the vendor.

    The defaults describe the simplest vendor (our own check of each sentence, one assembled
    file of our 20 sentences, polled until done); an adapter declares how its vendor differs.
    """

    # How audio reaches the vendor: in the request, by a URL it downloads, or uploaded to its URLs.
    audio_transport: Literal["inline", "url", "upload"]
    # "vendor": each sentence is checked by the vendor (and locally first); "local": only our own check.
    sentence_check: Literal["vendor", "local"] = "local"
    # "callback": the vendor calls us when training ends (polling remains the fallback).
    completion: Literal["callback", "polling"] = "polling"
    audio_files: Literal["per_sentence", "single"] = "single"
    sentence_count: int = 20
    # True: the vendor trains from takes of any text (it is told, or does not need, what was read), so a
    # comparison may give it takes made for another vendor's script; False: its takes must read its own
    # training_texts() (it checks a take against its text id, or the texts were chosen for a reason).
    reads_any_text: bool = False
    # False for a vendor registered for speech alone: no voice can be cloned there (no job, no comparison).
    clones: bool = True
    sample_rate: int = 16000
    min_sentence_seconds: float = 1.0
    max_sentence_seconds: float = 15.0
    # Vendors that train from one joined file: the (min, max) seconds it may last. The service joins
    # as many checked sentences as fit; a sentence is then limited by the window, not by
    # max_sentence_seconds. None: the vendor takes each sentence as it is (or its limits are unknown).
    joined_seconds: tuple[float, float] | None = None
    # Polling that fits the vendor's training time (overridable by configuration).
    poll_initial_seconds: int = 60
    poll_max_seconds: int = 900
    # Vendor-specific job options a client may pass in POST /v1/jobs "options" (e.g. speaker_id).
    options: tuple[str, ...] = ()
    # Documents the client uploads with the recordings (e.g. Huawei's signed authorization letter, a PDF).
    documents: tuple[str, ...] = ()
    # Voice management at the vendor, True exactly where the vendor's own API offers it; where it
    # is False the adapter method raises VendorRejected "NotSupported" and the service only
    # records the change on its side (PATCH/DELETE /v1/voices/{id}, POST /v1/jobs/{id}/cancel).
    # rename_voice: the vendor's name of a cloned voice can be changed (VendorAdapter.rename_voice).
    rename_voice: bool = False
    # delete_voice: a cloned voice can be deleted at the vendor (VendorAdapter.delete_voice).
    delete_voice: bool = False
    # cancel_task: a training task can be stopped at the vendor (VendorAdapter.cancel_task); where
    # the vendor has no cancel of its own this may be done by deleting the task's slot or job,
    # which the adapter's cancel_task docstring says.
    cancel_task: bool = False
    # The longest voice name the vendor takes (characters, as the vendor counts them), known before
    # calling it, so the API can refuse a longer one at once; None: no limit we know of.
    voice_name_max_chars: int | None = None
    # The values an option allows (e.g. Huawei's "edition": BASIC or ADVANCE); options not named here
    # take any value. Matched as the adapters read them: case and surrounding spaces do not count.
    option_choices: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # The format of every other option's value: a regular expression the whole value (spaces around it
    # taken off) must match, and what it means in words for the error, e.g. Volcengine's speaker slot
    # ("S_" and letters or digits). Every option has choices or a format: a value the vendor would
    # refuse is refused when the job is created, not after the speaker recorded every sentence.
    option_formats: dict[str, tuple[str, str]] = Field(default_factory=dict)
    # Speech with a cloned voice (VendorAdapter.synthesize). "sync": one call answers with the audio;
    # "async": the vendor makes it in a job of its own; "none": not offered through voiceclone
    # (speech_note then says how the voice is used at that vendor, for the 409 and the voice view).
    speech: Literal["sync", "async", "none"] = "none"
    # What one call can produce: formats (of "wav", "mp3", "pcm"), sample rates (the first is the
    # vendor's default), and the text one call takes, counted as the vendor counts it. Longer text
    # is split (voiceclone.vendors.speech.split_text) and the parts joined.
    speech_formats: tuple[str, ...] = ()
    speech_sample_rates: tuple[int, ...] = ()
    speech_text_limit: int = 0
    speech_text_unit: Literal["chars", "bytes"] = "chars"
    # How many calls of one voice may run at once at the vendor.
    speech_concurrency: int = 1
    # The speeds (min, max; 1.0 natural) the vendor can speak at: required of every vendor that speaks,
    # so the API refuses a speed outside them (422 UnsupportedSpeed) before the vendor is called.
    speech_speeds: tuple[float, float] | None = None
    # Async vendors: the first poll of a synthesis job (seconds; grows to speech_poll_max_seconds).
    speech_poll_seconds: int = 3
    speech_poll_max_seconds: int = 30
    speech_note: str = ""
    # Streaming speech (VendorAdapter.stream_synthesis): the vendor sends the audio while it makes it,
    # so the first bytes can be played before the last are made. Streams carry raw audio (PCM 16-bit
    # mono little-endian, or MP3 frames), never a file container: hence formats of their own, and
    # rates and a text limit (counted in speech_text_unit) that may differ from a whole-file call's.
    speech_stream: bool = False
    speech_stream_formats: tuple[str, ...] = ()
    speech_stream_sample_rates: tuple[int, ...] = ()
    speech_stream_text_limit: int = 0
    # The speeds a stream can speak at, where they differ from speech_speeds (None: the same).
    speech_stream_speeds: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _declared(self) -> Self:
        """A vendor that speaks declares its formats, rates and speeds; every option, its format."""
        if self.speech != "none" and not (
            self.speech_formats and self.speech_sample_rates and self.speech_speeds
        ):
            raise ValueError(
                "a vendor that speaks declares speech_formats, speech_sample_rates and speech_speeds"
            )
        undeclared = [
            o for o in self.options if o not in self.option_choices and o not in self.option_formats
        ]
        if undeclared:
            raise ValueError(f"options without choices or a format: {', '.join(undeclared)}")
        return self

    def validate_options(self, options: Mapping[str, str]) -> list[str]:
        """Every problem with a client's job options (unknown option, value not allowed); [] if none."""
        problems: list[str] = []
        for name, value in options.items():
            if name not in self.options:
                known = ", ".join(self.options) or "none"
                problems.append(f"unknown option {name!r} (this vendor takes: {known})")
                continue
            choices = self.option_choices.get(name)
            if choices and str(value).strip().upper() not in {c.upper() for c in choices}:
                problems.append(f"option {name!r} cannot be {value!r}: choose one of {', '.join(choices)}")
            declared = self.option_formats.get(name)
            if declared and not re.fullmatch(declared[0], str(value).strip()):
                problems.append(f"option {name!r} cannot be {value!r}: it must be {declared[1]}")
        return problems


class TrainingState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (TrainingState.SUCCEEDED, TrainingState.FAILED)


def state_table(
    *,
    pending: tuple[Hashable, ...] = (),
    running: tuple[Hashable, ...] = (),
    succeeded: tuple[Hashable, ...] = (),
    failed: tuple[Hashable, ...] = (),
) -> dict[Any, TrainingState]:
    """A vendor's ``training_states``: which of its states mean what; states not named keep polling."""
    return {
        **dict.fromkeys(pending, TrainingState.PENDING),
        **dict.fromkeys(running, TrainingState.RUNNING),
        **dict.fromkeys(succeeded, TrainingState.SUCCEEDED),
        **dict.fromkeys(failed, TrainingState.FAILED),
    }


class TrainingStatus(BaseModel):
    task_id: str
    state: TrainingState
    vendor_state: str = ""
    voice: VendorVoice | None = None
    error_code: str = ""
    error_message: str = ""
    # Recordings the vendor rejected after training began (e.g. Huawei's audit), by position in
    # TrainingRequest.sentences, with the vendor's reason: the job asks for those to be recorded again.
    rejected_items: dict[int, str] = Field(default_factory=dict)


class CheckedSentence(BaseModel):
    text_id: str
    text: str = ""
    s3_key: str
    vendor_audio_id: str | None = None


class AudioSource(Protocol):
    """The job's checked recordings, as each vendor needs them (the workflow provides it, backed by S3)."""

    def sentence_audio(self, text_id: str) -> bytes:
        """One sentence's WAV file as uploaded."""

    def assembled_wav(self) -> bytes:
        """All sentences in order in one WAV, with short pauses between them."""

    def assembled_url(self) -> str:
        """A URL of the assembled WAV that the vendor can download until the training deadline."""

    def document(self, name: str) -> bytes:
        """A document the client uploaded for the job (one of Capabilities.documents)."""


class TrainingRequest(BaseModel):
    job_id: str
    # Unique per job and stable across retries, so a vendor can recognise a repeated create.
    session_id: str
    voice_name: str
    gender: Gender
    language: Language
    sentences: list[CheckedSentence] = Field(min_length=1)
    callback_url: str | None = None
    options: dict[str, str] = Field(default_factory=dict)


class VendorAdapter(ABC):
    """One vendor behind the shared interface; a new vendor is a subclass plus one line in the registry.

    The class declares who the vendor is (``vendor_id``, ``capabilities``) and what configures it:
    ``default_endpoint``, the secret's ``credential_fields`` (required) and ``optional_fields``.
    Each is read from ``VOICECLONE_<VENDOR>_<FIELD>``, else the vendor's Secrets Manager secret
    (voiceclone.vendors.config); infra and the local stack derive the secrets from the same names.
    Operations the vendor lacks need no code: the defaults below answer from ``capabilities``.
    """

    vendor_id: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    default_endpoint: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]]
    optional_fields: ClassVar[tuple[str, ...]] = ()
    # What the speaker's consent statement calls the vendor, per statement language ("zh", "en").
    display_names: ClassVar[Mapping[str, str]] = {}
    # The vendor's training states (as its API sends them) in the shared terms; see status_of.
    training_states: ClassVar[Mapping[Any, TrainingState]] = {}
    # How the vendor's API wraps its answers and classifies its errors: the shared pipeline does the rest.
    envelope: ClassVar[Envelope]

    def __init__(self, endpoint: str, **connection: Unpack[Connection]) -> None:
        """The vendor's API at ``endpoint`` (a sandbox, a proxy or the vendor), by the shared pipeline."""
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).hostname or ""
        timeout = connection.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        self._transport = connection.get("transport")
        self._http = self.connect(self.endpoint, timeout, connection.get("transport"))

    def connect(
        self,
        base_url: str,
        timeout_seconds: float,
        transport: httpx.BaseTransport | None,
        envelope: Envelope | None = None,
    ) -> VendorHttp:
        """A client for one of the vendor's APIs (through the declared envelope unless given another)."""
        return http.VendorHttp(
            self.vendor_id, base_url, timeout_seconds, transport, envelope=envelope or self.envelope
        )

    @classmethod
    def display_name(cls, language: str) -> str:
        """The vendor's name in a consent statement: in that language, else in English, else its id."""
        return cls.display_names.get(language) or cls.display_names.get("en") or cls.vendor_id

    @classmethod
    def settings_fields(cls) -> tuple[str, ...]:
        """Every setting of the vendor: the endpoint, the credentials, the optional settings."""
        return ("endpoint", *cls.credential_fields, *cls.optional_fields)

    @classmethod
    def from_environment(cls) -> Self:
        """The adapter configured from the environment (endpoint, credentials, timeout).

        Takes each setting as a keyword argument of the same name; an adapter whose settings
        need converting (numbers, lists) or checking together overrides this.
        """
        # Adapters take their settings by name: the base class cannot spell their signatures.
        build: Callable[..., Self] = cls
        return build(**config.settings_of(cls), timeout_seconds=config.timeout_seconds())

    def voice(self, voice_id: str, /, **details: Any) -> VendorVoice:
        """A voice of this vendor, with what a TTS call (or a later delete) needs in ``details``."""
        return VendorVoice(vendor=self.vendor_id, voice_id=voice_id, details=details)

    def unsupported(self, what: str, code: str = "NotSupported", note: str = "") -> VendorRejected:
        """The one refusal for an operation the vendor's API does not offer (``note``: what to do instead)."""
        message = f"{self.vendor_id} cannot {what}"
        return VendorRejected(self.vendor_id, code, f"{message}: {note}" if note else message)

    def status_of(
        self,
        task_id: str,
        vendor_state: Hashable | None,
        *,
        label: str | None = None,
        voice: VendorVoice | None = None,
        error_code: str = "",
        error_message: str = "",
    ) -> TrainingStatus:
        """A vendor state read through ``training_states``: an unknown (or absent) state means RUNNING.

        A state the table does not know is taken as "not finished yet", so polling goes on
        until the training deadline instead of failing a job on a state the vendor added.
        ``label`` is the vendor's name of the state (default: the state as sent). The voice
        is kept only on SUCCEEDED, the error only on FAILED (code "TrainingFailed" by default).
        """
        state = TrainingState.RUNNING
        if vendor_state is not None:
            state = self.training_states.get(vendor_state, TrainingState.RUNNING)
        failed = state is TrainingState.FAILED
        return TrainingStatus(
            task_id=task_id,
            state=state,
            vendor_state=label if label is not None else ("" if vendor_state is None else str(vendor_state)),
            voice=voice if state is TrainingState.SUCCEEDED else None,
            error_code=(error_code or "TrainingFailed") if failed else "",
            error_message=error_message if failed else "",
        )

    def training_texts(self) -> list[TrainingText]:
        """The sentences a speaker reads, in order: our standard script unless the vendor has its own."""
        return STANDARD_SCRIPT[: self.capabilities.sentence_count]

    def check_sentence(self, text_id: str, audio: bytes) -> SentenceCheck:
        """The vendor's verdict on one recorded sentence (only for sentence_check == "vendor")."""
        raise NotImplementedError(f"{self.vendor_id} has no per-sentence check")

    @abstractmethod
    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """Start training; returns the vendor's task id."""

    def prepare_options(self, request: TrainingRequest) -> dict[str, str]:
        """Choices to make once per job and keep across retries (e.g. which speaker slot to train).

        The workflow stores the result on the job before the first create and passes it
        back in ``request.options`` on every later call. Raise VendorRejected when the job
        cannot be served (no free slot), with a message that says what to do.
        """
        return dict(request.options)

    def resubmit(self, task_id: str, request: TrainingRequest, audio: AudioSource) -> None:
        """Send re-recorded audio to the same vendor task (after rejected_items) and submit it again."""
        raise self.unsupported("take new recordings")

    def list_voices(self) -> list[VendorVoice]:
        """The cloned voices the vendor holds for this account."""
        raise self.unsupported("list voices")

    def rename_voice(self, voice: VendorVoice, name: str) -> None:
        """Rename a cloned voice at the vendor (``voice`` as get_status or list_voices gave it).

        Only where ``capabilities.rename_voice``; otherwise VendorRejected "NotSupported".
        A name the vendor cannot take is a VendorRejected saying the vendor's limit.
        """
        raise self.unsupported("rename voices")

    def delete_voice(self, voice: VendorVoice) -> None:
        """Delete a cloned voice at the vendor (``voice`` as get_status or list_voices gave it).

        Only where ``capabilities.delete_voice``; otherwise VendorRejected "NotSupported".
        The whole VendorVoice is taken because some vendors delete by an id kept in its
        ``details`` (Huawei: the training job's id, not the asset id TTS uses). A voice
        already gone counts as deleted, so a retried delete does not fail.
        """
        raise self.unsupported("delete voices")

    def cancel_task(self, task_id: str) -> None:
        """Stop a training task at the vendor (``task_id`` as create_task returned it).

        Only where ``capabilities.cancel_task``; otherwise VendorRejected "NotSupported"
        and the workflow stops only on our side (the vendor may still finish the training).
        A task already gone counts as cancelled, so a retried cancel does not fail.
        """
        raise self.unsupported("cancel training")

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The task an earlier create for this request made, if any.

        Called before a create is retried (its first answer may have been lost), so
        that a job never pays for two vendor tasks. Vendors with an idempotency key
        (Tencent VRS SessionId) can rely on it and return None.
        """
        return None

    def release_strays(self, task_id: str) -> list[str]:
        """Delete what a create made after the service gave up on it; the ids deleted.

        A create the vendor performs only after the client's timeout (it was slow, not lost)
        comes too late for find_existing_task: the retry has made the job's task already, and the
        late one would be trained and billed beside it. Vendors whose create carries a key that
        names the job find those strays by it and delete every one but ``task_id``; called while
        the job is followed and when it ends. Vendors with an idempotency key (a repeated create
        is the same task) have none, and vendors whose creates carry nothing that names the job
        cannot tell a stray from another client's resource: both return [].
        """
        return []

    @abstractmethod
    def get_status(self, task_id: str) -> TrainingStatus:
        """Where training stands now."""

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        """Speak ``request.text`` (within ``capabilities.speech_text_limit``) with a cloned voice: one call.

        Only where ``capabilities.speech == "sync"``; otherwise VendorRejected "NotSupported"
        with ``capabilities.speech_note`` (how the voice is used at that vendor instead).
        """
        raise self.unsupported("synthesize speech through voiceclone", note=self.capabilities.speech_note)

    def stream_synthesis(self, voice: VendorVoice, request: SynthesisRequest) -> AudioStream:
        """Speak ``request.text`` with a cloned voice, the audio handed on as the vendor sends it.

        Only where ``capabilities.speech_stream`` (format, rate and text within its stream limits);
        otherwise VendorRejected "NotSupported". One vendor connection per call. The call itself
        connects and waits for the first audio, so every error that comes before any audio (the
        taxonomy's, with the vendor's code) is raised here, while the caller has sent nothing yet;
        the returned stream yields that first chunk and the next ones in order, each as it arrives
        (raw PCM or MP3 bytes, nothing held back). An error after that (the vendor's error frame,
        a connection that ends without the vendor's final frame: VendorUnavailable "StreamTruncated")
        is raised by the iteration. Closing the stream (or leaving its ``with``) closes the connection.
        """
        raise self.unsupported("stream speech", note=self.capabilities.speech_note)

    def check_stream_request(self, request: SynthesisRequest) -> None:
        """Refuse, before connecting, what the vendor's stream cannot make: its formats, rates, text limit."""
        caps = self.capabilities
        if request.format not in caps.speech_stream_formats:
            raise VendorRejected(
                self.vendor_id,
                "InvalidFormat",
                f"{self.vendor_id} streams {' or '.join(caps.speech_stream_formats)} audio, not "
                f"{request.format} (a stream carries raw audio, no file header)",
            )
        if request.sample_rate not in caps.speech_stream_sample_rates:
            raise VendorRejected(
                self.vendor_id,
                "InvalidSampleRate",
                f"{self.vendor_id} streams at {', '.join(map(str, caps.speech_stream_sample_rates))} Hz, "
                f"not {request.sample_rate} Hz",
            )
        size = measure(caps.speech_text_unit)(request.text)
        if caps.speech_stream_text_limit and size > caps.speech_stream_text_limit:
            raise VendorRejected(
                self.vendor_id,
                "TextTooLong",
                f"{self.vendor_id} streams at most {caps.speech_stream_text_limit} {caps.speech_text_unit} "
                f"of text per call, not {size}: split the text and stream the parts one after another",
            )

    # ----- asynchronous speech (capabilities.speech == "async") -----------------------------------

    def start_synthesis(self, voice: VendorVoice, request: SynthesisRequest, *, tag: str) -> SynthesisJob:
        """Start one vendor job speaking ``request.text`` (within the text limit); returns the job.

        ``tag`` is ours (stable across retries of the same piece, unique per piece) for vendors
        that keep a caller's id or need a unique output place. Only where ``speech == "async"``.
        """
        raise self.unsupported("synthesize speech asynchronously", note=self.capabilities.speech_note)

    def find_synthesis(self, tag: str) -> SynthesisJob | None:
        """The job an earlier start_synthesis with this ``tag`` made, if any (its answer may have been lost).

        Called before a start is retried after an attempt whose outcome is unknown, so that a
        piece never pays for two vendor jobs. None where the vendor cannot look a job up by
        anything of ours (then a new job is started).
        """
        return None

    def get_synthesis(self, job_id: str) -> SynthesisJob:
        """Where an asynchronous synthesis job stands (``job_id`` as start_synthesis returned it)."""
        raise self.unsupported("synthesize speech asynchronously", note=self.capabilities.speech_note)

    def parse_synthesis_callback(self, body: bytes) -> str:
        """The vendor job id a speech callback body names: a hint only (the caller re-queries the job).

        Only where the vendor calls back when a synthesis job ends; others refuse with
        VendorRejected "NoCallback" (their jobs are polled).
        """
        raise self.unsupported("send speech callbacks: its jobs are polled", code="NoCallback")

    def synthesis_audio(self, job: SynthesisJob, request: SynthesisRequest) -> SynthesisResult:
        """The audio of a finished job: a plain GET of its ``audio_url`` (vendors' files are presigned).

        Shared by every async vendor: the URL carries its own authorization, so nothing of ours
        is sent with it. A refused or vanished file is permanent (``AudioUnavailable``), a server
        error or a timeout retryable.
        """
        if not job.audio_url:
            raise VendorRejected(self.vendor_id, "NoAudioUrl", f"job {job.job_id} finished without audio")
        audio = self._downloads().call("GET", job.audio_url, context=f"the audio of job {job.job_id}")
        if not isinstance(audio, bytes) or not audio:
            raise VendorRejected(self.vendor_id, "EmptyAudio", f"job {job.job_id} gave an empty file")
        try:
            # A WAV says its own rate (an async vendor may not let the caller choose one).
            rate = wav_rate(audio) if request.format == "wav" else request.sample_rate
        except ValueError as exc:
            raise VendorRejected(self.vendor_id, "InvalidAudio", f"job {job.job_id}: {exc}") from exc
        return SynthesisResult(
            audio=audio, format=request.format, sample_rate=rate, request_id=job.request_id
        )

    def _downloads(self) -> VendorHttp:
        client: VendorHttp | None = getattr(self, "_download_http", None)
        if client is None:
            client = self.connect(
                "", DOWNLOAD_TIMEOUT_SECONDS, self._transport, envelope=http.DownloadEnvelope()
            )
            self._download_http = client
        return client

    def parse_callback(self, body: bytes) -> TrainingStatus:
        """Read a vendor callback body. Treat it as a hint: confirm with get_status before acting.

        Only where ``capabilities.completion == "callback"``; a polled vendor refuses with
        VendorRejected "NoCallback" (its status is polled instead).
        """
        raise self.unsupported("send training callbacks: its status is polled", code="NoCallback")
